"""The HTTP API over the same service functions the CLI calls."""

from opsconductor.api.app import create_app

__all__ = ["create_app"]
