"""Qualifier phrases introduced by a cue word ("in dev", "at the DR site", "tagged web",
"named app", "except staging"): each is read into the group or named back as unread."""

from __future__ import annotations

import itertools

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.qualifiers import (
    CLAUSE_VERBS,
    CONJUNCTIONS,
    GroupReading,
    Qualifier,
    QualifierKind,
    Unread,
    owner_in,
    place_in,
    read_word,
    span_text,
    take,
    unread,
    unsupported_word,
)
from opsconductor.brain.tokens import Token, TokenKind, ip_prefix, mark
from opsconductor.brain.vocabulary import Vocabulary

_MAX_PHRASE = 5


_EXCLUDING = frozenset({"except", "excluding", "exclude", "besides"})


_NEGATION_GLUE = frozenset({"in", "the", "on", "at", "from", "our", "any", "a", "for"})


_NAME_GLUE = frozenset({"the", "their", "its", "his", "her"})


def _tags(tokens: list[Token], position: int, index: InventoryIndex, reading: GroupReading) -> None:
    """'tagged web', 'tagged web and frontend' (both), 'tagged web or app' (either: read so by
    `choices.alternatives`)."""
    while True:
        token = tokens[position]
        tag = Qualifier(QualifierKind.TAG, index.tags.get(token.norm, token.text), token.text)
        take(token, tag, reading)
        joint = tokens[position + 1] if position + 1 < len(tokens) else None
        follower = tokens[position + 2] if position + 2 < len(tokens) else None
        if joint is None or follower is None or not follower.free:
            return
        if joint.norm not in {"and", "or"} or follower.norm not in index.tags:
            return
        mark(joint, TokenKind.CONSUMED)
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
        # "hostname containing web" is the hostname alone; "name like web" name or hostname.
        hostname = token.norm in {"hostname", "hostnames"}
        kind = QualifierKind.HOSTNAME if hostname else QualifierKind.NAME
        reading.qualifiers.append(Qualifier(kind, _contained(pattern.lower), pattern.text))
        for used_token in used:
            mark(used_token, TokenKind.QUALIFIER)


def _contained(pattern: str) -> str:
    """'web*', '*stg*': the text a name must contain (the answer says 'with web in the
    name', which is what was counted); the inventory matches names by what they contain."""
    return pattern.strip("*%") or pattern


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


def cue_phrases(
    tokens: list[Token], index: InventoryIndex, vocabulary: Vocabulary, reading: GroupReading
) -> None:
    _name_patterns(tokens, reading)
    _tag_after(tokens, index, reading)
    for position, token in enumerate(tokens):
        if token.free and token.norm in lexicon.QUALIFIER_CUES:
            _cue_phrase(tokens, position, index, vocabulary, reading)


def _tag_after(tokens: list[Token], index: InventoryIndex, reading: GroupReading) -> None:
    """'servers with the web tag', 'the iis label': a tag named before the word 'tag'."""
    for first, second in itertools.pairwise(tokens):
        if second.free and second.norm in _TAG_NOUNS and first.norm in index.tags:
            if first.free or first.kind is TokenKind.SERVICE:
                tag = Qualifier(QualifierKind.TAG, index.tags[first.norm], first.text)
                take(first, tag, reading)
            mark(second, TokenKind.QUALIFIER)


_TAG_NOUNS = frozenset({"tag", "tags", "label", "labels"})


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
            or token.norm in CONJUNCTIONS
            or concept in CLAUSE_VERBS
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
    named = [p for p in positions if tokens[p].norm not in lexicon.STOP_WORDS]
    if named and _recorded_attribute(tokens, cue, named, index, reading):
        return
    first = tokens[positions[0]]
    if not (first.free or first.kind in {TokenKind.IP_PREFIX, TokenKind.NUMBER}):
        return  # the cue is about an asset, a service, a path: not a group
    if cue_word in lexicon.TAG_CUES:
        take(tokens[cue], None, reading)
        _tags(tokens, positions[0], index, reading)
        return
    if cue_word in lexicon.NAME_CUES:
        take(tokens[cue], None, reading)
        take(first, Qualifier(QualifierKind.NAME, _contained(first.lower), first.text), reading)
        return
    content = [p for p in positions if tokens[p].norm not in lexicon.STOP_WORDS]
    if not content:
        return
    text = span_text(tokens, content[0], content[-1] + 1)
    if cue_word in lexicon.UNSUPPORTED_CUES and all(
        unsupported_word(tokens[p]) is None for p in content
    ):
        # "running nginx" narrows by service; "running processes" is what to show.
        if any(tokens[p].norm not in vocabulary for p in content):
            why = lexicon.UNSUPPORTED_CUES[cue_word]
            unread(tokens, [cue, *content], Unread(f"{tokens[cue].text} {text}", why), reading)
        return
    _cue_content(tokens, cue, content, text, index, vocabulary, reading)


