"""Automatic feedback: label runs the way a project's reviewers do (AutoFeedbackICL
with an LLM, or a nearest-neighbour baseline), in resumable background jobs, and
report how far to trust the labels (calibration on held-out human labels)."""
