"""Plaudit's own REST routes beside GraphQL (an edge), authorised by an API key:
the export download."""
