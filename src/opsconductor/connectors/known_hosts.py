"""The host keys OpsConductor trusts, in OpenSSH known_hosts format: strict by default."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh


def host_pattern(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(frozen=True)
class TrustedKey:
    pattern: str
    key: asyncssh.SSHKey

    @property
    def fingerprint(self) -> str:
        return self.key.get_fingerprint("sha256")


class KnownHosts:
    """A known_hosts file shared by the connectors of one process; appends are serialised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._parsed: tuple[int, asyncssh.SSHKnownHosts] | None = None

    def keys_for(self, address: str, port: int) -> list[asyncssh.SSHKey]:
        known = self._known()
        if known is None:
            return []
        trusted, _, _, _, _, _, _ = known.match(address, address, port)
        return list(trusted)

    def _known(self) -> asyncssh.SSHKnownHosts | None:
        """The parsed file, parsed again only when it changed (a fan-out asks once per host)."""
        try:
            modified = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if self._parsed is None or self._parsed[0] != modified:
            self._parsed = (modified, asyncssh.read_known_hosts(str(self.path)))
        return self._parsed[1]

    def policy(self, address: str, port: int) -> asyncssh.SSHKnownHosts | None:
        """What asyncssh checks against: only this host's entries (None when there are none)."""
        keys = self.keys_for(address, port)
        if not keys:
            return None
        pattern = host_pattern(address, port)
        lines = "".join(f"{pattern} {k.export_public_key().decode().strip()}\n" for k in keys)
        return asyncssh.import_known_hosts(lines)

    async def trust(self, address: str, port: int, key: asyncssh.SSHKey) -> TrustedKey:
        """Record a key seen for the first time (trust on first use)."""
        entry = TrustedKey(host_pattern(address, port), key)
        line = f"{entry.pattern} {key.export_public_key().decode().strip()}\n"
        async with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(line)
        return entry
