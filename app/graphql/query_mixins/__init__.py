"""Query fields grouped by resource, composed into Query like the mutation mixins."""
