"""Compatibility layers: other tools' APIs, translated onto Plaudit's domain."""
