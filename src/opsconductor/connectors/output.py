"""Captured command output, capped so that a chatty command cannot fill memory or the store,
and the same output given live to followers, masked."""

from __future__ import annotations

import codecs

from opsconductor.connectors.base import OutputCallback
from opsconductor.credentials.masking import Masker

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


class LiveOutput:
    """A command's output for its live followers, as its bytes arrive: decoded incrementally
    (a character split across two reads stays whole) and masked with a carry-over (a secret
    split across two reads is masked whole). Joined, what `on_output` is given equals the
    masked whole output; `close` gives out the tail held back."""

    def __init__(self, masker: Masker, on_output: OutputCallback | None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._masked = masker.stream()
        self._on_output = on_output
        self._closed = False

    async def add(self, data: bytes) -> None:
        if self._on_output is not None and not self._closed:
            await self._give(self._masked.feed(self._decoder.decode(data)))

    async def close(self) -> None:
        if self._on_output is None or self._closed:
            return
        self._closed = True
        await self._give(self._masked.feed(self._decoder.decode(b"", final=True)))
        await self._give(self._masked.flush())

    async def _give(self, text: str) -> None:
        if text and self._on_output is not None:
            await self._on_output(text)
