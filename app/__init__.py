"""Plaudit: a self-hosted feedback service for LLM applications."""

__version__ = "0.1.0"
