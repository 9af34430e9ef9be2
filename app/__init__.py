"""Plaudit: a self-hosted feedback service for LLM applications.

Three zones, and data flows one way, edge -> domain -> store
(tests/test_architecture.py keeps it so):

- edges translate a protocol to domain calls and back, nothing else: graphql/ (the
  API), public/ (routes a presigned token authorises), compat/ (other tools' APIs),
  rest/ (the export download), cli/ (the `plaudit` command), dashboard/;
- domain/ holds the rules, and one package per feature (analytics, autofeedback,
  tasks, webhooks, live, export); it knows neither HTTP nor collections;
- store/ is all database access: one store per collection, the indexes, the client,
  the embedded server, the change stream.

Beside them: main.py builds the app (routes, middleware, lifespan), services.py what
it holds for its lifetime, and every zone shares errors.py (the public errors and
their one HTTP rendering), settings.py, clock.py and decoding.py.
"""

__version__ = "0.1.0"
