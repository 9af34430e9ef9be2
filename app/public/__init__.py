"""Routes that take no API key (an edge): widget posts, email links, implicit signals,
the widget script.

Each request is authorised by a presigned feedback token (app/domain/tokens.py) instead;
abuse is held back by per-IP and per-token rate limits, body and comment caps, and
CORS that admits only the origins configured on a project or token."""
