"""Splitting a request into words and recognising the shapes ops words come in."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

_TOKEN = re.compile(r"[\w./:@%+'*-]+")
_TRAILING = ".,:;?!'\""
_CLAUSE_END = ".,:;?!"
_CONTRACTIONS = frozenset(
    {"what's", "let's", "that's", "it's", "there's", "here's", "who's", "where's", "how's"}
)
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
IP_PREFIX = re.compile(r"^\d{1,3}(\.\d{1,3}){1,2}\.?(\.\*|\.x)?$")
CIDR = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})/(8|16|24)$")
VERSION = re.compile(r"^v?\d+(\.\d+){1,3}([-+][0-9a-z.]+)?$")
NUMBER = re.compile(r"^\d{1,9}$")
URL = re.compile(r"^(https?://)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?/\S*$")
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$")
# web-01, db-prod-03, k8s-cluster-01, web01: names people give machines.
HOST_SHAPED = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*-?\d+[a-z]?$")
NAME_SHAPED = re.compile(r"^[a-z0-9][a-z0-9@._:-]{0,127}$", re.IGNORECASE)
PATH = re.compile(r"^/[\w./-]*$")
# Only plain words are candidates for typo correction: names with digits or dashes never are.
PLAIN_WORD = re.compile(r"^[a-z]+$")


class TokenKind(StrEnum):
    """What one word of a request turned out to be; every word starts as WORD."""

    WORD = "word"  # not understood as anything yet
    CONSUMED = "consumed"  # part of a phrase another token stands for
    ASSET = "asset"  # one inventory asset (value: its name)
    ASSET_AMBIGUOUS = "asset_ambiguous"  # a handle several assets share
    UNKNOWN_HOST = "unknown_host"  # shaped like a host, absent from the inventory
    IP_PREFIX = "ip_prefix"  # an address range (value: the text its addresses start with)
    GROUP = "group"  # the last word of a group phrase (value: its description)
    QUALIFIER = "qualifier"  # a word that narrows a group (read into its filter)
    PATH = "path"
    DESTINATION = "destination"  # a host or URL to reach, not a machine to run on
    VERSION = "version"
    NUMBER = "number"
    SERVICE = "service"
    APPLICATION = "application"
    DATABASE = "database"
    PROCESS = "process"
    VALUE = "value"  # a value for a parameter the catalog cues (`slot.words_before/after`)
    PLACEHOLDER = "placeholder"  # a {slot} of a catalog example


@dataclass
class Token:
    """One word of the request; `norm` is the word as vocabulary reads it (slang expanded,
    a typo corrected, a phrase folded into its first word); `kind` and `value` are filled in
    as it is understood."""

    text: str  # as written (stripped of trailing punctuation)
    lower: str
    norm: str = ""
    kind: TokenKind = TokenKind.WORD
    value: str = ""
    ends_clause: bool = False  # punctuation followed it: "…at 87%. Need to…"

    def __post_init__(self) -> None:
        if not self.norm:
            self.norm = self.lower

    @property
    def free(self) -> bool:
        return self.kind is TokenKind.WORD


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        raw = match.group()
        word = raw.strip(_TRAILING)
        if word.startswith("'"):
            word = word.lstrip("'")
        if word.lower().endswith("'s") and word.lower() not in _CONTRACTIONS:
            word = word[:-2]  # "web-01's CPU": the host, not a word of its own
        following = text[match.end() : match.end() + 1]
        ends = any(c in _CLAUSE_END for c in raw[len(raw.rstrip(_TRAILING)) :] + following)
        if word:
            tokens.append(Token(text=word, lower=word.lower(), ends_clause=ends))
    return tokens


def mark(token: Token, kind: TokenKind, value: str | None = None) -> None:
    token.kind = kind
    token.value = token.text if value is None else value


def is_ip(word: str) -> bool:
    if not IPV4.match(word):
        return False
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def ip_prefix(word: str) -> str | None:
    """'192.168' or '10.0.1.0/24' → the text every address in that range starts with."""
    cidr = CIDR.match(word)
    if cidr:
        octets = cidr.group(1).split(".")[: int(cidr.group(2)) // 8]
        return ".".join(octets) + "."
    if IP_PREFIX.match(word):
        base = word.removesuffix(".*").removesuffix(".x").rstrip(".")
        return base + "."
    return None
