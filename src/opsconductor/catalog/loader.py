"""Load toolset YAML files into a validated :class:`Catalog`."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from opsconductor import kinds
from opsconductor.catalog.models import Toolset, ToolSpec
from opsconductor.catalog.parsers import check_parser_name
from opsconductor.errors import CatalogError

# libyaml's safe loader when PyYAML was built with it: the same documents, several times faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Catalog:
    """The tools OpsConductor may run, by name and by intent."""

    def __init__(self, tools: Iterable[ToolSpec]) -> None:
        self.tools: dict[str, ToolSpec] = {}
        for tool in tools:
            self.tools[tool.name] = tool
        # Asked for on every clause the brain reads: built once, in the catalog's order.
        self._by_intent: dict[tuple[str, str], list[ToolSpec]] = {}
        for tool in self.tools.values():
            self._by_intent.setdefault((tool.category, tool.action), []).append(tool)

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)

    def get(self, name: str) -> ToolSpec:
        return self.tools[name]

    def for_intent(self, category: str, action: str) -> list[ToolSpec]:
        return list(self._by_intent.get((category, action), ()))


def builtin_dir() -> Path:
    return Path(str(resources.files("opsconductor.catalog") / "builtin"))


def load_catalog(extra_dirs: Iterable[Path] = ()) -> Catalog:
    """Read the shipped toolsets and any in `extra_dirs`; a later tool of the same name wins."""
    tools: dict[str, tuple[Path, ToolSpec]] = {}
    for folder in [builtin_dir(), *extra_dirs]:
        if not folder.is_dir():
            raise CatalogError(f"catalog folder {folder} does not exist")
        for path in sorted(folder.glob("*.y*ml")):
            for tool in load_toolset(path).tools:
                tools[tool.name] = (path, tool)
    for path, tool in tools.values():
        _check_references(path, tool, {name: spec for name, (_, spec) in tools.items()})
    return Catalog(spec for _, spec in tools.values())


def load_toolset(path: Path) -> Toolset:
    """Parse one file, validating each tool on its own so an error names file and tool."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read toolset: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tools"), list):
        raise CatalogError(f"{path}: a toolset is a mapping with a 'tools' list")
    tools = [_load_tool(path, index, raw) for index, raw in enumerate(document["tools"])]
    try:
        return Toolset.model_validate({**document, "tools": tools})
    except ValidationError as exc:
        raise CatalogError(f"{path}: {_first_error(exc)}") from None


def _load_tool(path: Path, index: int, raw: Any) -> ToolSpec:
    name = raw.get("name", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
    try:
        return kinds.parse_tool(raw)
    except ValidationError as exc:
        # The first part of the error's location is the kind's tag: the tool is named already.
        raise CatalogError(f"{path}: tool {name!r}: {_first_error(exc, skip=1)}") from None


def _first_error(exc: ValidationError, skip: int = 0) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"][skip:])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _check_references(path: Path, tool: ToolSpec, tools: dict[str, ToolSpec]) -> None:
    def fail(message: str) -> CatalogError:
        return CatalogError(f"{path}: tool {tool.name!r}: {message}")

    problem = None if tool.parser is None else check_parser_name(tool.parser)
    if problem is not None:
        raise fail(problem)
    if tool.rollback is not None and tool.rollback.tool not in tools:
        raise fail(f"rollback names unknown tool {tool.rollback.tool!r}")
    problem = kinds.kind_of(tool).check_references(tool, tools)
    if problem is not None:
        raise fail(problem)
