"""Online evaluation: rules that score a deterministic sample of live runs as they
complete, with model judges, AutoFeedbackICL, the nearest-neighbour baseline,
built-in checks or an HTTP evaluator, within per-rule limits, and the numbers that
show how a rule scores over time and how far it agrees with people.

- definition.py: what a rule is (run filter, sampling rate, scorer, limits, alerts)
  and the checks on it; sampling.py: which runs are in a rule's sample.
- rules.py: create, edit (a new version), pause, resume, delete, backfill.
- queue.py: the write path: the in-process rule cache, and queuing the sampled runs.
- worker.py: every process's worker, taking queued evaluations under leases.
- scorers.py, checks.py, http_scorer.py: what scores a run.
- limits.py: concurrency, calls per minute, daily budgets.
- stats.py: per-rule numbers over time; alerts.py: thresholds and their webhook event.
"""
