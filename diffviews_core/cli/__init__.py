"""Command-line interface (``diffviews``)."""
