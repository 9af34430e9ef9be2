"""Domain functions: the rules, between the HTTP edges and the stores."""
