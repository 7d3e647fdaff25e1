"""Exclusions and alternatives in a group: 'all servers except staging and dev', 'non-production
hosts', 'servers not tagged web', 'every host except web-01'; 'Linux or Windows servers',
'servers in prod and staging', 'tagged web or api'. They become `exclude` / `either` pairs of
the filter (`inventory.choices`); what cannot be one (an unknown host, a distribution) is named
back as unread, never dropped — dropping an exclusion would act on what was excluded."""

from __future__ import annotations

import itertools

from opsconductor.brain import lexicon
from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.qualifiers import (
    NAMED,
    GroupReading,
    Qualifier,
    QualifierKind,
    Unread,
    read_word,
    span_text,
    unsupported_word,
)
from opsconductor.brain.tokens import Token, TokenKind, mark

# The qualifier kinds a pair can name, by the pair's field.
CHOICE_FIELDS = {
    QualifierKind.OS: "os_type",
    QualifierKind.DEVICE: "device_type",
    QualifierKind.ENVIRONMENT: "environment",
    QualifierKind.TAG: "tag",
    QualifierKind.LOCATION: "location",
    QualifierKind.SERVICE: "service",
    QualifierKind.OWNER: "owner",
}
# Words that exclude a named asset ('every host except web-01', 'other than web-01'); 'not
# web-01' is more often a mistake than an exclusion, and is asked about.
_EXCLUDING_ASSETS = frozenset(
    {"except", "excluding", "exclude", "besides", "other", "apart", "aside", "but", "minus"}
    | {"save", "sans", "excepting", "without", "leave", "skip", "never", "don't", "dont"}
    | {"ignore", "ignoring"}
)
# "everything but web-01", "all servers minus the windows ones": exclusions when what follows
# is one a group can leave out (`_negated` reads nothing otherwise: "check disk but restart …").
_EXCLUDING_WORDS = frozenset(
    {"but", "minus", "save", "sans", "excepting", "leave", "skip", "never", "don't", "dont"}
    | {"ignore", "ignoring"}
)
_NEGATING = lexicon.NEGATION_WORDS | {"aren't", "arent", "isn't", "isnt"}
# Words between a negation and what it negates: 'not in production', 'not tagged web'.
_GLUE = frozenset(
    {"in", "the", "on", "at", "from", "our", "any", "a", "for", "tagged", "tag", "labelled"}
    | {"labeled", "running", "hosting", "those", "ones", "that", "are", "is", "by", "owned"}
)
_CUES = lexicon.TAG_CUES | lexicon.SERVICE_CUES
# Words joining several excluded values: 'except staging and dev', 'not prod or qa'.
_MORE = frozenset({"and", "or", "nor", ","})
_AFTER_VALUE = frozenset({"the", "ones", "one"})  # 'except the windows ones and the switches'
_ALTERNATIVE_GLUE = frozenset({"and", "or", "either", "the", "in", "at", "on", "nor"})
_REACH = 4  # words a negation looks ahead for what it negates


def exclusions(tokens: list[Token], index: InventoryIndex, reading: GroupReading) -> None:
    """Read every negation of the request into `exclude` pairs (or unread)."""
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token.free and token.norm.startswith("non-") and len(token.norm) > 4:
            rest = token.norm[4:]
            _exclude(Token(text=rest, lower=rest), token.text, index, reading)
            mark(token, TokenKind.QUALIFIER)
        elif token.free and token.norm == "but" and _negation_end(tokens, position + 1):
            mark(token, TokenKind.CONSUMED)  # 'but don't reboot app-01': the next word says it
        elif token.free and (start := _negation_end(tokens, position)) is not None:
            position = _negated(tokens, position, start, index, reading)
        position += 1


def _negation_end(tokens: list[Token], position: int) -> int | None:
    """Where the negated words start: after 'except', 'not', 'other than', 'apart from'."""
    if position >= len(tokens):
        return None
    word = tokens[position].norm
    following = tokens[position + 1].norm if position + 1 < len(tokens) else ""
    if (word, following) in {("other", "than"), ("apart", "from"), ("aside", "from")}:
        return position + 2
    if (word, following) == ("but", "not"):
        return position + 2
    if word in _NEGATING or word in _EXCLUDING_WORDS:
        return position + 1
    return None


