"""Known words, and reading a request's words as the vocabulary spells them: shorthand
expanded, typos of known words corrected, phrases folded, number words made digits.

Typo correction is for vocabulary only ("hw many windws boxes" → "how many windows boxes").
It never touches a word with a digit or a dash, a word in a name position ("the X service"),
or an asset's name: those are names, and names are looked up, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsconductor.brain import lexicon
from opsconductor.brain.tokens import NAME_SHAPED, PLAIN_WORD, Token, TokenKind, mark, tokenize
from opsconductor.catalog.models import ParameterSpec

MAX_PHRASE_WORDS = 3
# Words before a name the request gives: never corrected into vocabulary.
_NAME_BEFORE = frozenset({"service", "unit", "daemon", "database", "db", "tagged", "tag"})
_NAME_BEFORE |= lexicon.NAME_CUES | frozenset({"app", "application", "package"})
_NAME_AFTER = frozenset({"service", "daemon", "unit", "database", "db", "process", "processes"})
_SLOT_VERBS = frozenset().union(*lexicon.SLOT_VERBS.values())


def _edit_budget(word: str) -> int:
    """How many edits a word of this length may be away from the one meant. Short words are
    too often real words of their own ("slow", "half") to be read as another."""
    if len(word) < 5:
        return 0
    return 1 if len(word) < 11 else 2


def _acceptable(word: str, choice: str) -> bool:
    """A correction that only drops a prefix or suffix makes another word ("inactive" is not
    "active"); one into a change verb must not come from a short word."""
    if choice in word and word not in {f"{choice}s", f"{choice}es"}:
        return False
    concept = lexicon.SYNONYMS.get(choice, choice)
    return concept not in lexicon.CHANGE_VERBS or len(word) >= 6


class Vocabulary:
    """Every word the lexicon and the catalog's examples use."""

    def __init__(
        self,
        example_texts: Iterable[str] = (),
        parameters: Iterable[tuple[str, ParameterSpec]] = (),
    ) -> None:
        # Which word next to a number says which parameter it fills: the lexicon's general
        # English, then what the catalog's parameters declare (`slot:` in the YAML).
        self.number_before: dict[str, str] = dict(lexicon.NUMBER_BEFORE)
        self.number_after: dict[str, str] = dict(lexicon.NUMBER_AFTER)
        self.value_before: dict[str, str] = {}
        self.value_after: dict[str, str] = {}
        for name, spec in parameters:
            if spec.slot is not None:
                self.number_before.update(dict.fromkeys(spec.slot.numbers_before, name))
                self.number_after.update(dict.fromkeys(spec.slot.numbers_after, name))
                self.value_before.update(dict.fromkeys(spec.slot.words_before, name))
                self.value_after.update(dict.fromkeys(spec.slot.words_after, name))
        words: set[str] = set(lexicon.STOP_WORDS) | set(lexicon.SLANG.values())
        for table in (lexicon.SYNONYMS, lexicon.OS_WORDS, lexicon.DEVICE_WORDS):
            words |= set(table) | set(table.values())
        words |= set(lexicon.ENVIRONMENT_WORDS) | set(lexicon.NUMBER_WORDS)
        words |= set(self.number_before) | set(self.number_after) | lexicon.PROTOCOL_WORDS
        words |= set(self.value_before) | set(self.value_after)
        for group in (
            lexicon.SCOPE_WORDS,
            lexicon.DISTRIBUTION_WORDS,
            lexicon.LOCATION_WORDS,
            lexicon.NEGATION_WORDS,
            lexicon.QUALIFIER_CUES,
            lexicon.QUALIFIER_GLUE,
            lexicon.RANGE_WORDS,
            lexicon.KNOWN_SERVICES,
            lexicon.MANNER_WORDS,
            lexicon.NAME_NOUNS,
            lexicon.MEMORY_NOUNS,
            lexicon.CPU_NOUNS,
            frozenset(lexicon.DISTRIBUTIONS),
            frozenset(lexicon.MEMORY_UNITS),
        ):
            words |= group
        for phrase in lexicon.COMPARISONS:
            words |= set(phrase.split())
        for phrase in lexicon.PHRASES:
            words |= set(phrase.split())
        for text in example_texts:
            words |= {t.lower for t in tokenize(text) if not t.lower.startswith("{")}
        self.words = frozenset(w for w in words if "{" not in w)
        # Correction targets: plain words long enough that one edit does not make another.
        self._targets = sorted(w for w in self.words if PLAIN_WORD.match(w) and len(w) >= 3)

    def named_value(self, tokens: list[Token], position: int) -> str | None:
        """The parameter a name-shaped word fills by the catalog's cue next to it ("user
        alice", "alice account"); None when no declared cue stands beside it."""
        token = tokens[position]
        if not token.free or not NAME_SHAPED.match(token.lower) or token.norm in lexicon.STOP_WORDS:
            return None
        before = tokens[position - 1].norm if position else ""
        after = tokens[position + 1].norm if position + 1 < len(tokens) else ""
        if before in self.value_before and token.norm not in self.value_before:
            return self.value_before[before]
        if after in self.value_after and token.norm not in self.value_after:
            return self.value_after[after]
        return None

    def number_input(self, tokens: list[Token], position: int) -> str | None:
        """The parameter the number at `position` fills, by the words around it: the one
        right before ("pid 4242"), or one of the two after ("20 lines", "20 failed logins")."""
        before = tokens[position - 1].norm if position else ""
        if before in self.number_before:
            return self.number_before[before]
        for after in tokens[position + 1 : position + 3]:
            if after.norm in self.number_after:
                return self.number_after[after.norm]
        return None

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def correct(self, word: str, extra: Iterable[str] = ()) -> str | None:
        """The one known word `word` is a typo of, or None (known already, too far, or as
        close to two different words)."""
        budget = _edit_budget(word)
        if budget == 0 or word in self.words or not PLAIN_WORD.match(word):
            return None
        from rapidfuzz import process  # here: a request whose words are all known never needs it
        from rapidfuzz.distance import OSA

        choices = [*self._targets, *extra]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=budget, limit=3)
        found = [match for match in found if _acceptable(word, match[0])]
        if not found:
            return None
        best = min(score for _, score, _ in found)
        closest = {choice for choice, score, _ in found if score == best}
        meanings = {_meaning(choice) for choice in closest}
        return min(closest) if len(meanings) == 1 else None

    def nearest(self, word: str) -> str | None:
        """The one known word one edit away from `word`, to offer ('rebot' → 'reboot'), even
        where `correct` would not read it so; None when none is, or several are."""
        if word in self.words or not PLAIN_WORD.match(word) or len(word) < 4:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        found = process.extract(word, list(self._targets), scorer=OSA.distance, score_cutoff=1)
        closest = {choice for choice, _, _ in found}
        return closest.pop() if len(closest) == 1 else None


