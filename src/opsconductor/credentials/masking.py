"""Known secret values, and the forms tools print them in, replaced by `***` in output.

A `Masker` is built once per run from every secret of the vault. It masks

* each secret as it is, and as URLs, JSON and base64 show it (base64 at any of the three byte
  alignments, so a password inside `user:password` encoded for HTTP Basic is masked too);
* each line of a private key's body, and any run of at least 16 base64 characters that is a
  piece of a key body: the key rewrapped at another width, or one line of it quoted.

Whole texts are masked with `masker(text)`; a live stream with `masker.stream()`, which holds
back only the tail that could still become a secret, so that the concatenation of what it gives
out equals `masker(whole text)`. Where two secrets overlap, the span they cover together becomes
one `***`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from opsconductor.credentials.models import Secret

MASK = "***"
# Shorter values would hide ordinary words; a secret that short is no secret anyway.
MIN_SECRET_CHARS = 4
_MIN_BASE64_CHARS = 8
# A random run this long matches a piece of a key body by chance with negligible probability.
MIN_KEY_RUN_CHARS = 16
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]+=*")
_RUN_CONTINUES = re.compile(r"[A-Za-z0-9+/]*")
_RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

Span = tuple[int, int]


class Masker:
    """Compiled once for a set of secrets, then applied to any number of texts and streams."""

    def __init__(
        self,
        values: Iterable[str] = (),
        *,
        literals: Iterable[str] = (),
        key_bodies: Iterable[str] = (),
    ) -> None:
        """`values` are masked in every encoding, `literals` only as they are, and any base64
        run of at least 16 characters that is a piece of one of `key_bodies`."""
        variants = {v for v in literals if len(v) >= MIN_SECRET_CHARS}
        for value in values:
            if value and len(value) >= MIN_SECRET_CHARS:
                variants.update(_encodings(value))
        self._variants = _Trie(variants)
        self._keys = _KeyBodies(key_bodies)
        # The longest secret: no more than this is ever held back from a stream.
        self.window = max(map(len, variants), default=0)

    @classmethod
    def of(cls, secrets: Iterable[Secret]) -> Masker:
        """A masker for every value of each secret (password, passphrase, key and its lines)."""
        values: list[str] = []
        lines: list[str] = []
        bodies: list[str] = []
        for secret in secrets:
            values += [v for v in (secret.password, secret.passphrase) if v]
            if secret.private_key:
                # Its lines, not the whole file: BEGIN and END lines are no secret, and the
                # longest secret sets how much of a live stream may be held back.
                body = _body_lines(secret.private_key)
                lines += body  # a line is masked even glued to other text, or shorter than 16
                bodies.append("".join(body))
        return cls(values, literals=lines, key_bodies=bodies)

    def __call__(self, text: str) -> str:
        if self.empty or not text:
            return text
        return self._split(text, after_run=False, final=True)[0]

    @property
    def empty(self) -> bool:
        return self._variants.empty and self._keys.empty

    def stream(self) -> StreamMasker:
        return StreamMasker(self)

    def __repr__(self) -> str:
        return "Masker(***)"

    def _split(self, text: str, *, after_run: bool, final: bool) -> tuple[str, int]:
        """The masked part of `text` that no later text can change, and where it ends.

        `after_run`: `text` continues a base64 run of earlier text that was not a key's."""
        spans = self._variants.spans(text)
        key_spans, open_run = self._keys.spans(text, after_run=after_run, final=final)
        merged = _merge(spans + key_spans)
        cut = len(text)
        if not final:
            cut = self._variants.tail_start(text, max(0, len(text) - self.window + 1))
            if open_run is not None:
                cut = min(cut, open_run)
            for start, end in merged:
                if start < cut < end:
                    cut = start
                    break
        return _render(text, cut, merged), cut


class StreamMasker:
    """Masks a text that arrives in pieces: `feed` each piece, `flush` at the end.

    What it gives out, joined, equals the masker applied to the whole text: a secret split
    across pieces is masked whole, and no piece of it is given out before it is known."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._pending = ""
        self._after_run = False

    def feed(self, text: str) -> str:
        if self._masker.empty:
            return text
        self._pending += text
        return self._emit(final=False)

    def flush(self) -> str:
        return self._emit(final=True) if self._pending else ""

    def _emit(self, *, final: bool) -> str:
        text = self._pending
        masked, cut = self._masker._split(text, after_run=self._after_run, final=final)
        if cut:
            # A cut inside a base64 run only ever falls in a run known not to be a key's.
            self._after_run = text[cut - 1] in _RUN_CHARS
            self._pending = text[cut:]
        return masked

    def __repr__(self) -> str:
        return "StreamMasker(***)"


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each known secret value (at least 4 characters) replaced by `***`."""
    return Masker(secrets)(text)


class _Node:
    __slots__ = ("edges", "end")

    def __init__(self) -> None:
        self.edges: dict[str, tuple[str, _Node]] = {}  # first character -> (label, child)
        self.end = False


