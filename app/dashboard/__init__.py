"""The built-in dashboard: static HTML, CSS and JavaScript that use only the
public GraphQL API (no build step, no CDN: it works offline)."""
