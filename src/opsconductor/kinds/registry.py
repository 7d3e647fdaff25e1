"""The registry of tool kinds: the `connector:` key of a catalog tool names the kind that
loads, plans, previews and runs it. A kind's module registers itself on import; the built-in
kinds are imported by the package, so asking the registry always finds them."""

from __future__ import annotations

import functools
import operator
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from opsconductor.catalog.models import ToolSpec
from opsconductor.catalog.render import Command
from opsconductor.kinds.base import ToolKind

_KINDS: dict[str, ToolKind] = {}


def register(kind: ToolKind) -> ToolKind:
    """Add a kind; its spec model's `connector` literal must be the kind's name."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"a tool kind named {kind.name!r} is registered already")
    _KINDS[kind.name] = kind
    _adapter.cache_clear()
    return kind


def names() -> list[str]:
    return sorted(_KINDS)


def kind_of(tool: ToolSpec) -> ToolKind:
    return _KINDS[tool.connector]


def parse_tool(raw: Any) -> ToolSpec:
    """Validate one tool as the spec model of the kind its `connector` names."""
    spec: ToolSpec = _adapter().validate_python(raw)
    return spec


def command_for(tool: ToolSpec, inputs: dict[str, str | int]) -> Command:
    """The exact command a host tool runs with these (validated) inputs."""
    return kind_of(tool).command(tool, inputs)


@functools.cache
def _adapter() -> TypeAdapter[Any]:
    models = [kind.spec for kind in _KINDS.values()]
    union: Any = functools.reduce(operator.or_, models)
    tagged: Any = Annotated[union, Field(discriminator="connector")]
    return TypeAdapter(tagged)
