"""Output parsers: one host's command output in, structured data and a one-line summary out.

A catalog tool names its parser; the parser receives that tool's stdout. Parsers raise
``ValueError`` (or ``KeyError``/``IndexError``/``TypeError`` from indexing malformed input) on
output they do not recognise. :func:`parse_output` is the entry point and never raises: it falls
back to the tail of the raw text.

Summaries use binary units with the labels ``df -h`` and ``free -h`` print (1 GB = 1024³ bytes).
Windows commands arrive as PowerShell ``ConvertTo-Json -Compress`` output, where one object may
stand for a one-element list.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    """Parsed output of one host: JSON-serialisable ``data`` and a one-line ``summary``."""

    data: Any
    summary: str


Parser = Callable[[str], Parsed]

FALLBACK_LINES = 20
SUMMARY_MAX_CHARS = 200
FULL_PERCENT = 80  # a disk at least this full is named in a disk summary
# Sources whose fullness means nothing to a person (kept in data, left out of summaries).
PSEUDO_FILESYSTEMS = frozenset({"tmpfs", "devtmpfs", "overlay", "squashfs", "udev", "none"})
# What malformed input raises on its own; anything else is a bug in a parser.
_MALFORMED = (ValueError, KeyError, IndexError, TypeError)
_SIZE_UNITS = (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


# -- shared helpers --------------------------------------------------------------------------


def _number(text: str) -> float:
    # NaN and infinity parse as floats but are not JSON.
    value = float(text.replace(",", "."))  # PowerShell and old curl may print a decimal comma
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _size(size_bytes: float) -> str:
    for label, unit in _SIZE_UNITS:
        if size_bytes >= unit:
            return f"{size_bytes / unit:.1f} {label}"
    return f"{size_bytes:.0f} bytes"


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _key_values(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in _lines(text):
        key, sep, value = line.partition("=")
        if sep and key and not key.startswith("#"):
            pairs[key.strip()] = value.strip()
    return pairs


def _disk_summary(disks: list[tuple[str, float, int]], primary: str, noun: str) -> str:
    """Name ``primary`` and each disk at least FULL_PERCENT full; disks are (label, %, free)."""
    if not disks:
        return f"no {noun}s with a size"
    shown = sorted(
        (d for d in disks if d[0] == primary or d[1] >= FULL_PERCENT),
        key=lambda d: (d[0] != primary, -d[1], d[0]),
    )
    if not shown:
        return f"{_plural(len(disks), noun)}, all under {FULL_PERCENT}% full"
    return "; ".join(
        f"{label} is {use:.0f}% full, {_size(free)} free" for label, use, free in shown
    )


def _memory(total: int, available: int, extra: dict[str, int]) -> Parsed:
    """Memory data whose ``used_percent`` counts all memory that is not available."""
    if total <= 0:
        raise ValueError("total memory is not positive")
    used_percent = _percent(total - available, total)
    data = {"total_bytes": total, "available_bytes": available, **extra}
    summary = f"memory {used_percent:.0f}% used, {_size(available)} available of {_size(total)}"
    return Parsed(data={**data, "used_percent": used_percent}, summary=summary)


# -- Linux and POSIX -------------------------------------------------------------------------

_DF_ROW = re.compile(
    r"(?P<fs>\S.*?)\s+(?P<size>\d+)\s+(?P<used>\d+)\s+(?P<avail>\d+)"
    r"\s+(?P<pct>\d+%|-)\s+(?P<mount>\S.*)"
)


def parse_df(stdout: str) -> Parsed:
    """``df -P -k``: all filesystems in data; summaries skip pseudo and loop filesystems."""
    lines = _lines(stdout)
    block = 1024
    if lines and lines[0].startswith("Filesystem"):
        header = re.search(r"(\d+)-blocks", lines.pop(0))
        block = int(header[1]) if header else block
    rows = [_df_row(line, block) for line in lines]
    if not rows:
        raise ValueError("no filesystems")
    disks = [
        (row["mount"], float(row["use_percent"]), row["available_bytes"])
        for row in rows
        # snaps mount read-only loop devices that are always 100% full
        if row["filesystem"] not in PSEUDO_FILESYSTEMS
        and not row["filesystem"].startswith("/dev/loop")
        and row["size_bytes"] > 0
    ]
    return Parsed(data=rows, summary=_disk_summary(disks, "/", "filesystem"))


def _df_row(line: str, block: int) -> dict[str, Any]:
    match = _DF_ROW.fullmatch(line)
    if match is None:
        raise ValueError(f"not a df row: {line!r}")
    return {
        "filesystem": match["fs"],
        "mount": match["mount"],
        "size_bytes": int(match["size"]) * block,
        "used_bytes": int(match["used"]) * block,
        "available_bytes": int(match["avail"]) * block,
        # df prints "-" for a filesystem without blocks
        "use_percent": 0 if match["pct"] == "-" else int(match["pct"][:-1]),
    }


def parse_free(stdout: str) -> Parsed:
    """``free -b``; ``used_percent`` is of memory not available, which is what people mean."""
    header, *lines = (line.split() for line in _lines(stdout))
    rows = {
        fields[0][:-1].lower(): [int(v) for v in fields[1:]]
        for fields in lines
        if fields[0].endswith(":")  # not old procps's "-/+ buffers/cache:" line
    }
    mem = dict(zip(header, rows["mem"], strict=False))
    swap = rows.get("swap", [0, 0])
    available = mem.get("available")
    if available is None:  # procps before 3.3.10 prints no "available" column
        available = mem["free"] + mem.get(
            "buff/cache", mem.get("buffers", 0) + mem.get("cached", 0)
        )
    extra = {
        "used_bytes": mem["used"],
        "free_bytes": mem["free"],
        "swap_total_bytes": swap[0],
        "swap_used_bytes": swap[1],
    }
    return _memory(mem["total"], available, extra)


def parse_loadavg(stdout: str) -> Parsed:
    """``/proc/loadavg``: load averages and process counts."""
    load1, load5, load15, tasks, _last_pid = stdout.split()
    running, total = (int(v) for v in tasks.split("/"))
    loads = [_number(v) for v in (load1, load5, load15)]
    data = dict(zip(("load1", "load5", "load15"), loads, strict=True))
    shown = " / ".join(f"{v:.2f}" for v in loads)
    return Parsed(
        data={**data, "running": running, "total_processes": total},
        summary=f"load {shown} (1/5/15 min), {total} processes",
    )


def parse_uptime(stdout: str) -> Parsed:
    """``/proc/uptime`` or a bare number: seconds since boot, summarised in two units."""
    fields = stdout.split()
    if len(fields) not in (1, 2):
        raise ValueError("expected seconds, and optionally idle seconds")
    seconds = _number(fields[0])  # /proc/uptime's second field is idle time
    if seconds < 0:
        raise ValueError("negative uptime")
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    counts = [(days, "day"), (hours, "hour"), (rest // 60, "minute")]
    first = next((i for i, (count, _) in enumerate(counts) if count), None)
    if first is None:
        return Parsed(data={"seconds": seconds}, summary=f"up {_plural(whole, 'second')}")
    shown = [_plural(count, unit) for count, unit in counts[first : first + 2] if count]
    return Parsed(data={"seconds": seconds}, summary="up " + ", ".join(shown))


def parse_systemd_show(stdout: str) -> Parsed:
    """``systemctl show --property=LoadState,ActiveState,SubState,Description``."""
    values = _key_values(stdout)
    load, active, sub = values["LoadState"], values["ActiveState"], values["SubState"]
    if not (load and active and sub):
        raise ValueError("empty unit state")
    data = {
        "load_state": load,
        "active_state": active,
        "sub_state": sub,
        "description": values.get("Description", ""),
    }
    if load == "not-found":
        summary = "not installed (LoadState=not-found)"
    elif load == "loaded":
        summary = f"{active} ({sub})"
    else:  # masked, bad-setting, error: the active state alone would hide why
        summary = f"{active} ({sub}), LoadState={load}"
    return Parsed(data=data, summary=summary)


def parse_ps(stdout: str) -> Parsed:
    """``ps -eo pid,user,pcpu,pmem,comm --sort=-pcpu``: the count and the ten busiest.

    ``ps`` itself is left out of ``top``: its CPU share is its CPU time over a few milliseconds
    of life, often 100%, and says nothing about the host.
    """
    lines = _lines(stdout)
    if not lines or lines[0].split()[0] != "PID":
        raise ValueError("no ps header")
    rows = [_ps_row(line) for line in lines[1:]]
    top = [row for row in rows if row["command"] != "ps"][:10]
    summary = _plural(len(rows), "process", "processes")
    if top:
        busiest = ", ".join(f"{r['command']} {r['cpu_percent']:.1f}%" for r in top[:3])
        summary += f"; top CPU: {busiest}"
    return Parsed(data={"count": len(rows), "top": top}, summary=summary)


def _ps_row(line: str) -> dict[str, Any]:
    pid, user, cpu, mem, command = line.split(None, 4)  # comm may hold spaces
    return {
        "pid": int(pid),
        "user": user,
        "cpu_percent": _number(cpu),
        "mem_percent": _number(mem),
        "command": command,
    }


_SS_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "mptcp", "raw"})


def parse_ss_listen(stdout: str) -> Parsed:
    """``ss -Htuln``: listening sockets; the summary lists each port/protocol once, by port."""
    rows = [row for row in map(_ss_row, _lines(stdout)) if row is not None]
    ports = sorted({(row["port"], row["protocol"]) for row in rows})
    if not ports:
        return Parsed(data=rows, summary="not listening on any TCP or UDP port")
    shown = ", ".join(f"{port}/{protocol}" for port, protocol in ports[:20])
    more = f" and {len(ports) - 20} more" if len(ports) > 20 else ""
    return Parsed(data=rows, summary=f"listening on {shown}{more}")


def _ss_row(line: str) -> dict[str, Any] | None:
    fields = line.split()
    if len(fields) < 5 or fields[0] not in _SS_PROTOCOLS:
        raise ValueError(f"not an ss row: {line!r}")
    address, sep, port = fields[4].rpartition(":")
    if not sep:
        raise ValueError(f"no port in {fields[4]!r}")
    if port == "*":
        return None  # no local port: nothing a person could connect to
    return {
        "protocol": fields[0],
        "state": fields[1],
        "address": address.replace("[", "").replace("]", ""),
        "port": int(port),
    }


def parse_os_release(stdout: str) -> Parsed:
    """``/etc/os-release``: its variables with shell quoting removed."""
    data = {
        key: _unquote(value)
        for key, value in _key_values(stdout).items()
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*", key)
    }
    name = f"{data.get('NAME', '')} {data.get('VERSION', '')}".strip()
    summary = data.get("PRETTY_NAME") or name or data.get("ID")
    if not summary:
        raise ValueError("no PRETTY_NAME, NAME or ID")
    return Parsed(data=data, summary=summary)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return re.sub(r"\\([\\$\"`])", r"\1", value)


_PING_COUNTS = re.compile(
    r"(\d+) packets transmitted, (\d+) (?:packets )?received,.*?([\d.]+)% packet loss"
)
_PING_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/mdev)? = [\d.]+/([\d.]+)/")


def parse_ping(stdout: str) -> Parsed:
    """``ping -c N``'s statistics, from iputils or BusyBox."""
    counts = _PING_COUNTS.search(stdout)
    if counts is None:
        raise ValueError("no ping statistics")
    transmitted, received, loss = int(counts[1]), int(counts[2]), _number(counts[3])
    rtt = _PING_RTT.search(stdout)
    average = _number(rtt[1]) if rtt else None
    # "0.5% loss" must not round to "0% loss"
    summary = f"{received}/{transmitted} replies, {f'{loss:.1f}'.removesuffix('.0')}% loss"
    if average is not None:
        summary += f", avg {average:.2f} ms"
    data = {"transmitted": transmitted, "received": received, "loss_percent": loss}
    return Parsed(data={**data, "rtt_avg_ms": average}, summary=summary)


