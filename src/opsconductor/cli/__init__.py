"""The `opsconductor` command."""

from opsconductor.cli.main import app, main

__all__ = ["app", "main"]
