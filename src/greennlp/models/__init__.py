"""Model builders (functions, not class trees) and parameter / FLOP accounting."""
