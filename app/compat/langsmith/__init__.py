"""A LangSmith-compatible REST API: code written for the ``langsmith`` SDK records
runs and feedback in Plaudit with ``LANGSMITH_ENDPOINT`` pointed at it."""

from app.compat.langsmith.routes import routes

__all__ = ["routes"]
