"""Secrets out of the server's log: `token=` and `ticket=` values, and anything shaped like an
API token or a stream ticket, are replaced by `***` in what uvicorn logs.

Tokens never belong in URLs and the API takes none there; a client may still put one in a
query string, and uvicorn's access log (and its WebSocket `[accepted]` line, on the
`uvicorn.error` logger) writes the path with its query."""

from __future__ import annotations

import logging
import re
from typing import Any

# Loggers whose records carry request paths; a filter applies to records logged on its own
# logger only (not to those of children), so each one is named.
UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")
_SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;\s\"'])(?:access_)?(?:token|ticket)=)[^&;\s\"'#]*", re.IGNORECASE
)
_SECRET_SHAPE = re.compile(r"\b(oct|ost)_[A-Za-z0-9_-]{16,}")
MASK = "***"


def redact(text: str) -> str:
    """`text` without secret query values or token- and ticket-shaped words."""
    text = _SECRET_PARAMETER.sub(rf"\g<1>{MASK}", text)
    return _SECRET_SHAPE.sub(rf"\g<1>_{MASK}", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's string arguments (the access log's formatter reads them one by
    one), and its message when a secret would still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        message = record.getMessage()
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        return True


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def install_log_redaction() -> None:
    """Put the filter on uvicorn's loggers (once; logging configuration keeps filters)."""
    for name in UVICORN_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in target.filters):
            target.addFilter(RedactSecrets())
