"""Captured command output, capped so that a chatty command cannot fill memory or the store."""

from __future__ import annotations

TRUNCATION_MARKER = "\n[output truncated at {limit} bytes]\n"


class CappedOutput:
    """Keeps at most `limit` bytes and remembers that it dropped the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False

    def add(self, chunk: bytes) -> bytes:
        room = self.limit - self.size
        if room <= 0:
            self.truncated = self.truncated or bool(chunk)
            return b""
        kept = chunk[:room]
        self.truncated = len(kept) < len(chunk)
        self.chunks.append(kept)
        self.size += len(kept)
        return kept

    def text(self) -> str:
        body = b"".join(self.chunks).decode("utf-8", errors="replace")
        return body + TRUNCATION_MARKER.format(limit=self.limit) if self.truncated else body
