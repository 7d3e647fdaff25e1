"""The shape of an asset as people write it in import files and as the API shows it. Its text
fields follow `schemas.text`: no control characters (tab and line breaks only in the
description), so an asset from any face or file can be stored, shown and logged."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsconductor.inventory import choices
from opsconductor.schemas.text import Line, Prose, control_character_problem

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/()-]{0,254}$"
# Asset names' characters, at most 64 of them so that a name fits the audit trail's entity id.
CREDENTIAL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/()-]{0,63}$"
# A service or application an asset runs: a systemd unit or Windows service name, a package or
# an application's own name ("nginx", "billing-api", "postgresql@14-main"). No quote, comma or
# space, which is also what makes its match in the stored JSON list exact (repository).
SERVICE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
_SERVICE = re.compile(SERVICE_PATTERN)


class OsType(StrEnum):
    WINDOWS = "windows"
    LINUX = "linux"
    UNIX = "unix"
    MACOS = "macos"
    NETWORK = "network"
    OTHER = "other"


class DeviceType(StrEnum):
    WORKSTATION = "workstation"
    SERVER = "server"
    SWITCH = "switch"
    ROUTER = "router"
    FIREWALL = "firewall"
    STORAGE = "storage"
    OTHER = "other"


class Protocol(StrEnum):
    LOCAL = "local"  # commands run on the OpsConductor machine itself
    SSH = "ssh"
    WINRM = "winrm"
    NONE = "none"  # inventory only: never connected to


class Connection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: Protocol = Protocol.SSH
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._\\-]{1,64}$")
    # The name of a stored credential; the inventory never holds a secret itself.
    credential: str | None = Field(default=None, pattern=CREDENTIAL_NAME_PATTERN)


class Asset(BaseModel):
    """An inventory asset; `name` is its unique handle in requests, plans and answers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(pattern=NAME_PATTERN)
    hostname: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*\.?$"
    )
    ip_address: str | None = None
    os_type: OsType
    os_version: Annotated[str, Line(255)] | None = None
    device_type: DeviceType
    environment: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # A site or data centre ("dr", "dc-east", "London"), kept as written, matched ignoring case.
    location: Annotated[str, Line(64)] | None = None
    tags: list[str] = Field(default_factory=list)
    # What the asset is declared to run, as written in the inventory (not what a host reports).
    services: list[str] = Field(default_factory=list)
    owner: Annotated[str, Line(255)] | None = None
    criticality: Annotated[str, Line(32)] | None = None
    description: Annotated[str, Prose(4000)] | None = None
    connection: Connection = Field(default_factory=Connection)

    @field_validator("ip_address")
    @classmethod
    def _valid_ip(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None

    @field_validator("environment")
    @classmethod
    def _lower_environment(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("location")
    @classmethod
    def _no_empty_location(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("services")
    @classmethod
    def _valid_services(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for service in value:
            service = service.strip()
            if not _SERVICE.match(service):
                raise ValueError(
                    f"service {service!r} must be 1-64 letters, digits and . _ @ -, "
                    "starting with a letter or digit"
                )
            # One service, however it is capitalised: matching ignores case too.
            if service.lower() not in {known.lower() for known in cleaned}:
                cleaned.append(service)
        return cleaned

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: list[str]) -> list[str]:
        cleaned = []
        for tag in value:
            tag = str(tag).strip()
            if not tag or len(tag) > 64 or any(c in tag for c in ',;"\\'):
                raise ValueError(f"tag {tag!r} must be 1-64 characters without separators")
            if problem := control_character_problem(tag):
                raise ValueError(f"tag {tag!r} {problem}")
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned

    def describe_kind(self) -> str:
        """'Windows workstation', 'Linux server', 'network switch'."""
        return f"{os_label(self.os_type)} {self.device_type.value}"


_OS_LABELS = {
    OsType.WINDOWS: "Windows",
    OsType.LINUX: "Linux",
    OsType.UNIX: "Unix",
    OsType.MACOS: "macOS",
    OsType.NETWORK: "network",
    OsType.OTHER: "other",
}


def os_label(os_type: OsType | str) -> str:
    return _OS_LABELS[OsType(os_type)]


# Device types whose noun is not the type's value plus "s".
_NOUNS = {
    "switch": ("switch", "switches"),
    "storage": ("storage device", "storage devices"),
    "other": ("other device", "other devices"),
}


def device_noun(device_type: DeviceType | str, count: int | None = None) -> str:
    """'switch' for a count of 1, 'switches' for any other count or none; 'storage devices'."""
    key = str(device_type)
    singular, plural = _NOUNS.get(key, (key, key + "s"))
    return singular if count == 1 else plural


# A distribution as a filter names it ("ubuntu", "red hat"): matched as words of the os_name
# a host reported ("Ubuntu", "Red Hat Enterprise Linux"), ignoring case.
OS_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$"
OS_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
# The AssetFilter fields answered from facts (what discovery found), not from the record.
FACT_FIELDS = (
    "min_memory_gb",
    "max_memory_gb",
    "min_cpus",
    "max_cpus",
    "os_name",
    "os_version",
    "running",
)


class AssetFilter(BaseModel):
    """A group of assets, as 'all production linux servers' or `assets list --os linux`.
    Location, owner and criticality match ignoring case; a service matches the assets declared
    to run it. The fields of FACT_FIELDS are conditions on collected facts
    (`inventory.conditions`): an asset without the fact is unknown to them, neither in nor out.
    Memory is in whole GB as people say it (a host's reported memory, rounded up); both bounds of
    memory and CPUs are inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    os_type: OsType | None = None
    device_type: DeviceType | None = None
    environment: str | None = None
    location: Annotated[str, Line(64)] | None = None
    service: str | None = Field(default=None, pattern=SERVICE_PATTERN)
    tags: tuple[str, ...] = ()
    owner: Annotated[str, Line(255)] | None = None
    criticality: Annotated[str, Line(32)] | None = None
    text: str | None = Field(default=None, description="Substring of name or hostname.")
    hostname_text: str | None = Field(
        default=None, max_length=255, description="Substring of the hostname alone."
    )
    ip_prefix: str | None = None
    min_memory_gb: int | None = Field(default=None, ge=0, le=1_000_000)
    max_memory_gb: int | None = Field(default=None, ge=0, le=1_000_000)
    min_cpus: int | None = Field(default=None, ge=0, le=100_000)
    max_cpus: int | None = Field(default=None, ge=0, le=100_000)
    os_name: str | None = Field(default=None, pattern=OS_NAME_PATTERN)
    os_version: str | None = Field(default=None, pattern=OS_VERSION_PATTERN)
    # A service discovery saw running; `service` (declared) alone chooses targets of changes.
    running: str | None = Field(default=None, pattern=SERVICE_PATTERN)
    # Alternatives and exclusions as `field=value` pairs (`inventory.choices`): "Linux or
    # Windows", "in prod and staging"; "except staging", "not tagged web".
    either: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @field_validator("either", "exclude")
    @classmethod
    def _valid_choices(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return choices.normalised(value)

    def is_empty(self) -> bool:
        return self == AssetFilter()

    def uses_facts(self) -> bool:
        """Whether any condition is answered from facts rather than the record."""
        return any(getattr(self, name) is not None for name in FACT_FIELDS)

    def recorded_part(self) -> AssetFilter:
        """The conditions on the record alone: what SQL (or the index) can decide."""
        return self.model_copy(update=dict.fromkeys(FACT_FIELDS))

    def describe(self, count: int | None = None) -> str:
        """'production Linux servers at dr running nginx'; the noun singular when `count` is 1
        ('1 switch'), plural otherwise."""
        parts = [self.environment or "", os_label(self.os_type) if self.os_type else ""]
        if self.device_type:
            noun = device_noun(self.device_type, count)
        else:
            noun = "asset" if count == 1 else "assets"
        words = " ".join(p for p in [*parts, noun] if p)
        if self.location:
            words += f" at {self.location}"
        if self.service:
            words += f" running {self.service}"
        if self.tags:
            words += " tagged " + ", ".join(self.tags)
        if self.owner:
            words += f" owned by {self.owner}"
        if self.criticality:
            words += f" of {self.criticality} criticality"
        if self.text:
            words += f" matching {self.text!r}"
        if self.hostname_text:
            words += f" with {self.hostname_text!r} in the hostname"
        if self.ip_prefix:
            words += f" with IPs in {self.ip_prefix}"
        return " ".join([words, *choices.phrases(self.either, self.exclude), *fact_phrases(self)])


def fact_phrases(flt: AssetFilter) -> list[str]:
    """The fact conditions in words: 'Ubuntu 22.04', 'with at least 17 GB of memory',
    'seen running nginx'."""
    phrases = []
    if flt.os_name or flt.os_version:
        release = " ".join(v for v in (flt.os_name, flt.os_version) if v)
        phrases.append(f"reporting {release}" if flt.os_name else f"reporting version {release}")
    phrases += _bounds(flt.min_memory_gb, flt.max_memory_gb, "GB of memory")
    phrases += _bounds(flt.min_cpus, flt.max_cpus, "CPUs")
    if flt.running:
        phrases.append(f"seen running {flt.running}")
    return phrases


def _bounds(low: int | None, high: int | None, unit: str) -> list[str]:
    if low is not None and high is not None:
        return [f"with {low} to {high} {unit}" if low != high else f"with {low} {unit}"]
    if low is not None:
        return [f"with at least {low} {unit}"]
    if high is not None:
        return [f"with at most {high} {unit}"]
    return []
