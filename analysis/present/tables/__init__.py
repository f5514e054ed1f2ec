"""Tables (great-tables) built from result objects."""