def _recorded_attribute(
    tokens: list[Token],
    cue: int,
    content: list[int],
    index: InventoryIndex,
    reading: GroupReading,
) -> bool:
    """A location ('at the DR site'), declared service ('running billing-api') or owner
    ('owned by the web team') the inventory records, read into the filter; one it does not
    record is named back with what it does record, never dropped."""
    cue_word = tokens[cue].norm
    words = [tokens[p] for p in content]
    text = span_text(tokens, content[0], content[-1] + 1)
    if cue_word in lexicon.SERVICE_CUES:
        return _service(tokens[cue], words[0], index, reading)
    if cue_word in lexicon.OWNER_CUES:
        owner = owner_in(words, index)
        if owner is None:
            known = ", ".join(sorted(index.owners.values())) or "none"
            why = f"no asset is owned by that name (owners recorded: {known})"
            unread(tokens, [cue, *content], Unread(f"{tokens[cue].text} {text}", why), reading)
            return True
        take(tokens[cue], None, reading)
        for token in words:
            take(token, None, reading)
        reading.qualifiers.append(owner)
        return True
    place = place_in(words, index)
    if place is not None:
        for token in words:
            take(token, None, reading)
        reading.qualifiers.append(place)
        mark(tokens[cue], TokenKind.CONSUMED)
        return True
    if index.locations and any(unsupported_word(t) == "location" for t in words):
        known = ", ".join(sorted(index.locations.values()))
        why = f"no asset is at that location (locations recorded: {known})"
        unread(tokens, [cue, *content], Unread(text, why), reading)
        return True
    return False


def _service(cue: Token, word: Token, index: InventoryIndex, reading: GroupReading) -> bool:
    """'running nginx': the assets declared to run it; when none is, those discovery saw
    running it (a fact, so the answer counts the assets without facts apart)."""
    service = word.lower
    if service in index.services:
        kind = QualifierKind.SERVICE
    elif service in index.running:
        kind = QualifierKind.RUNNING
    else:
        return False
    take(cue, None, reading)
    take(word, Qualifier(kind, service, word.text), reading)
    return True


def _cue_content(
    tokens: list[Token],
    cue: int,
    content: list[int],
    text: str,
    index: InventoryIndex,
    vocabulary: Vocabulary,
    reading: GroupReading,
) -> None:
    unsupported = [w for p in content if (w := unsupported_word(tokens[p])) is not None]
    if unsupported:
        unread(tokens, [cue, *content], Unread(text, unsupported[0]), reading)
        return
    read = [(p, read_word(tokens[p], index, cued=True)) for p in content]
    unknown = [
        p
        for p, qualifier in read
        if qualifier is None
        and (tokens[p].kind is TokenKind.NUMBER or tokens[p].norm not in vocabulary)
        and not _parameter_number(tokens, p, vocabulary)
    ]
    wordless = all(not any(c.isalpha() for c in tokens[p].norm) for p in unknown)
    if unknown and wordless and not reading.heads:
        return  # "currently at 87%": a reading, not a group qualifier
    if unknown:
        unread(tokens, [cue, *content], Unread(text, "unknown"), reading)
        return
    if not any(qualifier is not None for _, qualifier in read):
        return  # "in the inventory", "in total": known words that select nothing
    for p, qualifier in read:
        take(tokens[p], qualifier, reading)  # "in the 10.1 range": 'range' is part of it
    mark(tokens[cue], TokenKind.CONSUMED)


def range_words(tokens: list[Token]) -> None:
    """'on the 10.2.0.0/16 subnet': the range noun belongs to the range."""
    for position, token in enumerate(tokens):
        if token.kind is not TokenKind.QUALIFIER or ip_prefix(token.lower) is None:
            continue
        for near in tokens[max(0, position - 2) : position + 3]:
            if near.free and near.norm in lexicon.RANGE_WORDS:
                mark(near, TokenKind.QUALIFIER)


def _parameter_number(tokens: list[Token], position: int, vocabulary: Vocabulary) -> bool:
    """'port 443', '50 lines': a number a parameter takes, not a qualifier."""
    if tokens[position].kind is not TokenKind.NUMBER:
        return False
    return vocabulary.number_input(tokens, position) is not None
