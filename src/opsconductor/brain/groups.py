"""The grammar of groups: which words of a request narrow the assets it is about.

A group has a head (a device noun: "servers", "boxes", "everything") with words before it
("the production linux servers") and qualifier phrases anywhere in the sentence ("… do we have
in dev", "at the DR site", "tagged web", "named app"). Every phrase that looks like a
qualifier ends in one of two places: read into the filter (a :class:`Qualifier`), or named
back as not understood (an :class:`Unread`). Nothing that could narrow a group is skipped:
skipping one would answer for more assets than were asked about.

A new qualifier kind (location, owner, a declared service) is one more `QualifierKind`
member named after its `AssetFilter` field, one more reader in `qualifiers.read_word` (or a cue in
`lexicon`), and its phrase in `connectors.inventory.group_phrase`.
"""

from __future__ import annotations

from opsconductor.brain import lexicon
from opsconductor.brain.choices import alternatives, alternatives_across, exclusions
from opsconductor.brain.cues import cue_phrases, range_words
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.measures import read_fact_phrases
from opsconductor.brain.qualifiers import (
    NAMED,
    GroupReading,
    Qualifier,
    QualifierKind,
    Unread,
    read_word,
    role_word,
    span_text,
    take,
    unsupported_word,
)
from opsconductor.brain.tokens import Token, TokenKind, mark
from opsconductor.brain.vocabulary import Vocabulary
from opsconductor.inventory.models import AssetFilter

__all__ = ["GroupReading", "Qualifier", "QualifierKind", "Unread", "read_groups"]

_PRE_GLUE = frozenset({"the", "our", "my", "of", "all", "every", "each", "entire", "whole", "both"})


def read_groups(tokens: list[Token], index: InventoryIndex, vocabulary: Vocabulary) -> GroupReading:
    """Find the group the request is about, if any, and mark the words it used."""
    reading = GroupReading()
    named_assets = any(t.kind in NAMED for t in tokens)
    exclusions(tokens, index, reading)
    facts = read_fact_phrases(tokens, reading)
    for position, token in enumerate(tokens):
        if token.free and _is_head(tokens, position, index, named_assets):
            reading.heads.append(token)
            _pre_modifiers(tokens, position, index, reading, facts)
    if not reading.heads and not named_assets:
        # "how many macs", "list windows in dev": an OS family standing for its assets;
        # "list production databases": a tag's plural standing for the assets tagged so.
        for position, token in enumerate(tokens):
            tag = _plural_tag(token, index)
            if token.free and (token.norm in lexicon.OS_WORDS or tag is not None):
                reading.heads.append(token)
                if tag is not None:
                    reading.qualifiers.append(tag)
                _pre_modifiers(tokens, position, index, reading, facts)
    cue_phrases(tokens, index, vocabulary, reading)
    _loose_words(tokens, index, reading)
    reading.plural = any(_plural(t) for t in tokens if t in reading.heads) or any(
        t.norm in lexicon.SCOPE_WORDS for t in tokens
    )
    range_words(tokens)
    _included(tokens, reading)
    alternatives(tokens, reading)
    alternatives_across(tokens, reading)
    _mark_group(tokens, reading)
    return reading


# "how many servers including dr", "all hosts incl. the staging ones": values said to be part
# of the group, not a narrowing of it.
# 'servers where …', 'hosts whose …': what follows describes the group, not a place to ask.
_RELATIVE = frozenset({"where", "whose"})
_INCLUDING = frozenset({"including", "incl", "include", "includes", "inclusive"})
_INCLUDED_GLUE = frozenset({"the", "those", "in", "at", "and", ",", "ones", "also", "even"})


def _included(tokens: list[Token], reading: GroupReading) -> None:
    """A qualifier after 'including' does not narrow the group: the group without it already
    holds those assets. One whose kind the group narrows by another value ('linux servers
    including windows ones') would widen it instead, and is asked about."""
    for qualifier in list(reading.qualifiers):
        at = _position_of(tokens, qualifier.words)
        before = at - 1
        while before >= 0 and tokens[before].norm in _INCLUDED_GLUE:
            before -= 1
        if at < 0 or before < 0 or tokens[before].norm not in _INCLUDING:
            continue
        reading.qualifiers.remove(qualifier)
        mark(tokens[before], TokenKind.QUALIFIER)
        if any(other.kind is qualifier.kind for other in reading.qualifiers):
            reading.unread.append(Unread(span_text(tokens, before, at + 1), "inclusion"))


