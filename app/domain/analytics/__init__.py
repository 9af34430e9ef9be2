"""Feedback analytics: statistics, rollups, worst runs.

How the numbers are defined (README, "Analytics"):

- A feedback record counts when it is live: not deleted and not retracted.
- Scores: booleans count as 1 (true) and 0 (false) in mean, min, max, standard
  deviation and percentiles, so the mean of a thumbs key is its share of thumbs up.
- Standard deviation is the population standard deviation (divide by n).
- p50/p90 are nearest-rank percentiles over a histogram (app/store/score_bins.py):
  exact for scores with at most two decimals (booleans, categories, ratings,
  percentages), otherwise within 1% of the true value.
- Positive/negative: see app/domain/analytics/rules.py.
"""
