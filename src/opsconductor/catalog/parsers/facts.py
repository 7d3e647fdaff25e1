"""Facts tools' output: one flat mapping of what a host says about itself (os_name, os_version,
kernel, cpu_count, memory_mb, disks, services), stored as the asset's facts.

A fact the output does not give is left out rather than set to zero or empty, so that it
reads as unknown; a section that is present but empty (no running services) is an empty list.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opsconductor.catalog.parsers.base import Parsed, number, plural, text, whole
from opsconductor.catalog.parsers.posix import PSEUDO_FILESYSTEMS, parse_df, parse_os_release

# The linux.collect_facts script prints each part under a line "== name ==".
_SECTION = re.compile(r"^== ([a-z-]+) ==$")
_MIB = 1024**2


def parse_linux_facts(stdout: str) -> Parsed:
    """The sections of ``linux.collect_facts``: os-release, kernel, cpus, meminfo, df and
    (where systemd runs) services."""
    sections = _sections(stdout)
    if "kernel" not in sections:
        raise ValueError("no kernel section: not the output of a facts script")
    facts: dict[str, Any] = {"kernel": text(sections["kernel"].strip())}
    if sections.get("os-release", "").strip():
        release = parse_os_release(sections["os-release"]).data
        facts |= _present(os_name=release.get("NAME"), os_version=release.get("VERSION_ID"))
    if sections.get("cpus", "").strip():
        facts["cpu_count"] = whole(sections["cpus"].strip())
    total = re.search(r"^MemTotal:\s+(\d+) kB$", sections.get("meminfo", ""), re.MULTILINE)
    if total:
        facts["memory_mb"] = int(total.group(1)) // 1024
    if sections.get("df", "").strip():
        facts["disks"] = _linux_disks(sections["df"])
    if "services" in sections:
        facts["services"] = _unit_names(sections["services"])
    return Parsed(data=facts, summary=summary(facts))


def _sections(stdout: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        match = _SECTION.match(line.strip())
        if match:
            current = found.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(body) for name, body in found.items()}


def _present(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _linux_disks(df_output: str) -> list[dict[str, Any]]:
    disks = []
    for row in parse_df(df_output).data:
        pseudo = row["filesystem"] in PSEUDO_FILESYSTEMS or row["filesystem"].startswith(
            "/dev/loop"
        )
        # A container's root is an overlay; it is still the disk its programs see.
        if row["size_bytes"] < _MIB or (pseudo and row["mount"] != "/"):
            continue
        disks.append(
            {
                "mount": row["mount"],
                "size_mb": row["size_bytes"] // _MIB,
                "used_pct": float(row["use_percent"]),
            }
        )
    return disks


def _unit_names(listing: str) -> list[str]:
    """`systemctl list-units --no-legend --plain` lines: the unit is the first column."""
    names = []
    for line in listing.splitlines():
        words = line.replace("●", " ").split()
        if words:
            names.append(words[0].removesuffix(".service"))
    return sorted(set(names))


def parse_windows_facts(stdout: str) -> Parsed:
    """The one JSON object ``windows.collect_facts`` prints (``ConvertTo-Json -Compress``)."""
    value = json.loads(stdout.strip().lstrip("\ufeff"), parse_constant=_not_json)
    if not isinstance(value, dict):
        raise ValueError("expected one JSON object")
    facts: dict[str, Any] = {"kernel": text(value.get("kernel"))}
    for key in ("os_name", "os_version"):
        if value.get(key):
            facts[key] = text(value[key])
    for key in ("cpu_count", "memory_mb"):
        if value.get(key) is not None:
            facts[key] = whole(value[key])
    if value.get("disks") is not None:
        facts["disks"] = [_windows_disk(d) for d in _as_list(value["disks"])]
    if value.get("services") is not None:
        facts["services"] = sorted({text(name) for name in _as_list(value["services"])})
    return Parsed(data=facts, summary=summary(facts))


def _as_list(value: Any) -> list[Any]:
    # ConvertTo-Json writes a one-element array as the element itself.
    return value if isinstance(value, list) else [value]


def _windows_disk(disk: Any) -> dict[str, Any]:
    if not isinstance(disk, dict):
        raise TypeError(f"not a disk: {disk!r}")
    return {
        "mount": text(disk.get("mount")),
        "size_mb": whole(disk.get("size_mb")),
        "used_pct": round(number(disk.get("used_pct")), 1),
    }


def _not_json(name: str) -> float:
    raise ValueError(f"not a finite number: {name}")


def summary(facts: dict[str, Any]) -> str:
    """'Ubuntu 22.04, kernel 5.15.0-91-generic, 4 CPUs, 7.8 GB memory, 2 disks, 31 services
    running'; what is unknown is left out."""
    os_words = " ".join(str(facts[k]) for k in ("os_name", "os_version") if k in facts)
    parts = [os_words] if os_words else []
    parts.append(f"kernel {facts['kernel']}")
    if "cpu_count" in facts:
        parts.append(plural(facts["cpu_count"], "CPU"))
    if "memory_mb" in facts:
        parts.append(f"{facts['memory_mb'] / 1024:.1f} GB memory")
    if "disks" in facts:
        parts.append(plural(len(facts["disks"]), "disk"))
    if "services" in facts:
        parts.append(plural(len(facts["services"]), "service") + " running")
    return ", ".join(parts)
