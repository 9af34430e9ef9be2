"""Compatibility layers (an edge): other tools' APIs, translated onto Plaudit's domain
(langsmith/: the LangSmith REST API the langsmith SDKs speak)."""
