"""Output parsers: one host's command output in, structured data and a one-line summary out.

A catalog tool names its parser; the parser receives that tool's stdout. A name is one of ours
(:data:`PARSERS`: our data shape and summary, most of them over `jc`_'s reading of the command)
or ``jc:NAME`` for any parser jc has (jc's JSON as data, a generic summary), so a tool over a
common command needs YAML only. :func:`check_parser_name` is what the catalog checks on load.

Parsers raise ``ValueError`` (or ``KeyError``/``IndexError``/``TypeError`` from indexing
malformed input) on output they do not recognise. :func:`parse_output` is the entry point and
never raises: it falls back to the tail of the raw text.

.. _jc: https://kellyjonbrazil.github.io/jc/
"""

from __future__ import annotations

import functools
import logging

from opsconductor.catalog.parsers import jc_bridge
from opsconductor.catalog.parsers.base import Parsed, Parser
from opsconductor.catalog.parsers.facts import parse_linux_facts, parse_windows_facts
from opsconductor.catalog.parsers.posix import (
    parse_df,
    parse_free,
    parse_http_status,
    parse_loadavg,
    parse_os_release,
    parse_ping,
    parse_ps,
    parse_ss_listen,
    parse_systemd_show,
    parse_uptime,
)
from opsconductor.catalog.parsers.windows import (
    parse_win_cpu,
    parse_win_disk,
    parse_win_memory,
    parse_win_processes,
    parse_win_service,
    parse_win_uptime,
)

__all__ = ["PARSERS", "Parsed", "Parser", "check_parser_name", "parse_output"]

logger = logging.getLogger(__name__)

FALLBACK_LINES = 20
SUMMARY_MAX_CHARS = 200
# What malformed input raises on its own; anything else is a bug in a parser.
_MALFORMED = (ValueError, KeyError, IndexError, TypeError)

PARSERS: dict[str, Parser] = {
    "df": parse_df,
    "free": parse_free,
    "loadavg": parse_loadavg,
    "uptime": parse_uptime,
    "systemd_show": parse_systemd_show,
    "ps": parse_ps,
    "ss_listen": parse_ss_listen,
    "os_release": parse_os_release,
    "ping": parse_ping,
    "http_status": parse_http_status,
    "win_disk": parse_win_disk,
    "win_memory": parse_win_memory,
    "win_cpu": parse_win_cpu,
    "win_uptime": parse_win_uptime,
    "win_service": parse_win_service,
    "win_processes": parse_win_processes,
    "linux_facts": parse_linux_facts,
    "windows_facts": parse_windows_facts,
}


def check_parser_name(name: str) -> str | None:
    """What is wrong with parser ``name`` (ours, or ``jc:`` and one of jc's), or None."""
    if name.startswith(jc_bridge.PREFIX):
        problem = jc_bridge.check_name(name.removeprefix(jc_bridge.PREFIX))
        return None if problem is None else f"unknown parser {name!r}: {problem}"
    return None if name in PARSERS else f"unknown parser {name!r}"


def _find(name: str | None) -> Parser | None:
    if name is None:
        return None
    if name.startswith(jc_bridge.PREFIX):
        if check_parser_name(name) is not None:
            return None
        return functools.partial(jc_bridge.generic, name.removeprefix(jc_bridge.PREFIX))
    return PARSERS.get(name)


def parse_output(parser: str | None, stdout: str) -> Parsed:
    """Parse ``stdout`` with the named parser; never raises.

    With no parser, an unknown one, or output the parser does not recognise, the data is the last
    FALLBACK_LINES lines of text and the summary the last non-empty line.
    """
    # Lone surrogates from a lenient decode could not be stored as UTF-8.
    stdout = stdout.encode("utf-8", "replace").decode("utf-8")
    func = _find(parser)
    if func is None:
        return _fallback(stdout, prefix="")
    try:
        parsed = func(stdout)
    except _MALFORMED as exc:
        logger.debug("parser %s did not recognise the output: %s", parser, exc)
    except Exception:  # a bug in a parser must not lose the command's output
        logger.exception("parser %s failed", parser)
    else:
        return Parsed(data=parsed.data, summary=_one_line(parsed.summary))
    return _fallback(stdout, prefix="unrecognised output: ")


def _fallback(stdout: str, prefix: str) -> Parsed:
    lines = stdout.rstrip().splitlines()
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    summary = _one_line(prefix + last) if last else "no output"
    text = "\n".join(lines[-FALLBACK_LINES:])
    return Parsed(data={"text": text}, summary=summary, recognised=False)


def _one_line(text: str) -> str:
    # Names taken from output may hold control characters or run long.
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"
