"""Run a `jc <https://kellyjonbrazil.github.io/jc/>`_ parser, and the catalog's ``jc:NAME`` tools.

jc is imported only when a ``jc:`` name is checked or a jc parser runs, never at start-up:
``import jc`` also imports every plugin in the user's jc data folder, and no CLI command that
parses nothing should pay for that. Only the named parser's module is loaded, and always jc's
own (``jc.parsers.NAME``), so a plugin of the same name cannot replace it unnoticed. Checking a
name reads jc's list of parsers without importing them.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.resources
import json
from types import ModuleType
from typing import Any

from opsconductor.catalog.parsers.base import Parsed, plural

PREFIX = "jc:"
_SHOWN_CHARS = 120  # a dict's rendering stops near here; the caller caps it at 200


def module_name(name: str) -> str:
    """jc's module name for a parser: it names ``os-release`` on its CLI, ``os_release`` here."""
    return name.replace("-", "_")


@functools.cache
def _standard_parsers() -> frozenset[str]:
    import jc.lib  # lazily: see the module docstring

    # jc.lib.parsers also names plugins from the user's jc folder, and jc.parsers holds helper
    # modules that are no parsers: a standard parser is in both.
    shipped = {
        entry.name.removesuffix(".py")
        for entry in importlib.resources.files("jc.parsers").iterdir()
        if entry.name.endswith(".py")
    }
    return frozenset(module_name(cli_name) for cli_name in jc.lib.parsers) & shipped


def check_name(name: str) -> str | None:
    """What is wrong with jc parser ``name`` (``df``, ``os-release``, ``os_release``), or None."""
    if module_name(name) in _standard_parsers():
        return None
    import jc  # imported already by _standard_parsers

    close = difflib.get_close_matches(module_name(name), sorted(_standard_parsers()), n=3)
    hint = f"; did you mean {', '.join(PREFIX + c for c in close)}?" if close else ""
    return f"jc {jc.__version__} has no parser {name!r} (`jc --help` lists them){hint}"


def run(name: str, stdout: str, *, raw: bool = False) -> Any:
    """jc's data for ``stdout``; raises ValueError on output that parser cannot read. `raw`:
    the fields as the command printed them, without jc's conversions (which can cost more than
    the parse: its size conversion builds classes on every call)."""
    module = _load(name)
    try:
        if getattr(module.info, "streaming", False):
            # a streaming parser reads lines and yields one record per line
            data = list(module.parse(stdout.splitlines(), quiet=True, raw=raw))
        else:
            data = module.parse(stdout, quiet=True, raw=raw)
        # jc may return NaN or infinity (float("nan") reads them), which are not JSON
        return json.loads(json.dumps(data, allow_nan=False))
    except Exception as exc:  # what jc raises on odd input is its own, not one of ours
        raise ValueError(f"jc {name} cannot read this output: {exc!r}") from exc


def _load(name: str) -> ModuleType:
    if module_name(name) not in _standard_parsers():
        raise ValueError(check_name(name))
    return importlib.import_module(f"jc.parsers.{module_name(name)}")


def generic(name: str, stdout: str) -> Parsed:
    """A ``jc:NAME`` tool: jc's JSON as data, and a count of rows or a short rendering."""
    if not stdout.strip():
        raise ValueError("no output")  # "no output" says more than "0 rows"
    data = run(name, stdout)
    if isinstance(data, list):
        return Parsed(data=data, summary=plural(len(data), "row"))
    if isinstance(data, dict) and data:
        return Parsed(data=data, summary=_render(data))
    raise ValueError(f"jc {name} found nothing in this output")


def _render(data: dict[str, Any]) -> str:
    parts: list[str] = []
    for key, value in data.items():
        if sum(len(part) + 2 for part in parts) > _SHOWN_CHARS:
            parts.append("…")
            break
        parts.append(f"{key}={_brief(value)}")
    return ", ".join(parts)


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        return plural(len(value), "field")
    if isinstance(value, list):
        return plural(len(value), "item")
    if value is None or isinstance(value, bool):
        return json.dumps(value)  # null, true, false: as jc's JSON writes them
    return str(value)