class _Trie:
    """The literal secrets as a radix trie: one regular expression that finds the longest
    secret starting at each position in time independent of how many secrets there are, and
    a walk that tells whether a text ends with the beginning of a secret."""

    def __init__(self, words: Iterable[str]) -> None:
        self._root = _Node()
        for word in words:
            self._insert(word)
        body = _regex(self._root)
        self._pattern = re.compile(f"(?=({body}))") if body else None

    @property
    def empty(self) -> bool:
        return self._pattern is None

    def _insert(self, word: str) -> None:
        node, i = self._root, 0
        while i < len(word):
            edge = node.edges.get(word[i])
            if edge is None:
                child = _Node()
                node.edges[word[i]] = (word[i:], child)
                node = child
                break
            label, child = edge
            common = _common_prefix(label, word[i:])
            if common < len(label):  # split the edge where the word leaves it
                middle = _Node()
                middle.edges[label[common]] = (label[common:], child)
                node.edges[word[i]] = (label[:common], middle)
                child = middle
            node, i = child, i + common
        node.end = True

    def spans(self, text: str) -> list[Span]:
        if self._pattern is None:
            return []
        return [(m.start(), m.start() + len(m.group(1))) for m in self._pattern.finditer(text)]

    def tail_start(self, text: str, since: int) -> int:
        """Where the longest tail of `text` that starts at or after `since` and is the beginning
        of a secret starts; `len(text)` when there is none."""
        for start in range(since, len(text)):
            if text[start] in self._root.edges and self._begins_secret(text, start):
                return start
        return len(text)

    def _begins_secret(self, text: str, i: int) -> bool:
        node = self._root
        while i < len(text):
            edge = node.edges.get(text[i])
            if edge is None:
                return False
            label, node = edge
            if not text.startswith(label, i):
                return len(text) - i < len(label) and label.startswith(text[i:])
            i += len(label)
        return True


def _regex(node: _Node) -> str:
    if not node.edges:
        return ""
    edges = sorted(node.edges.items())
    body = _alternatives(
        [(first, re.escape(label) + _regex(child)) for first, (label, child) in edges]
    )
    # Greedy: a longer secret through this node is preferred to the one ending here.
    return f"(?:{body})?" if node.end else body


_FEW_BRANCHES = 8


def _alternatives(branches: list[tuple[str, str]]) -> str:
    """Branches that each start with a different character. Many are split in halves, each
    behind a test of its first characters, so that a position costs a few tests rather than
    one per branch (the regular expression engine tries branches one after the other)."""
    if len(branches) == 1:
        return branches[0][1]
    if len(branches) <= _FEW_BRANCHES:
        return "(?:" + "|".join(pattern for _, pattern in branches) + ")"
    half = len(branches) // 2
    left, right = branches[:half], branches[half:]
    firsts = "".join(re.escape(first) for first, _ in left)
    return f"(?:(?=[{firsts}]){_alternatives(left)}|{_alternatives(right)})"


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class _KeyBodies:
    """Private key bodies without their whitespace; a base64 run that is a piece of one is a
    piece of a key, however the key was wrapped."""

    def __init__(self, bodies: Iterable[str]) -> None:
        kept = [b for b in bodies if len(b) >= MIN_KEY_RUN_CHARS]
        self._joined = "\n".join(kept)
        n = MIN_KEY_RUN_CHARS
        # Every piece of a body starts with one of these: a quick refusal for most runs.
        self._starts = frozenset(b[i : i + n] for b in kept for i in range(len(b) - n + 1))

    @property
    def empty(self) -> bool:
        return not self._joined

    def _holds(self, piece: str) -> bool:
        if len(piece) >= MIN_KEY_RUN_CHARS and piece[:MIN_KEY_RUN_CHARS] not in self._starts:
            return False
        return piece in self._joined

    def spans(self, text: str, *, after_run: bool, final: bool) -> tuple[list[Span], int | None]:
        """Spans of the runs that are pieces of a key, and where a run starts that the text
        ends in and that may still become one (None if there is none)."""
        if self.empty:
            return [], None
        continued = _RUN_CONTINUES.match(text) if after_run else None
        start = continued.end() if continued else 0
        found: list[Span] = []
        for run in _BASE64_RUN.finditer(text, start):
            core = run.group().rstrip("=")
            if run.end() == len(text) and not final:
                return found, run.start() if self._holds(core) else None
            if len(core) >= MIN_KEY_RUN_CHARS and self._holds(core):
                found.append(run.span())
        return found, None


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans joined; spans that only touch stay apart (each is one `***`)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, cut: int, spans: list[Span]) -> str:
    parts: list[str] = []
    at = 0
    for start, end in spans:
        if start >= cut:
            break
        parts += [text[at:start], MASK]
        at = end
    parts.append(text[at:cut])
    return "".join(parts)


def _body_lines(private_key: str) -> list[str]:
    """The base64 lines of a key file: not its BEGIN/END lines nor PEM headers (`Proc-Type:`)."""
    lines = (line.strip() for line in private_key.splitlines())
    return [line for line in lines if line and not line.startswith("-----") and ":" not in line]


def _encodings(value: str) -> set[str]:
    """The value as it is, and as URLs, JSON and base64 (`echo … | base64`) would show it."""
    found = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    found |= _base64_forms(value.encode())
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}


def _base64_forms(data: bytes) -> set[str]:
    """The base64 characters that depend on `data` alone, wherever it sits in what is encoded:
    whole groups of three bytes encode the same whatever precedes or follows them."""
    forms = set()
    for skip in range(3):  # the bytes of `data` that share a group with what precedes it
        usable = data[skip:]
        usable = usable[: 3 * (len(usable) // 3)]
        encoded = base64.b64encode(usable).decode()
        if len(encoded) >= _MIN_BASE64_CHARS:
            forms.add(encoded)
    return forms
