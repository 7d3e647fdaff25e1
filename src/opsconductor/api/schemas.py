"""The API's request and response models: one family per resource (`ItemPublic`,
`ItemsPublic`), built from the store's rows and the stage contracts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from opsconductor.api.params import MAX_COMMENT_CHARS, FreeText, Name
from opsconductor.catalog.models import Platform, ToolSpec
from opsconductor.execution.recovery import Resolution
from opsconductor.inventory.models import Asset, Connection, DeviceType, OsType
from opsconductor.pipeline import conversations
from opsconductor.schemas.common import RiskLevel
from opsconductor.schemas.text import Line, Prose

T = TypeVar("T")

# The pipeline checks a request's length against `max_request_chars`, and answers with an
# explanation; this bound only stops absurd bodies before they reach it.
MAX_REQUEST_BODY_CHARS = 100_000


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Page(Public, Generic[T]):
    data: list[T]
    count: int = Field(description="How many match the filters, over all pages.")
    offset: int
    limit: int


# --- requests: the reply is `schemas.answer.AnswerV1` ----------------------------------------


class RequestIn(Public):
    text: Annotated[str, Prose(MAX_REQUEST_BODY_CHARS)] = Field(
        description="The request, in plain words."
    )
    dry_run: StrictBool = Field(
        default=False, description="Plan and preview; record and run nothing."
    )
    confirm: StrictBool = Field(
        default=False, description="Confirm one's own level-1 plan at once."
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=conversations.ID_PATTERN,
        description="Read the request in the context of your earlier turns of this "
        "conversation ('restart it', 'and on web-02?'); any id of your choosing.",
    )


# --- executions, approvals -------------------------------------------------------------------


class ExecutionPublic(Public):
    id: str
    state: str
    approval_level: int
    mode: str
    requested_by: str
    request_text: str
    plan_id: str
    plan_hash: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error_message: str | None


class ExecutionsPublic(Page[ExecutionPublic]):
    pass


class CancelIn(Public):
    reason: Annotated[str, Prose(1000, min_length=1)] = "cancelled through the API"


class ResolveIn(Public):
    """How an interrupted execution goes on: `retry` runs the interrupted change again, `skip`
    gives it up (and what depends on it), `abort` ends the execution."""

    decision: Resolution


class ApprovalPublic(Public):
    id: str
    execution_id: str
    level: int
    step_id: str | None
    status: str
    plan_hash: str
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    created_at: datetime
    expires_at: datetime


class ApprovalsPublic(Page[ApprovalPublic]):
    pass


class DecisionIn(Public):
    comment: FreeText | None = None


class DenyIn(Public):
    comment: Annotated[str, Prose(MAX_COMMENT_CHARS, min_length=1)] = Field(
        pattern=r"\S", description="Why (required)."
    )


# --- assets ----------------------------------------------------------------------------------


class AssetPublic(Asset):
    """An inventory asset as the API shows and takes it; credentials are named, never held."""


class AssetsPublic(Page[AssetPublic]):
    pass


class AssetDetailPublic(AssetPublic):
    """One asset with the facts it reported when last discovered."""

    facts: dict[str, Any] | None = Field(
        default=None,
        description="What the host said of itself (os_name, os_version, kernel, cpu_count, "
        "memory_mb, disks, services); null when none were collected: unknown, not empty.",
    )
    facts_collected_at: datetime | None = Field(
        default=None, description="When the facts were collected."
    )


class DiscoverIn(Public):
    """Which assets to ask for their facts; no filter means every asset that can be asked."""

    os_type: OsType | None = None
    environment: Name | None = None
    location: Annotated[str, Line(64)] | None = None
    tags: list[Name] = Field(default_factory=list)
    q: Name | None = Field(default=None, description="In name or hostname.")
    confirm: StrictBool = Field(
        default=False, description="Confirm one's own level-1 discovery at once."
    )


class AssetUpdate(Public):
    """The fields to change; the others keep their values. `connection` is replaced whole."""

    hostname: str | None = None
    ip_address: str | None = None
    os_type: OsType | None = None
    os_version: str | None = None
    device_type: DeviceType | None = None
    environment: str | None = None
    location: str | None = None
    tags: list[str] | None = None
    services: list[str] | None = None
    owner: str | None = None
    criticality: str | None = None
    description: str | None = None
    connection: Connection | None = None


class ImportPublic(Public):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


# --- catalog, audit, health ------------------------------------------------------------------


class ParameterPublic(Public):
    type: Literal["string", "integer"]
    description: str
    required: bool
    pattern: str | None
    enum: list[str] | None
    minimum: int | None
    maximum: int | None
    default: str | int | None


class ToolPublic(Public):
    name: str
    summary: str
    category: str
    action: str
    platforms: list[Platform]
    risk: RiskLevel
    read_only: bool
    reversible: bool
    parameters: dict[str, ParameterPublic]

    @classmethod
    def from_spec(cls, spec: ToolSpec) -> ToolPublic:
        parameters = {
            name: ParameterPublic(
                type=p.type,
                description=p.description,
                required=p.required,
                pattern=p.pattern,
                enum=p.enum,
                minimum=p.minimum,
                maximum=p.maximum,
                default=p.default,
            )
            for name, p in spec.parameters.items()
        }
        return cls(
            name=spec.name,
            summary=spec.summary,
            category=spec.category,
            action=spec.action,
            platforms=spec.platforms,
            risk=spec.risk,
            read_only=spec.read_only,
            reversible=spec.reversible,
            parameters=parameters,
        )


class ToolsPublic(Public):
    data: list[ToolPublic]
    count: int


class AuditEventPublic(Public):
    id: int
    at: datetime
    actor: str
    entity_type: str
    entity_id: str
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEventsPublic(Page[AuditEventPublic]):
    pass


class AuditVerifyPublic(Public):
    ok: bool
    checked: int = Field(description="Events verified before the first bad one (or all).")
    first_bad_id: int | None
    problem: str | None
    legacy: int = Field(
        default=0, description="Of those, events from before the keyed chain (plain SHA-256)."
    )


class HealthPublic(Public):
    status: Literal["ok"]
    database: Literal["ok"]
