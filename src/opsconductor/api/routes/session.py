"""GET /me: who the token stands for and what their role lets them do, so that a face (the
web page) shows only what its user may do. The API still checks every call on its own."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from opsconductor.api.deps import PrincipalDep
from opsconductor.api.errors import error_responses
from opsconductor.identity.models import ROLE_PERMISSIONS, Permission, Role

router = APIRouter(tags=["session"])


class MePublic(BaseModel):
    name: str
    role: Role
    permissions: list[Permission]


@router.get("/me", response_model=MePublic, responses=error_responses(401))
async def me(principal: PrincipalDep) -> MePublic:
    """The caller's name, role and the permissions that role carries."""
    held = ROLE_PERMISSIONS[principal.role]
    return MePublic(
        name=principal.name,
        role=principal.role,
        permissions=[p for p in Permission if p in held],
    )