def _meaning(word: str) -> str:
    for table in (lexicon.SYNONYMS, lexicon.OS_WORDS, lexicon.DEVICE_WORDS):
        if word in table:
            return table[word]
    return lexicon.ENVIRONMENT_WORDS.get(word, word)


def normalise(tokens: list[Token], vocabulary: Vocabulary, extra: Iterable[str] = ()) -> list[str]:
    """Fill each free token's `norm`; returns the reasons (what was read as what).

    `extra` are more correctable words (the inventory's tags and environments)."""
    reasons: list[str] = []
    extra_words = sorted(set(extra))
    for position, token in enumerate(tokens):
        if not token.free:
            continue
        token.norm = lexicon.SLANG.get(token.lower, token.lower)
        if token.norm in lexicon.NUMBER_WORDS:
            token.norm = lexicon.NUMBER_WORDS[token.norm]
        elif not _name_position(tokens, position):
            fixed = vocabulary.correct(token.norm, extra_words)
            if fixed is not None:
                reasons.append(f"'{token.text}' read as '{fixed}'")
                token.norm = fixed
    fold_phrases(tokens)
    return reasons


def _name_position(tokens: list[Token], position: int) -> bool:
    before = tokens[position - 1].lower if position else ""
    after = tokens[position + 1].lower if position + 1 < len(tokens) else ""
    verb = lexicon.SYNONYMS.get(before, before)
    return before in _NAME_BEFORE or after in _NAME_AFTER or verb in _SLOT_VERBS


def fold_phrases(tokens: list[Token]) -> None:
    """'how many' → one token 'count'; the longest phrase at each position wins."""
    position = 0
    while position < len(tokens):
        for size in range(MAX_PHRASE_WORDS, 1, -1):
            window = tokens[position : position + size]
            if len(window) < size or not all(t.free for t in window):
                continue
            concept = lexicon.PHRASES.get(" ".join(t.norm for t in window))
            if concept is not None:
                window[0].norm = concept
                for token in window[1:]:
                    mark(token, TokenKind.CONSUMED)
                position += size - 1
                break
        position += 1
