"""Linux and POSIX output: jc reads what it covers, and these functions summarise its data.

jc is lenient: output it does not recognise often comes back as an empty list or with fields set
to None. Each parser here checks the fields it uses, so such output still falls back to text.
"""

from __future__ import annotations

import re
from typing import Any

from opsconductor.catalog.parsers import jc_bridge
from opsconductor.catalog.parsers.base import (
    Parsed,
    disk_summary,
    lines,
    memory,
    number,
    percent,
    plural,
    text,
    uptime_summary,
    whole,
)

# Sources whose fullness means nothing to a person (kept in data, left out of summaries).
PSEUDO_FILESYSTEMS = frozenset({"tmpfs", "devtmpfs", "overlay", "squashfs", "udev", "none"})


def parse_df(stdout: str) -> Parsed:
    """``df -P -k``: all filesystems in data; summaries skip pseudo and loop filesystems."""
    # jc's raw rows: its conversion of the sizes costs ~7 ms a host, whole() reads them as is
    rows = [_df_row(row) for row in jc_bridge.run("df", stdout, raw=True)]
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
    return Parsed(data=rows, summary=disk_summary(disks, "/", "filesystem"))


def _df_row(row: dict[str, Any]) -> dict[str, Any]:
    # jc names the size column after df's header: "1024_blocks", "512_blocks"
    sizes = [key for key in row if re.fullmatch(r"[0-9]+_blocks", key)]
    if len(sizes) != 1:
        raise ValueError(f"no block size in {sorted(row)}")
    block = int(sizes[0].partition("_")[0])
    capacity = row.get("capacity")  # "24%"; df prints "-" for a filesystem without blocks
    return {
        "filesystem": text(row["filesystem"]),
        "mount": text(row["mounted_on"]),
        "size_bytes": whole(row[sizes[0]]) * block,
        "used_bytes": whole(row["used"]) * block,
        "available_bytes": whole(row["available"]) * block,
        "use_percent": 0 if capacity in (None, "-") else whole(capacity.rstrip("%")),
    }


def parse_free(stdout: str) -> Parsed:
    """``free -b``; ``used_percent`` is of memory not available, which is what people mean."""
    rows = {text(row["type"]).lower(): row for row in jc_bridge.run("free", stdout)}
    mem, swap = rows["mem"], rows.get("swap", {})
    free = whole(mem["free"])
    available = mem.get("available")
    if available is None:  # procps before 3.3.10 prints no "available" column
        cache = mem.get("buff_cache")
        if cache is None:
            cache = whole(mem.get("buffers", 0)) + whole(mem.get("cached", 0))
        available = free + whole(cache)
    extra = {
        "used_bytes": whole(mem["used"]),
        "free_bytes": free,
        "swap_total_bytes": whole(swap.get("total", 0)),
        "swap_used_bytes": whole(swap.get("used", 0)),
    }
    return memory(whole(mem["total"]), whole(available), extra)


def parse_loadavg(stdout: str) -> Parsed:
    """``/proc/loadavg``: load averages and process counts."""
    values = jc_bridge.run("proc_loadavg", stdout)
    loads = [number(values[key]) for key in ("load_1m", "load_5m", "load_15m")]
    data = dict(zip(("load1", "load5", "load15"), loads, strict=True))
    running, total = whole(values["running"]), whole(values["available"])
    shown = " / ".join(f"{v:.2f}" for v in loads)
    return Parsed(
        data={**data, "running": running, "total_processes": total},
        summary=f"load {shown} (1/5/15 min), {total} processes",
    )


def parse_uptime(stdout: str) -> Parsed:
    """``/proc/uptime``: seconds since boot (its second field, idle time, is left out)."""
    return uptime_summary(number(jc_bridge.run("proc_uptime", stdout)["up_time"]))


def _key_values(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in lines(text):
        key, sep, value = line.partition("=")
        if sep and key and not key.startswith("#"):
            pairs[key.strip()] = value.strip()
    return pairs


def parse_systemd_show(stdout: str) -> Parsed:
    """``systemctl show --property=LoadState,ActiveState,SubState,Description``.

    jc has no parser for ``systemctl show``; its INI parser would strip quotes and read ``;``
    as a comment, which systemd's plain ``Key=value`` lines do not mean.
    """
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
    head = lines(stdout)[:1]
    if not head or head[0].split()[0] != "PID":  # jc takes any first line for a header
        raise ValueError("no ps header")
    rows = [_ps_row(row) for row in jc_bridge.run("ps", stdout)]
    top = [row for row in rows if row["command"] != "ps"][:10]
    summary = plural(len(rows), "process", "processes")
    if top:
        busiest = ", ".join(f"{r['command']} {r['cpu_percent']:.1f}%" for r in top[:3])
        summary += f"; top CPU: {busiest}"
    return Parsed(data={"count": len(rows), "top": top}, summary=summary)


def _ps_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "pid": whole(row["pid"]),
        "user": text(row["user"]),
        "cpu_percent": number(row["cpu_percent"]),
        "mem_percent": number(row["mem_percent"]),
        "command": text(row["command"]),
    }


_SS_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "mptcp", "raw"})


def parse_ss_listen(stdout: str) -> Parsed:
    """``ss -Htuln``: listening sockets; the summary lists each port/protocol once, by port.

    jc's ``ss`` parser finds its columns from the header line, which ``-H`` leaves out.
    """
    rows = [row for row in map(_ss_row, lines(stdout)) if row is not None]
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
        key: _unescape(value)
        for key, value in jc_bridge.run("os_release", stdout).items()
        if isinstance(value, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key)
    }
    name = f"{data.get('NAME', '')} {data.get('VERSION', '')}".strip()
    summary = data.get("PRETTY_NAME") or name or data.get("ID")
    if not summary:
        raise ValueError("no PRETTY_NAME, NAME or ID")
    return Parsed(data=data, summary=summary)


def _unescape(value: str) -> str:
    # jc removes the quotes but keeps the backslash escapes os-release(5) allows inside them
    return re.sub(r"\\([\\$\"`])", r"\1", value)


def parse_ping(stdout: str) -> Parsed:
    """``ping -c N``'s statistics, from iputils or BusyBox."""
    stats = jc_bridge.run("ping", stdout)
    transmitted, received = whole(stats["packets_transmitted"]), whole(stats["packets_received"])
    loss = stats.get("packet_loss_percent")
    if loss is None:  # jc reads no loss from a line that also counts errors ("+2 errors")
        loss = percent(max(transmitted - received, 0), transmitted)
    loss = number(loss)
    average = stats.get("round_trip_ms_avg")
    average = None if average is None else number(average)
    # "0.5% loss" must not round to "0% loss"
    summary = f"{received}/{transmitted} replies, {f'{loss:.1f}'.removesuffix('.0')}% loss"
    if average is not None:
        summary += f", avg {average:.2f} ms"
    data = {"transmitted": transmitted, "received": received, "loss_percent": loss}
    return Parsed(data={**data, "rtt_avg_ms": average}, summary=summary)


def parse_http_status(stdout: str) -> Parsed:
    """``curl -w '%{http_code} %{time_total}'``; status 0 means no HTTP response at all.

    A format we chose ourselves, so no library knows it.
    """
    status_text, seconds_text = stdout.split()
    status, seconds = int(status_text), number(seconds_text)
    if status == 0:
        summary = f"no HTTP response after {seconds:.2f} s"
    else:
        summary = f"HTTP {status} in {seconds:.2f} s"
    return Parsed(data={"status": status, "seconds": seconds}, summary=summary)
