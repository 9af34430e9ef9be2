"""Feedback tasks: JSON-Schema rubrics, submissions, review queues, agreement."""
