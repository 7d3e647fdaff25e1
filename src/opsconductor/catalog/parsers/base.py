"""What every parser shares: the result type and the helpers that turn numbers into summaries.

Summaries use binary units with the labels ``df -h`` and ``free -h`` print (1 GB = 1024³ bytes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Parsed:
    """Parsed output of one host: JSON-serialisable ``data`` and a one-line ``summary``;
    ``recognised`` is False when the parser did not understand the output and ``data`` is
    only its text."""

    data: Any
    summary: str
    recognised: bool = True


Parser = Callable[[str], Parsed]

FULL_PERCENT = 80  # a disk at least this full is named in a disk summary
_SIZE_UNITS = (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def number(value: object) -> float:
    """A finite float from text (a decimal comma allowed) or from a number another parser read."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"not a number: {value!r}")
    # PowerShell and old curl may print a decimal comma.
    result = float(value.replace(",", ".")) if isinstance(value, str) else float(value)
    if not math.isfinite(result):  # NaN and infinity parse as floats but are not JSON
        raise ValueError(f"not a finite number: {value!r}")
    return result


def whole(value: object) -> int:
    """A whole number from text or from a number another parser read."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"not a whole number: {value!r}")
    return int(value)


def text(value: object) -> str:
    """A non-empty string, such as a name another parser read."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"not a name: {value!r}")
    return value


def percent(part: float, total: float) -> float:
    return round(100 * part / total, 1) if total else 0.0


def size(size_bytes: float) -> str:
    for label, unit in _SIZE_UNITS:
        if size_bytes >= unit:
            return f"{size_bytes / unit:.1f} {label}"
    return f"{size_bytes:.0f} bytes"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def disk_summary(disks: list[tuple[str, float, int]], primary: str, noun: str) -> str:
    """Name ``primary`` and each disk at least FULL_PERCENT full; disks are (label, %, free)."""
    if not disks:
        return f"no {noun}s with a size"
    shown = sorted(
        (d for d in disks if d[0] == primary or d[1] >= FULL_PERCENT),
        key=lambda d: (d[0] != primary, -d[1], d[0]),
    )
    if not shown:
        return f"{plural(len(disks), noun)}, all under {FULL_PERCENT}% full"
    return "; ".join(f"{label} is {use:.0f}% full, {size(free)} free" for label, use, free in shown)


def memory(total: int, available: int, extra: dict[str, int]) -> Parsed:
    """Memory data whose ``used_percent`` counts all memory that is not available."""
    if total <= 0:
        raise ValueError("total memory is not positive")
    used_percent = percent(total - available, total)
    data = {"total_bytes": total, "available_bytes": available, **extra}
    summary = f"memory {used_percent:.0f}% used, {size(available)} available of {size(total)}"
    return Parsed(data={**data, "used_percent": used_percent}, summary=summary)


def uptime_summary(seconds: float) -> Parsed:
    """Seconds since boot, summarised in the two largest units that are not zero."""
    if seconds < 0:
        raise ValueError("negative uptime")
    whole_seconds = int(seconds)
    days, rest = divmod(whole_seconds, 86400)
    hours, rest = divmod(rest, 3600)
    counts = [(days, "day"), (hours, "hour"), (rest // 60, "minute")]
    first = next((i for i, (count, _) in enumerate(counts) if count), None)
    if first is None:
        return Parsed(data={"seconds": seconds}, summary=f"up {plural(whole_seconds, 'second')}")
    shown = [plural(count, unit) for count, unit in counts[first : first + 2] if count]
    return Parsed(data={"seconds": seconds}, summary="up " + ", ".join(shown))