def parse_http_status(stdout: str) -> Parsed:
    """``curl -w '%{http_code} %{time_total}'``; status 0 means no HTTP response at all."""
    status_text, seconds_text = stdout.split()
    status, seconds = int(status_text), _number(seconds_text)
    if status == 0:
        summary = f"no HTTP response after {seconds:.2f} s"
    else:
        summary = f"HTTP {status} in {seconds:.2f} s"
    return Parsed(data={"status": status, "seconds": seconds}, summary=summary)


# -- Windows ---------------------------------------------------------------------------------

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


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"not a name: {value!r}")
    return value


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
        drive, use_percent = _text(record["Name"]), _percent(used, used + free)
        rows.append(
            {"drive": drive, "used_bytes": used, "free_bytes": free, "use_percent": use_percent}
        )
        disks.append((f"{drive}:", use_percent, free))
    return Parsed(data=rows, summary=_disk_summary(disks, "C:", "drive"))


def parse_win_memory(stdout: str) -> Parsed:
    """``Win32_OperatingSystem`` memory sizes, which Windows gives in KB."""
    record = _records(stdout)[0]
    total = int(_json_number(record["TotalVisibleMemorySize"])) * 1024
    return _memory(total, int(_json_number(record["FreePhysicalMemory"])) * 1024, {})


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
    name = _text(records[0]["Name"])
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
            "command": _text(r["ProcessName"]),
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


