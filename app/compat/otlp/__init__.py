"""OTLP/HTTP trace ingestion: ``POST /v1/traces`` stores each span as a run
(routes.py; the span-to-run mapping: mapping.py)."""
