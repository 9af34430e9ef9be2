"""Langfuse: importing scores from its exports (imports.py)."""
