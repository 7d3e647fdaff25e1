"""The inventory: read by anyone with a token, written by admins (Permission.MANAGE)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.api.deps import Asker, ConductorDep, Manager, Reader
from opsconductor.api.errors import error_responses
from opsconductor.api.pagination import WindowDep
from opsconductor.api.params import Name
from opsconductor.api.schemas import (
    AssetDetailPublic,
    AssetPublic,
    AssetsPublic,
    AssetUpdate,
    DiscoverIn,
    ImportPublic,
)
from opsconductor.errors import ImportRejected, ValidationFailed
from opsconductor.inventory import repository
from opsconductor.inventory.facts import facts_for
from opsconductor.inventory.importers import (
    MAX_FILE_BYTES,
    parse_assets_csv,
    parse_assets_yaml,
)
from opsconductor.inventory.models import (
    SERVICE_PATTERN,
    Asset,
    AssetFilter,
    DeviceType,
    OsType,
)
from opsconductor.pipeline import discovery
from opsconductor.schemas.answer import AnswerV1
from opsconductor.schemas.text import Line
from opsconductor.store.audit import record_event

router = APIRouter(tags=["assets"])

ASSET_PATH = "/assets/{name:path}"
Location = Annotated[str, Line(64)]


class ImportFormat(StrEnum):
    YAML = "yaml"
    CSV = "csv"


@router.get("/assets", response_model=AssetsPublic, responses=error_responses(401, 403, 422))
async def list_assets(
    conductor: ConductorDep,
    _: Reader,
    page: WindowDep,
    os_type: OsType | None = None,
    device_type: DeviceType | None = None,
    environment: Name | None = None,
    tag: Annotated[list[Name] | None, Query()] = None,
    q: Annotated[Name | None, Query(description="In name or hostname.")] = None,
    location: Annotated[Location | None, Query(description="Ignoring case.")] = None,
    service: Annotated[
        str | None, Query(pattern=SERVICE_PATTERN, description="Declared to run it.")
    ] = None,
) -> AssetsPublic:
    """Assets by name, filtered like `opsconductor assets list`."""
    flt = AssetFilter(
        os_type=os_type,
        device_type=device_type,
        environment=environment,
        location=location,
        service=service,
        tags=tuple(tag or ()),
        text=q,
    )
    async with conductor.db.reader() as session:
        total = (await repository.count_assets(session, flt)).total
        assets = await repository.list_assets(session, flt, limit=page.offset + page.limit)
    data = [_public(a) for a in assets[page.offset :]]
    return AssetsPublic(data=data, count=total, offset=page.offset, limit=page.limit)


@router.post(
    "/assets/discover",
    response_model=AnswerV1,
    responses=error_responses(400, 401, 403, 422),
    summary="Collect the facts of the assets a filter selects",
)
async def discover(body: DiscoverIn, conductor: ConductorDep, principal: Asker) -> AnswerV1:
    """Run `*.collect_facts` on the matching assets that can be asked, as an execution like
    `POST /requests` records (level 1: runs when `confirm` is set); each host's facts are
    stored as its unit succeeds. The message names the assets left out and why."""
    flt = AssetFilter(
        os_type=body.os_type,
        environment=body.environment,
        location=body.location,
        tags=tuple(body.tags),
        text=body.q,
    )
    answer = await discovery.discover(
        conductor.pipeline,
        flt,
        requester=principal.name,
        confirm=body.confirm,
        wait=False,  # immediate plans run inline; background ones are queued for the worker
        role=principal.role,
    )
    return answer.to_answer()


@router.get(
    ASSET_PATH, response_model=AssetDetailPublic, responses=error_responses(401, 403, 404, 422)
)
async def show_asset(name: Name, conductor: ConductorDep, _: Reader) -> AssetDetailPublic:
    """One asset, with its facts and when they were collected (null when never collected)."""
    async with conductor.db.reader() as session:
        asset = await repository.get_asset(session, name)
        found = (await facts_for(session, [name])).get(name)
    return AssetDetailPublic.model_validate(
        {
            **asset.model_dump(),
            "facts": found.values if found else None,
            "facts_collected_at": found.collected_at if found else None,
        }
    )


@router.post(
    "/assets",
    status_code=status.HTTP_201_CREATED,
    response_model=AssetPublic,
    responses=error_responses(401, 403, 409, 422),
)
async def create_asset(body: AssetPublic, conductor: ConductorDep, admin: Manager) -> AssetPublic:
    """Add one asset; 409 when one of that name exists (PATCH changes it)."""
    asset = Asset.model_validate(body.model_dump())
    async with conductor.db.session() as session:
        if await repository.get_assets(session, [asset.name]):
            raise HTTPException(status.HTTP_409_CONFLICT, f"asset {asset.name!r} already exists")
        await repository.upsert_assets(session, [asset])
        await _audit(session, admin.name, asset.name, "created")
    return _public(asset)


@router.patch(ASSET_PATH, response_model=AssetPublic, responses=error_responses(401, 403, 404, 422))
async def update_asset(
    name: Name, body: AssetUpdate, conductor: ConductorDep, admin: Manager
) -> AssetPublic:
    """Change the given fields of one asset."""
    async with conductor.db.session() as session:
        current = await repository.get_asset(session, name)
        changes = body.model_dump(exclude_unset=True)
        merged: dict[str, Any] = {**current.model_dump(), **changes}
        try:
            asset = Asset.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ValidationFailed(f"{where}: {error['msg']}") from None
        await repository.upsert_assets(session, [asset])
        await _audit(session, admin.name, name, "updated", sorted(changes))
    return _public(asset)


@router.delete(
    ASSET_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
async def delete_asset(name: Name, conductor: ConductorDep, admin: Manager) -> None:
    async with conductor.db.session() as session:
        await repository.delete_asset(session, name)
        await _audit(session, admin.name, name, "deleted")


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's text: `{assets: [...]}` in YAML, or CSV with a header row.",
        "content": {
            media: {"schema": {"type": "string"}}
            for media in ("text/plain", "application/yaml", "text/csv")
        },
    }
}


@router.post(
    "/assets/import",
    response_model=ImportPublic,
    responses=error_responses(401, 403, 422),
    openapi_extra=IMPORT_BODY,
)
async def import_assets(
    request: Request,
    conductor: ConductorDep,
    admin: Manager,
    fmt: Annotated[ImportFormat, Query(alias="format", description="How the body is written.")],
) -> ImportPublic:
    """Create or update every asset of a YAML or CSV file, or none: a bad row rejects the
    whole file, naming the row and the field."""
    content = await _read_text(request)
    source = f"<{fmt.value}>"
    parse = parse_assets_yaml if fmt is ImportFormat.YAML else parse_assets_csv
    assets = parse(content, source=source)
    if not assets:
        raise ImportRejected(f"{source}: no assets in the file")
    async with conductor.db.session() as session:
        summary = await repository.upsert_assets(session, assets)
        await _audit(session, admin.name, "import", "imported", [a.name for a in assets][:100])
    return ImportPublic(
        created=summary.created, updated=summary.updated, unchanged=summary.unchanged
    )


async def _read_text(request: Request) -> str:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise ImportRejected(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRejected("the file is not UTF-8 text") from None


def _public(asset: Asset) -> AssetPublic:
    return AssetPublic.model_validate(asset.model_dump())


async def _audit(
    session: AsyncSession, actor: str, name: str, action: str, fields: list[str] | None = None
) -> None:
    await record_event(
        session,
        actor=actor,
        entity_type="asset",
        entity_id=name[:64],
        action=action,
        details={"fields": fields} if fields else None,
    )
