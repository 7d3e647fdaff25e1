"""A filter's fact conditions (memory, CPUs, distribution, version, services seen running)
decided against one asset's collected facts, with three outcomes: the asset matches, does not
match, or is unknown because it has no facts or lacks one a condition needs. Unknown is never
folded into either of the others: an answer counts it apart."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import JsonValue

from opsconductor.inventory.models import AssetFilter

_MB_PER_GB = 1024
_WORD = re.compile(r"[a-z0-9]+")


_VERSION = re.compile(r"\d+(?:\.\d+)+")


class Verdict(StrEnum):
    """One asset against a filter's fact conditions."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"  # no facts, or a fact the conditions need was not collected


def with_record(
    facts: Mapping[str, JsonValue] | None, recorded_os: str | None
) -> Mapping[str, JsonValue] | None:
    """Collected facts, completed by what the inventory records of the OS ("Ubuntu 22.04.3
    LTS" names the distribution and its version); a collected fact wins."""
    if not recorded_os:
        return facts
    version = _VERSION.search(recorded_os)
    record: dict[str, JsonValue] = {"os_name": recorded_os}
    if version:
        record["os_version"] = version.group(0)
    return {**record, **(facts or {})}


def fact_verdict(flt: AssetFilter, facts: Mapping[str, JsonValue] | None) -> Verdict:
    """MATCH when every fact condition holds; NO_MATCH when a known fact fails one (a known
    failure outweighs another fact being missing); UNKNOWN otherwise."""
    if not flt.uses_facts():
        return Verdict.MATCH
    if facts is None:
        return Verdict.UNKNOWN
    outcomes = [
        _memory(flt, facts.get("memory_mb")),
        _between(facts.get("cpu_count"), flt.min_cpus, flt.max_cpus),
        _os_name(flt.os_name, facts.get("os_name")),
        _os_version(flt.os_version, facts.get("os_version")),
        _running(flt.running, facts.get("services")),
    ]
    if False in outcomes:
        return Verdict.NO_MATCH
    if None in outcomes:
        return Verdict.UNKNOWN
    return Verdict.MATCH


# Each check: True (holds or not asked), False (fails), None (the fact is not known).


def _memory(flt: AssetFilter, memory_mb: JsonValue) -> bool | None:
    if flt.min_memory_gb is None and flt.max_memory_gb is None:
        return True
    if not _is_number(memory_mb):
        return None
    # A host reports less than is installed (firmware and kernel keep some): a 16 GB machine
    # says 15.6 GB, a 32 GB one 31.3 GB. Rounded up to whole GB it is what people call it.
    gigabytes = math.ceil(float(memory_mb) / _MB_PER_GB)  # type: ignore[arg-type]
    return _between(gigabytes, flt.min_memory_gb, flt.max_memory_gb)


def _between(value: JsonValue, low: int | None, high: int | None) -> bool | None:
    if low is None and high is None:
        return True
    if not _is_number(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    return (low is None or number >= low) and (high is None or number <= high)


def _os_name(wanted: str | None, reported: JsonValue) -> bool | None:
    """'ubuntu' in 'Ubuntu', 'red hat' in 'Red Hat Enterprise Linux': whole words, in order."""
    if wanted is None:
        return True
    if not isinstance(reported, str) or not reported:
        return None
    words, have = _WORD.findall(wanted.lower()), _WORD.findall(reported.lower())
    return any(have[i : i + len(words)] == words for i in range(len(have) - len(words) + 1))


def _os_version(wanted: str | None, reported: JsonValue) -> bool | None:
    """'22.04' matches '22.04' and '22.04.3'; '22' matches '22.04', not '220'."""
    if wanted is None:
        return True
    if not isinstance(reported, str) or not reported:
        return None
    version, want = reported.lower(), wanted.lower()
    return version == want or version.startswith(want + ".")


def _running(wanted: str | None, services: JsonValue) -> bool | None:
    if wanted is None:
        return True
    if not isinstance(services, list):
        return None
    names = {str(name).lower().removesuffix(".service") for name in services}
    return wanted.lower().removesuffix(".service") in names


def _is_number(value: JsonValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
