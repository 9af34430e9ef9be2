"""Training-data exports as JSON Lines: dpo, sft, feedback, regressions.

One code path for the CLI (`plaudit export`) and the HTTP download
(`GET /export/FORMAT`): ``prepare_export`` checks the options and returns an
``Export`` whose records stream from database cursors, one batch at a time.
"""
