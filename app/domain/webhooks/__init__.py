"""Webhooks: signed POSTs of feedback events, queued in MongoDB, retried with
exponential backoff by a background dispatcher."""
