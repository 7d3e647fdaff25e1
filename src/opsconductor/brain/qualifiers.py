"""The pieces group reading is made of: qualifier kinds, what one word reads as, and the
record of what was read (`GroupReading`) or could not be (`Unread`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.tokens import NAME_SHAPED, Token, TokenKind, mark
from opsconductor.inventory.models import AssetFilter

CONJUNCTIONS = frozenset({"and", "or", "then", "but", "plus", "nor"})


CLAUSE_VERBS = (
    frozenset({"count", "show", "check", "status", "log", "ping", "http", "health", "details"})
    | lexicon.CHANGE_VERBS
)


class QualifierKind(StrEnum):
    """What a qualifier filters on; the value is the `AssetFilter` field it fills."""

    OS = "os_type"
    DEVICE = "device_type"
    ENVIRONMENT = "environment"
    TAG = "tags"
    NAME = "text"  # a substring of the name or hostname
    HOSTNAME = "hostname_text"  # a substring of the hostname alone
    IP_RANGE = "ip_prefix"
    LOCATION = "location"  # a site or data centre the inventory records
    SERVICE = "service"  # a service or application assets are declared to run
    OWNER = "owner"
    # From collected facts: an asset whose facts cannot tell is counted as unknown.
    MIN_MEMORY = "min_memory_gb"
    MAX_MEMORY = "max_memory_gb"
    MIN_CPUS = "min_cpus"
    MAX_CPUS = "max_cpus"
    OS_NAME = "os_name"  # a distribution
    OS_VERSION = "os_version"
    RUNNING = "running"  # a service discovery saw running, no asset declaring it
    # Pairs of `inventory.choices` ("environment=staging"): several of each kind.
    EITHER = "either"
    EXCLUDE = "exclude"


@dataclass(frozen=True)
class Qualifier:
    kind: QualifierKind
    value: str
    words: str  # as the request wrote them


@dataclass(frozen=True)
class Unread:
    """Words that narrow the group in a way no filter can express yet."""

    words: str
    why: str  # "location", "exclusion", "one environment at a time", "unknown"


@dataclass
class GroupReading:
    qualifiers: list[Qualifier] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    heads: list[Token] = field(default_factory=list)
    plural: bool = False  # the request asks about several assets ("servers", "all", "every")

    @property
    def found(self) -> bool:
        return bool(self.heads or self.qualifiers)

    def filter(self) -> AssetFilter:
        """All qualifiers in one filter; call only when :meth:`conflicts` is empty."""
        values: dict[str, object] = {}
        listed: dict[QualifierKind, list[str]] = {kind: [] for kind in _MANY}
        for qualifier in self.qualifiers:
            if qualifier.kind in _MANY:
                listed[qualifier.kind].append(qualifier.value)
            else:
                values[qualifier.kind.value] = qualifier.value
        for kind, items in listed.items():
            values[kind.value] = tuple(dict.fromkeys(items))
        return AssetFilter.model_validate(values)

    def conflicts(self) -> list[Unread]:
        """Two values for one single-valued field ("windows and linux servers"): a filter
        matches one of them only, so the request is asked about rather than narrowed."""
        by_kind: dict[QualifierKind, list[Qualifier]] = {}
        for qualifier in self.qualifiers:
            if qualifier.kind not in _MANY:
                by_kind.setdefault(qualifier.kind, []).append(qualifier)
        found = []
        for kind, items in by_kind.items():
            if len({q.value for q in items}) > 1:
                words = " and ".join(dict.fromkeys(q.words for q in items))
                found.append(Unread(words, f"more than one {KIND_NOUNS[kind]}"))
        return found


# Kinds a filter holds several values of.
_MANY = (QualifierKind.TAG, QualifierKind.EITHER, QualifierKind.EXCLUDE)

KIND_NOUNS = {
    QualifierKind.OS: "operating system",
    QualifierKind.DEVICE: "device type",
    QualifierKind.ENVIRONMENT: "environment",
    QualifierKind.TAG: "tag",
    QualifierKind.NAME: "name pattern",
    QualifierKind.HOSTNAME: "hostname pattern",
    QualifierKind.IP_RANGE: "IP range",
    QualifierKind.LOCATION: "location",
    QualifierKind.SERVICE: "service",
    QualifierKind.OWNER: "owner",
    QualifierKind.MIN_MEMORY: "lower bound of memory",
    QualifierKind.MAX_MEMORY: "upper bound of memory",
    QualifierKind.MIN_CPUS: "lower bound of CPUs",
    QualifierKind.MAX_CPUS: "upper bound of CPUs",
    QualifierKind.OS_NAME: "distribution",
    QualifierKind.OS_VERSION: "OS version",
    QualifierKind.RUNNING: "running service",
    QualifierKind.EITHER: "alternative",
    QualifierKind.EXCLUDE: "exclusion",
}


NAMED = frozenset({TokenKind.ASSET, TokenKind.UNKNOWN_HOST, TokenKind.ASSET_AMBIGUOUS})


def read_word(token: Token, index: InventoryIndex, *, cued: bool) -> Qualifier | None:
    """A word that is a qualifier by itself. An environment the inventory does not have is
    one only after a cue or before a head ("in qa", "qa servers"), where it cannot be
    anything else; it then matches nothing, and the answer says so."""
    word = token.norm
    if token.kind is TokenKind.IP_PREFIX:
        return Qualifier(QualifierKind.IP_RANGE, token.value, token.text)
    if word in index.environments and (cued or word not in lexicon.SYNONYMS):
        return Qualifier(QualifierKind.ENVIRONMENT, index.environments[word], token.text)
    if word in lexicon.OS_WORDS:
        return Qualifier(QualifierKind.OS, lexicon.OS_WORDS[word], token.text)
    if word in index.tags:
        return Qualifier(QualifierKind.TAG, index.tags[word], token.text)
    if word in index.locations and (cued or word not in lexicon.SYNONYMS):
        return Qualifier(QualifierKind.LOCATION, index.locations[word], token.text)
    if cued and word in lexicon.ENVIRONMENT_WORDS:
        return Qualifier(QualifierKind.ENVIRONMENT, lexicon.ENVIRONMENT_WORDS[word], token.text)
    device = lexicon.DEVICE_WORDS.get(word)
    if device is not None and device != "any":
        return Qualifier(QualifierKind.DEVICE, device, token.text)
    return None


def place_in(words: list[Token], index: InventoryIndex) -> Qualifier | None:
    """'the DR site', 'dc-east', 'data centre London': a location the inventory records,
    with the nouns that say it is a place ('site', 'datacenter') around its name."""
    named = [t for t in words if t.norm not in lexicon.LOCATION_WORDS]
    phrase = " ".join(t.lower for t in named)
    if phrase in index.locations:
        text = " ".join(t.text for t in words)
        return Qualifier(QualifierKind.LOCATION, index.locations[phrase], text)
    return None


def owner_in(words: list[Token], index: InventoryIndex) -> Qualifier | None:
    """'the DevOps team', 'devops team': an owner the inventory records."""
    phrase = " ".join(t.lower for t in words if t.norm not in {"the", "by", "our"})
    if phrase in index.owners:
        return Qualifier(QualifierKind.OWNER, index.owners[phrase], phrase)
    return None


def unsupported_word(token: Token) -> str | None:
    word = token.norm
    if word in lexicon.DISTRIBUTION_WORDS:
        return "distribution"
    if word in lexicon.LOCATION_WORDS or location_shaped(word):
        return "location"
    if word.startswith("non-") or word in lexicon.NEGATION_WORDS:
        return "exclusion"
    return None


def location_shaped(word: str) -> bool:
    """'datacenter-1', 'dc-2', 'rack-12': a place, not a host."""
    head = word.split("-")[0]
    return "-" in word and head in lexicon.LOCATION_WORDS


def take(token: Token, qualifier: Qualifier | None, reading: GroupReading) -> None:
    if qualifier is not None:
        reading.qualifiers.append(qualifier)
    mark(token, TokenKind.QUALIFIER)


def unread(
    tokens: list[Token], positions: list[int], unread: Unread, reading: GroupReading
) -> None:
    reading.unread.append(unread)
    for position in positions:
        if tokens[position].free or tokens[position].kind is TokenKind.NUMBER:
            mark(tokens[position], TokenKind.QUALIFIER)


def role_word(token: Token) -> bool:
    """'app', 'database', 'mail' in 'app servers': a word saying what the assets are for."""
    word = token.norm
    concept = lexicon.SYNONYMS.get(word, word)
    return (
        bool(NAME_SHAPED.match(word))
        and not word.isdigit()
        and word not in lexicon.STOP_WORDS
        and concept not in CLAUSE_VERBS
        and word not in lexicon.QUALIFIER_CUES
        and word not in CONJUNCTIONS
        and word not in lexicon.MANNER_WORDS
    )


def span_text(tokens: list[Token], start: int, end: int) -> str:
    return " ".join(t.text for t in tokens[start:end])
