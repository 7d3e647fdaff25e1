"""The catalog: which tools exist, what they need, how risky they are."""

from __future__ import annotations

from fastapi import APIRouter

from opsconductor.api.deps import ConductorDep, Reader
from opsconductor.api.errors import error_responses
from opsconductor.api.params import Name
from opsconductor.api.schemas import ToolPublic, ToolsPublic
from opsconductor.catalog.models import Platform
from opsconductor.errors import NotFound

router = APIRouter(tags=["tools"])


@router.get("/tools", response_model=ToolsPublic, responses=error_responses(401, 403, 422))
async def list_tools(
    conductor: ConductorDep,
    _: Reader,
    category: Name | None = None,
    platform: Platform | None = None,
) -> ToolsPublic:
    """Every tool of the catalog, by name."""
    specs = sorted(conductor.catalog.tools.values(), key=lambda spec: spec.name)
    data = [
        ToolPublic.from_spec(spec)
        for spec in specs
        if (category is None or spec.category == category)
        and (platform is None or platform in spec.platforms)
    ]
    return ToolsPublic(data=data, count=len(data))


@router.get(
    "/tools/{name}", response_model=ToolPublic, responses=error_responses(401, 403, 404, 422)
)
async def show_tool(name: Name, conductor: ConductorDep, _: Reader) -> ToolPublic:
    if name not in conductor.catalog:
        raise NotFound(f"no tool named {name!r}")
    return ToolPublic.from_spec(conductor.catalog.get(name))