def _negated(
    tokens: list[Token], negation: int, start: int, index: InventoryIndex, reading: GroupReading
) -> int:
    """Exclude what follows the negation at `negation`, and each value joined to it by 'and' /
    'or' ('except staging and dev'); returns the position of the last word read."""
    last: int | None = None
    cued = False  # 'not tagged …', 'not running …': what follows must be excluded or named
    joined = True  # a value after the first needs 'and' / 'or' / a comma before it
    position, reach = start, start + _REACH
    while position < min(len(tokens), reach):
        follower = tokens[position]
        # "don't reboot app-01": the order's verb stands between the negation and its host.
        glue = (_GLUE | lexicon.CHANGE_VERBS) if last is None else _MORE | _AFTER_VALUE
        folded = follower.kind is TokenKind.CONSUMED  # 'than' of 'other than', read as 'except'
        if folded or (follower.free and follower.norm in glue):
            cued = cued or follower.norm in _CUES
            joined = joined or follower.norm in _MORE
            position += 1
            continue
        if not joined:
            break  # 'non windows servers': the noun the exclusion describes, not a second one
        if not _one_excluded(tokens, negation, position, index, reading):
            if cued and last is None and follower.free:
                reading.unread.append(
                    Unread(span_text(tokens, negation, position + 1), "exclusion")
                )
                last = position
            break
        last, reach = position, position + 5  # "ones, and the switches"
        joined = follower.ends_clause  # 'except web-01, web-02 and …'
        position += 1
    if last is None:
        return negation
    for negated in tokens[negation : last + 1]:
        if negated.free:
            mark(negated, TokenKind.QUALIFIER)
    return last


def _one_excluded(
    tokens: list[Token], negation: int, position: int, index: InventoryIndex, reading: GroupReading
) -> bool:
    """Read one negated word; False when it is not one a group could be narrowed by."""
    follower = tokens[position]
    if _negation_end(tokens, position) is not None:
        return False  # 'not windows and not linux': the next negation reads its own words
    words = span_text(tokens, negation, position + 1)
    if follower.kind is TokenKind.ASSET and tokens[negation].norm in _EXCLUDING_ASSETS:
        pair = f"name={follower.value}"
        reading.qualifiers.append(Qualifier(QualifierKind.EXCLUDE, pair, words))
        return True
    if follower.kind in NAMED:  # an unknown or ambiguous host: named back by its own rule
        reading.unread.append(Unread(words, "exclusion"))
        return True
    if follower.kind is TokenKind.SERVICE and follower.norm not in index.services:
        reading.unread.append(Unread(words, "exclusion"))  # no asset is declared to run it
        return True
    if not (follower.free or follower.kind is TokenKind.SERVICE):
        return False
    if follower.norm in index.services:
        service = Qualifier(QualifierKind.SERVICE, follower.norm, follower.text)
        return _exclude_qualifier(service, words, reading)
    qualifier = read_word(follower, index, cued=True) or _plural_tag(follower, index)
    if qualifier is not None:
        return _exclude_qualifier(qualifier, words, reading)
    if unsupported_word(follower) is not None or follower.norm in lexicon.DISTRIBUTIONS:
        reading.unread.append(Unread(words, "exclusion"))
        return True
    return False


def _plural_tag(token: Token, index: InventoryIndex) -> Qualifier | None:
    """'excluding databases' where the inventory tags assets 'database'."""
    word = token.lower
    for singular in (word[:-1], word[:-2]) if word.endswith("s") else ():
        if len(singular) > 2 and singular in index.tags:
            return Qualifier(QualifierKind.TAG, index.tags[singular], token.text)
    return None


def _exclude(token: Token, words: str, index: InventoryIndex, reading: GroupReading) -> None:
    qualifier = read_word(token, index, cued=True)
    if qualifier is None or not _exclude_qualifier(qualifier, words, reading):
        reading.unread.append(Unread(words, "exclusion"))


