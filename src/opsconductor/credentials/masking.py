"""Known secret values, and their common encodings, replaced by `***` in captured output."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from opsconductor.credentials.models import Secret, secret_values

MASK = "***"
# Shorter values would hide ordinary words; a secret that short is no secret anyway.
MIN_SECRET_CHARS = 4
_MIN_BASE64_CHARS = 8


class Masker:
    """Compiled once for a set of secrets, then applied to any number of texts.

    Apply it to whole lines or the whole captured text: a secret split across two chunks of a
    stream is in neither chunk whole."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants: set[str] = set()
        for value in secrets:
            if value and len(value) >= MIN_SECRET_CHARS:
                variants.update(_encodings(value))
        # Longest first, so that a secret containing another is masked whole.
        ordered = sorted(variants, key=lambda v: (-len(v), v))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def __repr__(self) -> str:
        return "Masker(***)"


class SecretMask:
    """Masks every secret a connector has opened so far; it grows as credentials are opened,
    and every text is masked with all of them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._masker = Masker(())

    def add(self, secret: Secret) -> None:
        new = set(secret_values(secret)) - self._values
        if new:
            self._values |= new
            self._masker = Masker(self._values)

    def __call__(self, text: str) -> str:
        return self._masker(text)

    def __repr__(self) -> str:
        return "SecretMask(***)"


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each known secret value (at least 4 characters) replaced by `***`."""
    return Masker(secrets)(text)


def _encodings(value: str) -> set[str]:
    """The value as it is, and as URLs, JSON and base64 (`echo … | base64`) would show it."""
    found = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    encoded = base64.b64encode(value.encode()).decode()
    # Whole groups of three bytes encode the same whatever follows them (a newline, say).
    prefix = encoded[: 4 * (len(value.encode()) // 3)]
    if len(prefix) >= _MIN_BASE64_CHARS:
        found.add(prefix)
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}
