"""Live feedback events for GraphQL subscriptions (``feedbackEvents``)."""