def _exclude_qualifier(qualifier: Qualifier, words: str, reading: GroupReading) -> bool:
    field = CHOICE_FIELDS.get(qualifier.kind)
    if field is None:  # a name pattern or IP range: no pair says 'not like'
        reading.unread.append(Unread(words, "exclusion"))
        return True
    reading.qualifiers.append(Qualifier(QualifierKind.EXCLUDE, f"{field}={qualifier.value}", words))
    return True


def alternatives(tokens: list[Token], reading: GroupReading) -> None:
    """Two values of one field joined by 'and' / 'or' ('Linux or Windows servers', 'in prod
    and staging') are alternatives; two tags only when joined by 'or' ('tagged web and api' is
    both). Values of one field that stand apart in the sentence stay a conflict: 'windows
    servers in prod and linux servers' is two groups, and flattening them would count others."""
    by_kind: dict[QualifierKind, list[Qualifier]] = {}
    for qualifier in reading.qualifiers:
        if qualifier.kind in CHOICE_FIELDS:
            by_kind.setdefault(qualifier.kind, []).append(qualifier)
    for kind, found in by_kind.items():
        if len({q.value for q in found}) < 2:
            continue
        joiners = _joined(tokens, [q.words for q in found])
        if joiners is None or (kind is QualifierKind.TAG and "or" not in joiners):
            continue
        if kind is QualifierKind.TAG and "and" in joiners:  # 'web and api or app': which?
            words = " ".join(q.words for q in found)
            reading.unread.append(Unread(words, "more than one tag to choose from"))
            continue
        field = CHOICE_FIELDS[kind]
        reading.qualifiers = [q for q in reading.qualifiers if q not in found]
        for qualifier in sorted(found, key=lambda q: _first_position(tokens, q.words)):
            pair = f"{field}={qualifier.value}"
            reading.qualifiers.append(Qualifier(QualifierKind.EITHER, pair, qualifier.words))


def alternatives_across(tokens: list[Token], reading: GroupReading) -> None:
    """'servers that are windows or in staging', 'in staging or tagged ci': two values of
    different fields joined by 'or' alone are alternatives too (either pairs match any one)."""
    chosen = [q for q in reading.qualifiers if q.kind in CHOICE_FIELDS]
    chosen.sort(key=lambda q: _first_position(tokens, q.words))
    for left, right in itertools.pairwise(chosen):
        if left.kind is right.kind:
            continue  # one field: `alternatives` reads it
        joiners = _joined(tokens, [left.words, right.words], _ACROSS_GLUE)
        if joiners is None or "or" not in joiners or "and" in joiners:
            continue
        reading.qualifiers = [q for q in reading.qualifiers if q not in (left, right)]
        for qualifier in (left, right):
            pair = f"{CHOICE_FIELDS[qualifier.kind]}={qualifier.value}"
            reading.qualifiers.append(Qualifier(QualifierKind.EITHER, pair, qualifier.words))
        return  # one alternative a request: more would need brackets to read


_ACROSS_GLUE = _ALTERNATIVE_GLUE | {"tagged", "are", "is", "running", "owned", "by"}


def _first_position(tokens: list[Token], words: str) -> int:
    first = words.split()[0].lower()
    return next((i for i, t in enumerate(tokens) if t.lower == first), len(tokens))


def _joined(
    tokens: list[Token], words: list[str], glue: frozenset[str] = _ALTERNATIVE_GLUE
) -> set[str] | None:
    """The joining words when the qualifiers' words stand one after another, joined only by
    'and' / 'or' / commas and glue; None when anything else stands between them."""
    positions = []
    for wording in dict.fromkeys(words):
        first = wording.split()[0].lower()
        at = next(
            (i for i, t in enumerate(tokens) if t.lower == first and i not in positions), None
        )
        if at is None:
            return None
        positions.append(at)
    positions.sort()
    joiners: set[str] = set()
    for left, right in itertools.pairwise(positions):
        between = [t.norm for t in tokens[left + 1 : right]]
        comma = tokens[left].ends_clause
        if not between and not comma:
            return None
        if any(w not in glue for w in between):
            return None
        joiners |= set(between) | ({","} if comma else set())
    return joiners
