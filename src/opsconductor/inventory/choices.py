"""Alternatives and exclusions in a group: 'Linux or Windows servers', 'servers in prod and
staging', 'everything except staging', 'non-production hosts', 'not tagged web'.

Each is a `field=value` pair (`AssetFilter.either`, `AssetFilter.exclude`), written so in the
inventory tools' string inputs too. An asset is in the group when, for every field `either`
names, its value is one of that field's values; and when none of the `exclude` pairs holds for
it. A field the asset has no value for ("environment" unset) is never one of the alternatives
and never excluded: "everything except staging" keeps the assets of no environment."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from opsconductor.schemas.text import control_character_problem

# The fields a pair may name; a tag is one of the asset's tags, a service one it declares.
CHOICE_FIELDS = (
    *("os_type", "device_type", "environment", "location", "owner"),
    *("criticality", "service", "tag", "name"),
)
_ENUMS = {
    "os_type": frozenset({"windows", "linux", "unix", "macos", "network", "other"}),
    "device_type": frozenset(
        {"workstation", "server", "switch", "router", "firewall", "storage", "other"}
    ),
}
_VALUE = re.compile(r'^[^,;="\\]{1,255}$')


class HasChoiceFields(Protocol):
    """What matching needs of an asset (an `AssetKey` of the brain's index)."""

    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def services(self) -> tuple[str, ...]: ...


def normalised(pairs: Iterable[str]) -> tuple[str, ...]:
    """Each `field=value` checked and in one spelling (field and fixed values lower-case)."""
    cleaned: list[str] = []
    for pair in pairs:
        field, _, value = str(pair).partition("=")
        field, value = field.strip().lower(), value.strip()
        if field not in CHOICE_FIELDS:
            raise ValueError(f"{pair!r}: the field must be one of {', '.join(CHOICE_FIELDS)}")
        if not _VALUE.match(value) or control_character_problem(value):
            raise ValueError(
                f'{pair!r}: the value must be 1-255 characters, none of them , ; = " \\ or '
                "a control character"
            )
        if field in _ENUMS or field == "environment":
            value = value.lower()
        if field in _ENUMS and value not in _ENUMS[field]:
            raise ValueError(f"{pair!r}: {field} is one of {', '.join(sorted(_ENUMS[field]))}")
        if f"{field}={value}" not in cleaned:
            cleaned.append(f"{field}={value}")
    return tuple(cleaned)


def by_field(pairs: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        field, _, value = pair.partition("=")
        grouped.setdefault(field, []).append(value)
    return grouped


def holds(asset: HasChoiceFields, field: str, value: str) -> bool:
    """Whether the asset has this value for the field (text compared ignoring case)."""
    wanted = value.lower()
    if field == "tag":
        return wanted in {t.lower() for t in asset.tags}
    if field == "service":
        return wanted in {s.lower() for s in asset.services}
    if field == "criticality":
        return (getattr(asset, "criticality", None) or "").lower() == wanted
    have = getattr(asset, field)
    return have is not None and str(have).lower() == wanted


def chosen(asset: HasChoiceFields, either: Iterable[str], exclude: Iterable[str]) -> bool:
    """In the group by its alternatives and exclusions (the other conditions aside)."""
    for field, values in by_field(either).items():
        if not any(holds(asset, field, value) for value in values):
            return False
    return not any(holds(asset, *pair.split("=", 1)) for pair in exclude)


_NOUNS = {
    "os_type": "with OS",
    "device_type": "of type",
    "environment": "in",
    "location": "at",
    "owner": "owned by",
    "criticality": "of criticality",
    "service": "running",
    "tag": "tagged",
    "name": "named",
}
_OS_LABELS = {"windows": "Windows", "linux": "Linux", "unix": "Unix", "macos": "macOS"}


def phrases(either: Iterable[str], exclude: Iterable[str]) -> list[str]:
    """'with OS Linux or Windows', 'in production or staging', 'except those in staging or
    tagged web'."""
    found = [_phrase(field, values) for field, values in by_field(either).items()]
    excluded = [_phrase(field, values) for field, values in by_field(exclude).items()]
    if excluded:
        found.append("except those " + " or ".join(excluded))
    return found


def _phrase(field: str, values: list[str]) -> str:
    shown = [_OS_LABELS.get(v, v) if field == "os_type" else v for v in values]
    return f"{_NOUNS[field]} {' or '.join(shown)}"
