"""Where each target of a plan runs, resolved from the inventory (and the trusted host keys), so
that an approval binds to the machines it was shown and not to names that can be re-pointed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.inventory.models import Asset
from opsconductor.inventory.repository import asset_from_row
from opsconductor.schemas.plan import Endpoint, PlanV1
from opsconductor.store.tables import AssetRow

if TYPE_CHECKING:
    from opsconductor.connectors.known_hosts import KnownHosts

# Trusted host-key fingerprints for (address, port); empty when none are known.
HostKeys = Callable[[str, int], list[str]]


def no_host_keys(address: str, port: int) -> list[str]:
    return []


@dataclass(frozen=True)
class Resolved:
    """The targets as the inventory has them now."""

    endpoints: dict[str, Endpoint]
    assets: dict[str, Asset]


async def resolve(session: AsyncSession, names: Iterable[str], host_keys: HostKeys) -> Resolved:
    wanted = sorted(set(names))
    if not wanted:
        return Resolved({}, {})
    rows = await session.scalars(select(AssetRow).where(AssetRow.name.in_(wanted)))
    endpoints: dict[str, Endpoint] = {}
    assets: dict[str, Asset] = {}
    for row in rows:
        assets[row.name] = asset_from_row(row)
        endpoints[row.name] = _endpoint(row, host_keys)
    return Resolved(endpoints, assets)


def _endpoint(row: AssetRow, host_keys: HostKeys) -> Endpoint:
    protocol = row.connection_protocol or "ssh"
    address = row.ip_address or row.hostname
    keys: list[str] = []
    if protocol == "ssh" and address:
        keys = sorted(host_keys(address, row.connection_port or 22))
    return Endpoint(
        asset_id=row.id,
        protocol=protocol,
        hostname=row.hostname,
        ip_address=row.ip_address,
        port=row.connection_port,
        username=row.connection_username,
        credential=row.credential_name,
        host_keys=keys,
    )


def host_targets(plan: PlanV1, runs_on_hosts: Callable[[str], bool]) -> list[str]:
    return sorted({t for s in plan.steps if runs_on_hosts(s.tool) for t in s.targets})


def differences(planned: dict[str, Endpoint], now: dict[str, Endpoint]) -> list[str]:
    """What changed since the plan was made, in words; empty when every target is as it was."""
    found = []
    for name, before in sorted(planned.items()):
        after = now.get(name)
        if after is None:
            found.append(f"{name} is no longer in the inventory")
        elif after.asset_id != before.asset_id:
            found.append(f"{name} was deleted and added again")
        elif not before.host_keys and after.host_keys:
            # No key was known when planned: the first one trusted since (TOFU) is no change.
            after = after.model_copy(update={"host_keys": []})
        if after is not None and after.asset_id == before.asset_id and after != before:
            fields = [
                f"{field} {_shown(getattr(before, field))} → {_shown(getattr(after, field))}"
                for field in Endpoint.model_fields
                if getattr(before, field) != getattr(after, field)
            ]
            found.append(f"{name}'s connection changed ({', '.join(fields)})")
    return found


def _shown(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v)[:19] for v in value) or "none"
    return "none" if value is None else str(value)


def known_host_keys(path: Path) -> HostKeys:
    """Fingerprints trusted in an OpenSSH known_hosts file (asyncssh is loaded only when the
    file exists and a plan has an SSH target)."""
    loaded: list[KnownHosts] = []

    def lookup(address: str, port: int) -> list[str]:
        if not path.exists():
            return []
        if not loaded:
            from opsconductor.connectors.known_hosts import KnownHosts

            loaded.append(KnownHosts(path))
        return [key.get_fingerprint("sha256") for key in loaded[0].keys_for(address, port)]

    return lookup
