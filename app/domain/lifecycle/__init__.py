"""The data lifecycle: tombstones (tombstones.py), erasing an end user (erasure.py),
deleting runs (runs.py) and per-project retention (retention.py). Which collection
forgets what, and how, is one table: app/store/lifecycle.py."""
