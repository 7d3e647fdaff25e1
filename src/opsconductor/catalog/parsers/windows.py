"""Windows output: PowerShell's ``ConvertTo-Json -Compress``, where one object may stand for a
one-element list, and bare numbers. jc reads neither, so these parsers are our own.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opsconductor.catalog.parsers.base import (
    Parsed,
    disk_summary,
    memory,
    number,
    percent,
    text,
    uptime_summary,
)

# PowerShell 5 serialises enums as numbers; these are their names, split into words.
_SERVICE_STATUS = {
    1: "stopped",
    2: "start pending",
    3: "stop pending",
    4: "running",
    5: "continue pending",
    6: "pause pending",
    7: "paused",
}
_START_TYPES = dict(enumerate(["boot", "system", "automatic", "manual", "disabled"]))
_STATUS_PHRASES = {
    "start pending": "starting",
    "stop pending": "stopping",
    "continue pending": "resuming",
    "pause pending": "pausing",
}


def _records(stdout: str) -> list[dict[str, Any]]:
    # PowerShell may write a byte-order mark; NaN and Infinity are not JSON.
    value = json.loads(stdout.strip().lstrip("\ufeff"), parse_constant=_not_json)
    records = value if isinstance(value, list) else [value]
    if not records or not all(isinstance(record, dict) for record in records):
        raise ValueError("expected a JSON object or a list of objects")
    return records


def _not_json(name: str) -> float:
    raise ValueError(f"not a finite number: {name}")


def _json_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _words(value: Any, names: dict[int, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not an enum: {value!r}")
    if isinstance(value, int):
        return names[value]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value).lower()  # StartPending: start pending


def parse_win_disk(stdout: str) -> Parsed:
    """``Get-PSDrive -PSProvider FileSystem``; drives without sizes (empty readers) are skipped."""
    rows: list[dict[str, Any]] = []
    disks: list[tuple[str, float, int]] = []
    for record in _records(stdout):
        if record["Used"] is None or record["Free"] is None:
            continue
        used, free = int(_json_number(record["Used"])), int(_json_number(record["Free"]))
        drive, use_percent = text(record["Name"]), percent(used, used + free)
        rows.append(
            {"drive": drive, "used_bytes": used, "free_bytes": free, "use_percent": use_percent}
        )
        disks.append((f"{drive}:", use_percent, free))
    return Parsed(data=rows, summary=disk_summary(disks, "C:", "drive"))


def parse_win_memory(stdout: str) -> Parsed:
    """``Win32_OperatingSystem`` memory sizes, which Windows gives in KB."""
    record = _records(stdout)[0]
    total = int(_json_number(record["TotalVisibleMemorySize"])) * 1024
    return memory(total, int(_json_number(record["FreePhysicalMemory"])) * 1024, {})


def parse_win_cpu(stdout: str) -> Parsed:
    """``Win32_Processor`` load, averaged over sockets; some VMs report none."""
    loads = [r["LoadPercentage"] for r in _records(stdout)]
    known = [_json_number(load) for load in loads if load is not None]
    if not known:
        return Parsed(data={"load_percent": None}, summary="CPU load not reported")
    average = round(sum(known) / len(known), 1)
    return Parsed(data={"load_percent": average}, summary=f"CPU {average:.0f}% busy")


def parse_win_service(stdout: str) -> Parsed:
    """``Get-Service`` for one service: status and start type as lower-case words."""
    records = _records(stdout)
    if len(records) != 1:
        raise ValueError(f"expected one service, got {len(records)}")
    name = text(records[0]["Name"])
    status = _words(records[0]["Status"], _SERVICE_STATUS)
    start_type = _words(records[0].get("StartType"), _START_TYPES)
    summary = f"{name} is {_STATUS_PHRASES.get(status or '', status)}"
    if start_type == "disabled" or (start_type or "").endswith("start"):
        summary += f" ({start_type})"
    elif start_type:
        summary += f" ({start_type} start)"
    return Parsed(data={"name": name, "status": status, "start_type": start_type}, summary=summary)


def parse_win_processes(stdout: str) -> Parsed:
    """``Get-Process`` sorted by CPU, which is seconds used since start, not a current rate."""
    top = [
        {
            "pid": int(_json_number(r["Id"])),
            "command": text(r["ProcessName"]),
            "cpu_seconds": None if r.get("CPU") is None else _json_number(r["CPU"]),
            "memory_bytes": int(_json_number(r["WorkingSet64"])),
        }
        for r in _records(stdout)[:10]
    ]
    timed = [r for r in top if r["cpu_seconds"] is not None][:3]
    if not timed:
        return Parsed(data={"top": top}, summary="CPU time not reported")
    shown = ", ".join(f"{r['command']} {r['cpu_seconds']:.1f} s" for r in timed)
    return Parsed(data={"top": top}, summary=f"top CPU time: {shown}")


def parse_win_uptime(stdout: str) -> Parsed:
    """A bare number of seconds since boot, perhaps with a decimal comma."""
    fields = stdout.split()
    if len(fields) != 1:
        raise ValueError("expected one number of seconds")
    return uptime_summary(number(fields[0]))