def _position_of(tokens: list[Token], words: str) -> int:
    first = words.split()[0].lower() if words.split() else ""
    return next((i for i, t in enumerate(tokens) if t.lower == first), -1)


def _plural_tag(token: Token, index: InventoryIndex) -> Qualifier | None:
    """'databases' where the inventory tags assets 'database' (never the tag itself: 'list
    database' is not a group of them)."""
    word = token.lower  # as written: typo tolerance may have folded 'backups' into 'backup'
    if not word.endswith("s"):
        return None
    for singular in (word[:-1], word[:-2]):  # 'databases', 'switches'
        if len(singular) > 2 and singular in index.tags:
            return Qualifier(QualifierKind.TAG, index.tags[singular], token.text)
    return None


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
        or (before.free and (read_word(before, index, cued=True) is not None or role_word(before)))
    )
    after = tokens[position + 1].norm if position + 1 < len(tokens) else ""
    return modified and after not in {"details", "info", "information"}


def _pre_modifiers(
    tokens: list[Token],
    head: int,
    index: InventoryIndex,
    reading: GroupReading,
    facts: frozenset[int] = frozenset(),
) -> None:
    """Words right before a head: 'all the production linux web servers'; `facts` are the
    positions fact phrases read, stepped over."""
    device = read_word(tokens[head], index, cued=True)
    if device is not None:
        reading.qualifiers.append(device)
    position = head - 1
    while position >= 0:
        token = tokens[position]
        if position in facts:
            position -= 1  # read already: 'production ubuntu 22.04 servers'
            continue
        if not (token.free or token.kind is TokenKind.IP_PREFIX) or token.norm in _INCLUDING:
            break
        if token.norm in _PRE_GLUE:
            mark(token, TokenKind.CONSUMED)
        elif (qualifier := read_word(token, index, cued=True)) is not None:
            take(token, qualifier, reading)
        elif (why := unsupported_word(token)) is not None:
            reading.unread.append(Unread(span_text(tokens, position, head), why))
            mark(token, TokenKind.QUALIFIER)
        elif role_word(token) and position > 0:  # a first word is the imperative verb
            take(token, _name_qualifier(token, index, reading), reading)
        else:
            break
        position -= 1


def _name_qualifier(token: Token, index: InventoryIndex, reading: GroupReading) -> Qualifier | None:
    """A role word the inventory has no tag for narrows by name ('app servers': names with
    'app'), never widens to every server; a word no name contains is named back."""
    if index.select(AssetFilter(text=token.norm)):
        return Qualifier(QualifierKind.NAME, token.norm, token.text)
    reading.unread.append(Unread(token.text, "unknown"))
    return None


def _loose_words(tokens: list[Token], index: InventoryIndex, reading: GroupReading) -> None:
    """An environment, OS or IP range anywhere in a request that has a group narrows it:
    'how many linux do we have in prod', 'windows in staging: how many servers'."""
    if not reading.found:
        return
    for token in tokens:
        if token.free or token.kind is TokenKind.IP_PREFIX:
            qualifier = read_word(token, index, cued=False)
            if qualifier is not None and qualifier.kind is not QualifierKind.TAG:
                take(token, qualifier, reading)


def _mark_group(tokens: list[Token], reading: GroupReading) -> None:
    """The group reads as one GROUP word when the request is compared with the examples."""
    if reading.heads:
        for head in reading.heads:
            mark(head, TokenKind.GROUP)
            after = tokens.index(head) + 1
            if after < len(tokens) and tokens[after].free and tokens[after].norm in _RELATIVE:
                mark(tokens[after], TokenKind.CONSUMED)  # 'servers where env is prod'
        return
    if not reading.qualifiers:
        return
    for token in tokens:
        if token.kind is TokenKind.QUALIFIER:
            mark(token, TokenKind.GROUP)
            return
