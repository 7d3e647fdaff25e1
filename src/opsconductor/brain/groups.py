"""The grammar of groups: which words of a request narrow the assets it is about.

A group has a head (a device noun: "servers", "boxes", "everything") with words before it
("the production linux servers") and qualifier phrases anywhere in the sentence ("… do we have
in dev", "at the DR site", "tagged web", "named app"). Every phrase that looks like a
qualifier ends in one of two places: read into the filter (a :class:`Qualifier`), or named
back as not understood (an :class:`Unread`). Nothing that could narrow a group is skipped:
skipping one would answer for more assets than were asked about.

A new qualifier kind (location, owner, a declared service) is one more `QualifierKind`
member named after its `AssetFilter` field, one more reader in `_read_word` (or a cue in
`lexicon`), and its phrase in `connectors.inventory.group_phrase`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.tokens import NAME_SHAPED, Token, TokenKind, ip_prefix, mark
from opsconductor.brain.vocabulary import Vocabulary
from opsconductor.inventory.models import AssetFilter

_CONJUNCTIONS = frozenset({"and", "or", "then", "but", "plus", "nor"})
_PRE_GLUE = frozenset({"the", "our", "my", "of", "all", "every", "each", "entire", "whole", "both"})
_MAX_PHRASE = 5
_EXCLUDING = frozenset({"except", "excluding", "exclude", "besides"})
_NEGATION_GLUE = frozenset({"in", "the", "on", "at", "from", "our", "any", "a", "for"})
_CLAUSE_VERBS = (
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
    IP_RANGE = "ip_prefix"


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
        tags: list[str] = []
        for qualifier in self.qualifiers:
            if qualifier.kind is QualifierKind.TAG:
                tags.append(qualifier.value)
            else:
                values[qualifier.kind.value] = qualifier.value
        return AssetFilter.model_validate({**values, "tags": tuple(dict.fromkeys(tags))})

    def conflicts(self) -> list[Unread]:
        """Two values for one single-valued field ("windows and linux servers"): a filter
        matches one of them only, so the request is asked about rather than narrowed."""
        by_kind: dict[QualifierKind, list[Qualifier]] = {}
        for qualifier in self.qualifiers:
            if qualifier.kind is not QualifierKind.TAG:
                by_kind.setdefault(qualifier.kind, []).append(qualifier)
        found = []
        for kind, items in by_kind.items():
            if len({q.value for q in items}) > 1:
                words = " and ".join(dict.fromkeys(q.words for q in items))
                found.append(Unread(words, f"more than one {_KIND_NOUNS[kind]}"))
        return found


_KIND_NOUNS = {
    QualifierKind.OS: "operating system",
    QualifierKind.DEVICE: "device type",
    QualifierKind.ENVIRONMENT: "environment",
    QualifierKind.TAG: "tag",
    QualifierKind.NAME: "name pattern",
    QualifierKind.IP_RANGE: "IP range",
}


def read_groups(tokens: list[Token], index: InventoryIndex, vocabulary: Vocabulary) -> GroupReading:
    """Find the group the request is about, if any, and mark the words it used."""
    reading = GroupReading()
    named_assets = any(t.kind in _NAMED for t in tokens)
    _negations(tokens, index, reading)
    for position, token in enumerate(tokens):
        if token.free and _is_head(tokens, position, index, named_assets):
            reading.heads.append(token)
            _pre_modifiers(tokens, position, index, reading)
    if not reading.heads:
        # "how many macs", "list windows in dev": an OS family standing for its assets.
        for position, token in enumerate(tokens):
            if token.free and token.norm in lexicon.OS_WORDS and not named_assets:
                reading.heads.append(token)
                _pre_modifiers(tokens, position, index, reading)
    _cue_phrases(tokens, index, vocabulary, reading)
    _loose_words(tokens, index, reading)
    reading.plural = any(_plural(t) for t in tokens if t in reading.heads) or any(
        t.norm in lexicon.SCOPE_WORDS for t in tokens
    )
    _range_words(tokens)
    _mark_group(tokens, reading)
    return reading


_NAMED = frozenset({TokenKind.ASSET, TokenKind.UNKNOWN_HOST, TokenKind.ASSET_AMBIGUOUS})


def _plural(token: Token) -> bool:
    """'servers', 'everything', 'linux' (a family of assets)."""
    word = token.norm
    return word.endswith("s") or word in lexicon.EVERYTHING_WORDS or word in lexicon.OS_WORDS


def _is_head(tokens: list[Token], position: int, index: InventoryIndex, named_assets: bool) -> bool:
    """A device noun or 'everything'; a lone singular noun beside a named asset ("the server
    web-01", "server details") is a word about that asset, not a group."""
    word = tokens[position].norm
    if word in lexicon.EVERYTHING_WORDS:
        return not named_assets  # "tell me everything about web-01" is about web-01
    if word not in lexicon.DEVICE_WORDS:
        return False
    if _plural(tokens[position]):
        return True
    before = tokens[position - 1] if position else None
    modified = before is not None and (
        before.kind is TokenKind.IP_PREFIX
        or (
            before.free and (_read_word(before, index, cued=True) is not None or _role_word(before))
        )
    )
    after = tokens[position + 1].norm if position + 1 < len(tokens) else ""
    return modified and after not in {"details", "info", "information"}


def _read_word(token: Token, index: InventoryIndex, *, cued: bool) -> Qualifier | None:
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
    if cued and word in lexicon.ENVIRONMENT_WORDS:
        return Qualifier(QualifierKind.ENVIRONMENT, lexicon.ENVIRONMENT_WORDS[word], token.text)
    device = lexicon.DEVICE_WORDS.get(word)
    if device is not None and device != "any":
        return Qualifier(QualifierKind.DEVICE, device, token.text)
    return None


def _unsupported_word(token: Token) -> str | None:
    word = token.norm
    if word in lexicon.DISTRIBUTION_WORDS:
        return "distribution"
    if word in lexicon.LOCATION_WORDS:
        return "location"
    if word.startswith("non-") or word in lexicon.NEGATION_WORDS:
        return "exclusion"
    return None


def _take(token: Token, qualifier: Qualifier | None, reading: GroupReading) -> None:
    if qualifier is not None:
        reading.qualifiers.append(qualifier)
    mark(token, TokenKind.QUALIFIER)


def _pre_modifiers(
    tokens: list[Token], head: int, index: InventoryIndex, reading: GroupReading
) -> None:
    """Words right before a head: 'all the production linux web servers'."""
    device = _read_word(tokens[head], index, cued=True)
    if device is not None:
        reading.qualifiers.append(device)
    position = head - 1
    while position >= 0:
        token = tokens[position]
        if not (token.free or token.kind is TokenKind.IP_PREFIX):
            break
        if token.norm in _PRE_GLUE:
            mark(token, TokenKind.CONSUMED)
        elif (qualifier := _read_word(token, index, cued=True)) is not None:
            _take(token, qualifier, reading)
        elif (why := _unsupported_word(token)) is not None:
            reading.unread.append(Unread(_span_text(tokens, position, head), why))
            mark(token, TokenKind.QUALIFIER)
        elif _role_word(token) and position > 0:  # a first word is the imperative verb
            _take(token, _name_qualifier(token, index, reading), reading)
        else:
            break
        position -= 1


def _role_word(token: Token) -> bool:
    """'app', 'database', 'mail' in 'app servers': a word saying what the assets are for."""
    word = token.norm
    concept = lexicon.SYNONYMS.get(word, word)
    return (
        bool(NAME_SHAPED.match(word))
        and not word.isdigit()
        and word not in lexicon.STOP_WORDS
        and concept not in _CLAUSE_VERBS
        and word not in lexicon.QUALIFIER_CUES
        and word not in _CONJUNCTIONS
        and word not in lexicon.MANNER_WORDS
    )


def _name_qualifier(token: Token, index: InventoryIndex, reading: GroupReading) -> Qualifier | None:
    """A role word the inventory has no tag for narrows by name ('app servers': names with
    'app'), never widens to every server; a word no name contains is named back."""
    if index.select(AssetFilter(text=token.norm)):
        return Qualifier(QualifierKind.NAME, token.norm, token.text)
    reading.unread.append(Unread(token.text, "unknown"))
    return None


def _tags(tokens: list[Token], position: int, index: InventoryIndex, reading: GroupReading) -> None:
    """'tagged web', 'tagged web and frontend' (both), 'tagged web or app' (named back: a
    filter's tags must all match)."""
    while True:
        token = tokens[position]
        tag = Qualifier(QualifierKind.TAG, index.tags.get(token.norm, token.text), token.text)
        _take(token, tag, reading)
        joint = tokens[position + 1] if position + 1 < len(tokens) else None
        follower = tokens[position + 2] if position + 2 < len(tokens) else None
        if joint is None or follower is None or not follower.free:
            return
        if joint.norm not in {"and", "or"} or follower.norm not in index.tags:
            return
        mark(joint, TokenKind.CONSUMED)
        if joint.norm == "or":
            words = f"{token.text} or {follower.text}"
            reading.unread.append(Unread(words, "more than one tag to choose from"))
            mark(follower, TokenKind.QUALIFIER)
            return
        position += 2


def _name_patterns(tokens: list[Token], reading: GroupReading) -> None:
    """'with app in the name', 'whose name contains app', 'name like app': a name pattern."""
    for position, token in enumerate(tokens):
        if not token.free or token.norm not in lexicon.NAME_NOUNS:
            continue
        after = tokens[position + 1 : position + 3]
        if len(after) == 2 and after[0].norm in lexicon.NAME_CUES and after[1].free:
            pattern, used = after[1], [token, after[0], after[1]]
        elif (found := _with_in_the_name(tokens, position)) is not None:
            pattern, used = found
        else:
            continue
        reading.qualifiers.append(Qualifier(QualifierKind.NAME, pattern.lower, pattern.text))
        for used_token in used:
            mark(used_token, TokenKind.QUALIFIER)


def _with_in_the_name(tokens: list[Token], noun: int) -> tuple[Token, list[Token]] | None:
    """'with app in the name' / 'having stg in their hostname': (app, the words used)."""
    position = noun - 1
    while position >= 0 and tokens[position].norm in _NAME_GLUE:
        position -= 1
    if position < 2 or tokens[position].norm != "in":
        return None
    pattern, cue = tokens[position - 1], tokens[position - 2]
    if not (pattern.free and cue.free and cue.norm in {"with", "having"}):
        return None
    return pattern, tokens[position - 2 : noun + 1]


_NAME_GLUE = frozenset({"the", "their", "its", "his", "her"})


def _cue_phrases(
    tokens: list[Token], index: InventoryIndex, vocabulary: Vocabulary, reading: GroupReading
) -> None:
    _name_patterns(tokens, reading)
    for position, token in enumerate(tokens):
        if token.free and token.norm in lexicon.QUALIFIER_CUES:
            _cue_phrase(tokens, position, index, vocabulary, reading)


def _phrase(tokens: list[Token], cue: int) -> list[int]:
    """Positions of the words a cue introduces, up to the next cue, conjunction or verb."""
    positions: list[int] = []
    for position in range(cue + 1, min(len(tokens), cue + 1 + _MAX_PHRASE)):
        token = tokens[position]
        concept = lexicon.SYNONYMS.get(token.norm, token.norm)
        if token.kind is TokenKind.CONSUMED:
            continue
        if not (token.free or token.kind in {TokenKind.IP_PREFIX, TokenKind.NUMBER}) or (
            token.norm in lexicon.QUALIFIER_CUES
            or token.norm in _CONJUNCTIONS
            or concept in _CLAUSE_VERBS
        ):
            if not positions and not token.free:
                positions.append(position)  # "on web-01", "for nginx": not a qualifier
            break
        positions.append(position)
        if token.ends_clause:
            break
    return positions


def _cue_phrase(
    tokens: list[Token],
    cue: int,
    index: InventoryIndex,
    vocabulary: Vocabulary,
    reading: GroupReading,
) -> None:
    cue_word = tokens[cue].norm
    positions = [p for p in _phrase(tokens, cue) if tokens[p].norm not in lexicon.QUALIFIER_GLUE]
    if not positions:
        return
    first = tokens[positions[0]]
    if not (first.free or first.kind in {TokenKind.IP_PREFIX, TokenKind.NUMBER}):
        return  # the cue is about an asset, a service, a path: not a group
    if cue_word in lexicon.TAG_CUES:
        _take(tokens[cue], None, reading)
        _tags(tokens, positions[0], index, reading)
        return
    if cue_word in lexicon.NAME_CUES:
        _take(tokens[cue], None, reading)
        _take(first, Qualifier(QualifierKind.NAME, first.lower, first.text), reading)
        return
    content = [p for p in positions if tokens[p].norm not in lexicon.STOP_WORDS]
    if not content:
        return
    text = _span_text(tokens, content[0], content[-1] + 1)
    if cue_word in lexicon.UNSUPPORTED_CUES and all(
        _unsupported_word(tokens[p]) is None for p in content
    ):
        # "running nginx" narrows by service; "running processes" is what to show.
        if any(tokens[p].norm not in vocabulary for p in content):
            why = lexicon.UNSUPPORTED_CUES[cue_word]
            _unread(tokens, [cue, *content], Unread(f"{tokens[cue].text} {text}", why), reading)
        return
    _cue_content(tokens, cue, content, text, index, vocabulary, reading)


def _cue_content(
    tokens: list[Token],
    cue: int,
    content: list[int],
    text: str,
    index: InventoryIndex,
    vocabulary: Vocabulary,
    reading: GroupReading,
) -> None:
    unsupported = [w for p in content if (w := _unsupported_word(tokens[p])) is not None]
    if unsupported:
        _unread(tokens, [cue, *content], Unread(text, unsupported[0]), reading)
        return
    read = [(p, _read_word(tokens[p], index, cued=True)) for p in content]
    unknown = [
        p
        for p, qualifier in read
        if qualifier is None
        and (tokens[p].kind is TokenKind.NUMBER or tokens[p].norm not in vocabulary)
    ]
    wordless = all(not any(c.isalpha() for c in tokens[p].norm) for p in unknown)
    if unknown and wordless and not reading.heads:
        return  # "currently at 87%": a reading, not a group qualifier
    if unknown:
        _unread(tokens, [cue, *content], Unread(text, "unknown"), reading)
        return
    if not any(qualifier is not None for _, qualifier in read):
        return  # "in the inventory", "in total": known words that select nothing
    for p, qualifier in read:
        _take(tokens[p], qualifier, reading)  # "in the 10.1 range": 'range' is part of it
    mark(tokens[cue], TokenKind.CONSUMED)


def _unread(
    tokens: list[Token], positions: list[int], unread: Unread, reading: GroupReading
) -> None:
    reading.unread.append(unread)
    for position in positions:
        if tokens[position].free or tokens[position].kind is TokenKind.NUMBER:
            mark(tokens[position], TokenKind.QUALIFIER)


def _negations(tokens: list[Token], index: InventoryIndex, reading: GroupReading) -> None:
    """'except staging', 'not in production', 'non-windows': no filter excludes yet."""
    for position, token in enumerate(tokens):
        if not token.free:
            continue
        if token.norm.startswith("non-") and len(token.norm) > 4:
            reading.unread.append(Unread(token.text, "exclusion"))
            mark(token, TokenKind.QUALIFIER)
            continue
        if token.norm not in lexicon.NEGATION_WORDS:
            continue
        for later in range(position + 1, min(len(tokens), position + 4)):
            follower = tokens[later]
            if follower.free and follower.norm in _NEGATION_GLUE:
                continue
            excluded_asset = follower.kind in _NAMED and token.norm in _EXCLUDING
            if excluded_asset or (
                follower.free
                and (
                    _read_word(follower, index, cued=True) is not None
                    or _unsupported_word(follower) is not None
                )
            ):
                reading.unread.append(Unread(_span_text(tokens, position, later + 1), "exclusion"))
                for negated in tokens[position : later + 1]:
                    if negated.free:
                        mark(negated, TokenKind.QUALIFIER)
            break


def _loose_words(tokens: list[Token], index: InventoryIndex, reading: GroupReading) -> None:
    """An environment, OS or IP range anywhere in a request that has a group narrows it:
    'how many linux do we have in prod', 'windows in staging: how many servers'."""
    if not reading.found:
        return
    for token in tokens:
        if token.free or token.kind is TokenKind.IP_PREFIX:
            qualifier = _read_word(token, index, cued=False)
            if qualifier is not None and qualifier.kind is not QualifierKind.TAG:
                _take(token, qualifier, reading)


def _range_words(tokens: list[Token]) -> None:
    """'on the 10.2.0.0/16 subnet': the range noun belongs to the range."""
    for position, token in enumerate(tokens):
        if token.kind is not TokenKind.QUALIFIER or ip_prefix(token.lower) is None:
            continue
        for near in tokens[max(0, position - 2) : position + 3]:
            if near.free and near.norm in lexicon.RANGE_WORDS:
                mark(near, TokenKind.QUALIFIER)


def _mark_group(tokens: list[Token], reading: GroupReading) -> None:
    """The group reads as one GROUP word when the request is compared with the examples."""
    if reading.heads:
        for head in reading.heads:
            mark(head, TokenKind.GROUP)
        return
    if not reading.qualifiers:
        return
    for token in tokens:
        if token.kind is TokenKind.QUALIFIER:
            mark(token, TokenKind.GROUP)
            return


def _span_text(tokens: list[Token], start: int, end: int) -> str:
    return " ".join(t.text for t in tokens[start:end])
