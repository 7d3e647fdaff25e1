"""An in-memory index of the inventory, for resolving the names a request uses."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opsconductor.brain.lexicon import ENVIRONMENT_WORDS
from opsconductor.inventory import choices
from opsconductor.inventory.conditions import Verdict, fact_verdict
from opsconductor.inventory.models import AssetFilter

SUGGESTION_CUTOFF = 70  # similarity (0-100) below which an asset is not offered as "did you mean"

MAX_NAME_WORDS = 8
WORD = re.compile(r"[a-z0-9][a-z0-9._/()-]*")


@dataclass(frozen=True)
class AssetKey:
    """The few fields of an asset that understanding needs; cheap to hold for a large fleet."""

    name: str
    hostname: str | None
    ip_address: str | None
    os_type: str
    device_type: str
    environment: str | None
    tags: tuple[str, ...]
    location: str | None = None
    services: tuple[str, ...] = ()  # declared in the inventory, not discovered
    owner: str | None = None
    # What discovery collected (memory_mb, cpu_count, os_name, os_version, services); None
    # when the asset was never asked.
    facts: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def matches(self, flt: AssetFilter) -> bool:
        """Whether the asset is known to be in the group: one whose facts cannot tell is not."""
        lowered_tags = {tag.lower() for tag in self.tags}
        return (
            self._placed(flt)
            and choices.chosen(self, flt.either, flt.exclude)
            and fact_verdict(flt, self.facts) is Verdict.MATCH
            and (
                (flt.os_type is None or self.os_type == flt.os_type.value)
                and (flt.device_type is None or self.device_type == flt.device_type.value)
                and (flt.environment is None or self.environment == flt.environment)
                and all(tag.lower() in lowered_tags for tag in flt.tags)
                and (flt.text is None or flt.text.lower() in f"{self.name} {self.hostname}".lower())
                and (
                    flt.hostname_text is None
                    or flt.hostname_text.lower() in (self.hostname or "").lower()
                )
                and (flt.ip_prefix is None or (self.ip_address or "").startswith(flt.ip_prefix))
            )
        )

    def _placed(self, flt: AssetFilter) -> bool:
        """Location, declared service and owner, each compared ignoring case."""
        return (
            _same(flt.location, self.location)
            and _same(flt.owner, self.owner)
            and (
                flt.service is None
                or flt.service.lower() in {service.lower() for service in self.services}
            )
        )


def _same(wanted: str | None, value: str | None) -> bool:
    return wanted is None or (value or "").lower() == wanted.lower()


def name_words(name: str) -> tuple[str, ...]:
    return tuple(WORD.findall(name.lower()))


class InventoryIndex:
    """Handles (name, hostname, short hostname, IP) and vocabularies (environments, tags)."""

    def __init__(self, assets: Iterable[AssetKey]) -> None:
        self.assets: dict[str, AssetKey] = {}
        self._handles: dict[str, set[str]] = defaultdict(set)
        self._phrases: dict[tuple[str, ...], str] = {}
        self.tags: dict[str, str] = {}
        self.locations: dict[str, str] = {}  # lower-case → as written
        self.owners: dict[str, str] = {}
        self.services: dict[str, list[str]] = {}  # lower-case service → assets declaring it
        self.running: dict[str, list[str]] = {}  # lower-case service → assets seen running it
        environments: set[str] = set()
        for asset in assets:
            self._add(asset)
            if asset.environment:
                environments.add(asset.environment)
        self.environments = self._environment_words(environments)

    def _add(self, asset: AssetKey) -> None:
        self.assets[asset.name] = asset
        handles = {asset.name.lower()}
        if asset.hostname:
            hostname = asset.hostname.lower().rstrip(".")
            handles |= {hostname, hostname.split(".")[0]}
        if asset.ip_address:
            handles.add(asset.ip_address)
        for handle in handles:
            self._handles[handle].add(asset.name)
        words = name_words(asset.name)
        if 1 < len(words) <= MAX_NAME_WORDS:
            self._phrases[words] = asset.name
        for tag in asset.tags:
            self.tags.setdefault(tag.lower(), tag)
        if asset.location:
            self.locations.setdefault(asset.location.lower(), asset.location)
        if asset.owner:
            self.owners.setdefault(asset.owner.lower(), asset.owner)
        for service in asset.services:
            self.services.setdefault(service.lower(), []).append(asset.name)
        seen = (asset.facts or {}).get("services")
        for service in seen if isinstance(seen, list) else []:
            self.running.setdefault(str(service).lower(), []).append(asset.name)

    @staticmethod
    def _environment_words(present: set[str]) -> dict[str, str]:
        """Every word for an environment the inventory has, mapped to the inventory's own
        spelling: 'prod', 'prd' and 'production' all read as whichever of them it uses."""
        words = {env: env for env in present}
        spelled = {
            ENVIRONMENT_WORDS[env]: env for env in sorted(present) if env in ENVIRONMENT_WORDS
        }
        for word, canonical in ENVIRONMENT_WORDS.items():
            if canonical in spelled:
                words.setdefault(word, spelled[canonical])
        return words

    def __len__(self) -> int:
        return len(self.assets)

    def lookup(self, handle: str) -> list[str]:
        """Asset names a single word names: usually one; several when a short name is shared."""
        return sorted(self._handles.get(handle.lower().rstrip("."), ()))

    def phrase(self, words: tuple[str, ...]) -> str | None:
        """The asset whose multi-word name is exactly `words`, if any."""
        return self._phrases.get(words)

    def select(self, flt: AssetFilter) -> list[str]:
        return sorted(name for name, asset in self.assets.items() if asset.matches(flt))

    def suggestions(self, word: str, limit: int = 3) -> list[str]:
        """Asset names close to a word the inventory does not know: offered as "did you
        mean", never acted on."""
        from rapidfuzz import fuzz, process, utils  # here: only an unknown name needs it

        close = process.extract(
            word.lower(),
            list(self._handles),
            scorer=fuzz.ratio,
            processor=utils.default_process,
            score_cutoff=SUGGESTION_CUTOFF,
            limit=limit,
        )
        names: list[str] = []
        for handle, _, _ in close:
            for name in sorted(self._handles[handle]):
                if name not in names:
                    names.append(name)
        return names[:limit]
