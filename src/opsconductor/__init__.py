"""OpsConductor: a natural-language operations assistant that plans, gates, executes and answers."""

__version__ = "0.1.0"