# -- the registry and the entry point ---------------------------------------------------------

PARSERS: dict[str, Parser] = {
    "df": parse_df,
    "free": parse_free,
    "loadavg": parse_loadavg,
    "uptime": parse_uptime,
    "systemd_show": parse_systemd_show,
    "ps": parse_ps,
    "ss_listen": parse_ss_listen,
    "os_release": parse_os_release,
    "ping": parse_ping,
    "http_status": parse_http_status,
    "win_disk": parse_win_disk,
    "win_memory": parse_win_memory,
    "win_cpu": parse_win_cpu,
    "win_uptime": parse_uptime,  # a bare number of seconds reads like /proc/uptime
    "win_service": parse_win_service,
    "win_processes": parse_win_processes,
}


def parse_output(parser: str | None, stdout: str) -> Parsed:
    """Parse ``stdout`` with the named parser; never raises.

    With no parser, an unknown one, or output the parser does not recognise, the data is the last
    FALLBACK_LINES lines of text and the summary the last non-empty line.
    """
    # Lone surrogates from a lenient decode could not be stored as UTF-8.
    stdout = stdout.encode("utf-8", "replace").decode("utf-8")
    func = PARSERS.get(parser) if parser is not None else None
    if func is None:
        return _fallback(stdout, prefix="")
    try:
        parsed = func(stdout)
    except _MALFORMED as exc:
        logger.debug("parser %s did not recognise the output: %s", parser, exc)
    except Exception:  # a bug in a parser must not lose the command's output
        logger.exception("parser %s failed", parser)
    else:
        return Parsed(data=parsed.data, summary=_one_line(parsed.summary))
    return _fallback(stdout, prefix="unrecognised output: ")


def _fallback(stdout: str, prefix: str) -> Parsed:
    lines = stdout.rstrip().splitlines()
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    summary = _one_line(prefix + last) if last else "no output"
    return Parsed(data={"text": "\n".join(lines[-FALLBACK_LINES:])}, summary=summary)


def _one_line(text: str) -> str:
    # Names taken from output may hold control characters or run long.
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1] + "…"
