"""The domain: the rules, between the edges and the store. Every write an edge makes
goes through a function here; nothing here imports an edge, a web framework or the
database driver (it calls the stores).

Modules for the core records (feedback, runs, keys, auth, tokens, projects ...), and
one package per feature: analytics/, autofeedback/, tasks/, webhooks/, live/,
export/. background.py is the one shape of a background loop."""
