"""The pure HTTP core: conditional request fields, precondition evaluation and
opaque tags. Nothing in this package imports Flask (a test enforces it)."""
