"""The GraphQL API (an edge): the Strawberry schema (schema.py), the per-request
context, permissions, queries, one mutation mixin per resource (mutations/), types,
inputs, DataLoaders, subscriptions over WebSocket, and the error masking that shows
clients only Plaudit's public errors. Resolvers translate; the domain decides."""
