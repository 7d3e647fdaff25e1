"""Stage A's first half: what a request names — assets, groups, services, paths, versions."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from opsconductor.brain import lexicon
from opsconductor.brain.groups import GroupReading, QualifierKind, Unread, read_groups
from opsconductor.brain.index import MAX_NAME_WORDS, InventoryIndex
from opsconductor.brain.qualifiers import location_shaped
from opsconductor.brain.slots import fill_slots
from opsconductor.brain.tokens import (
    DOMAIN,
    HOST_SHAPED,
    NAME_SHAPED,
    NUMBER,
    PATH,
    URL,
    VERSION,
    Token,
    TokenKind,
    ip_prefix,
    is_ip,
    mark,
    tokenize,
)
from opsconductor.brain.vocabulary import Vocabulary, normalise
from opsconductor.inventory.models import AssetFilter
from opsconductor.schemas.decision import Entity, EntityType

_RANGE_BEFORE = frozenset({"in", "within", "from"})
_ON = frozenset({"on", "from"})


@dataclass
class Extraction:
    """Everything Stage A read off a request before deciding what it asks."""

    tokens: list[Token]
    entities: list[Entity] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # assets named one by one
    group: AssetFilter | None = None  # the assets the request's group words select
    unread: list[Unread] = field(default_factory=list)  # qualifiers no filter can express
    mismatched: list[str] = field(default_factory=list)  # named assets the qualifiers exclude
    described: AssetFilter | None = None  # what the qualifiers say of the named assets
    unknown_hosts: list[str] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    singular_group: bool = False
    reasons: list[str] = field(default_factory=list)

    def add(
        self,
        kind: EntityType,
        value: str,
        matched: str,
        assets: list[str] | None = None,
        flt: AssetFilter | None = None,
    ) -> None:
        entity = Entity(
            type=kind,
            value=value,
            matched=matched,
            assets=assets or [],
            filter=filter_inputs(flt) if flt is not None else None,
        )
        self.entities.append(entity)
        if kind is EntityType.ASSET:
            self.targets = list(dict.fromkeys([*self.targets, *(assets or [])]))

    def all_targets(self, index: InventoryIndex) -> list[str]:
        """Named assets first, then group members, each once. Resolving a group walks the
        inventory, so it is done only for tools that act on assets one by one."""
        members = index.select(self.group) if self.group is not None else []
        return list(dict.fromkeys([*self.targets, *members]))


def filter_inputs(flt: AssetFilter) -> dict[str, str]:
    """A group filter as the string inputs of the inventory tools."""
    values = flt.model_dump(mode="json", exclude_defaults=True)
    for listed in ("tags", "either", "exclude"):  # `connectors.inventory.filter_from_inputs`
        if listed in values:
            values[listed] = ",".join(values[listed])
    return {key: str(value) for key, value in values.items()}


def extract(text: str, index: InventoryIndex, vocabulary: Vocabulary) -> Extraction:
    """Read the request's names against the inventory; no guessing of unknown hosts."""
    result = Extraction(tokens=tokenize(text))
    _multiword_assets(result, index)
    _multiword_tags(result, index)
    _destinations(result)
    for token in result.tokens:
        if token.free:
            _handle(result, index, token)
    result.reasons += normalise(result.tokens, vocabulary, [*index.tags, *index.environments])
    for position, token in enumerate(result.tokens):
        if token.free:
            _classify(result, index, vocabulary, position, token)
    for kind, value, matched in fill_slots(result.tokens, index, vocabulary):
        result.inputs.setdefault(kind.input, value)
        if kind.entity is not None:
            result.add(kind.entity, value, matched)
    for position, token in enumerate(result.tokens):
        parameter = vocabulary.named_value(result.tokens, position)
        if parameter is not None:
            mark(token, TokenKind.VALUE)
            result.inputs.setdefault(parameter, token.text)  # as written, like a service
    _apply_group(result, read_groups(result.tokens, index, vocabulary), index)
    _numbers(result, vocabulary)
    return result


def _multiword_assets(result: Extraction, index: InventoryIndex) -> None:
    tokens = result.tokens
    for size in range(min(MAX_NAME_WORDS, len(tokens)), 1, -1):
        for start in range(len(tokens) - size + 1):
            window = tokens[start : start + size]
            if not all(t.free for t in window):
                continue
            name = index.phrase(tuple(t.lower for t in window))
            if name:
                for t in window:
                    mark(t, TokenKind.CONSUMED)
                mark(window[0], TokenKind.ASSET, name)
                result.add(EntityType.ASSET, name, " ".join(t.text for t in window), [name])
                result.reasons.append(f"'{name}' is an asset (by name)")


def _multiword_tags(result: Extraction, index: InventoryIndex) -> None:
    """'load balancers' where the inventory tags assets 'load-balancer': one word, the tag's
    (plural kept, so it can stand for the assets tagged so)."""
    tokens = result.tokens
    for first, second in itertools.pairwise(tokens):
        if not (first.free and second.free):
            continue
        joined = f"{first.lower}-{second.lower}"
        singular = joined[:-1] if joined.endswith("s") else joined
        if joined in index.tags or singular in index.tags:
            first.text, first.lower, first.norm = f"{first.text} {second.text}", joined, joined
            mark(second, TokenKind.CONSUMED)
            result.reasons.append(f"'{first.text}' is the tag {index.tags.get(joined, singular)}")


def _handle(result: Extraction, index: InventoryIndex, token: Token) -> None:
    """A name, hostname, short hostname or IP of an asset, exactly as written."""
    names = index.lookup(token.lower)
    if len(names) == 1:
        mark(token, TokenKind.ASSET, names[0])
        result.add(EntityType.ASSET, names[0], token.text, names)
        result.reasons.append(f"'{token.text}' is asset {names[0]}")
    elif names:
        mark(token, TokenKind.ASSET_AMBIGUOUS)
        result.ambiguous[token.text] = names


def _destinations(result: Extraction) -> None:
    """The object of ping/curl/connectivity is a place to reach, not a machine to run on."""
    tokens = result.tokens
    for position, token in enumerate(tokens):
        canonical = lexicon.SYNONYMS.get(token.norm, token.norm)
        if canonical not in lexicon.DESTINATION_VERBS and token.norm not in {"to", "reach"}:
            continue
        for follower in tokens[position + 1 : position + 3]:
            if follower.lower in lexicon.HOST_CONTEXT:
                break  # "wget on 10.0.0.5": what follows 'on' is where to run, not the object
            if follower.free and _looks_like_destination(follower.lower):
                mark(follower, TokenKind.DESTINATION)
                result.add(EntityType.DESTINATION, follower.text, follower.text)
                result.inputs.setdefault("destination", follower.text)
                if URL.match(follower.lower) or follower.lower.startswith("http"):
                    result.inputs.setdefault("url", _as_url(follower.text))
                break


def _looks_like_destination(word: str) -> bool:
    return bool(is_ip(word) or DOMAIN.match(word) or URL.match(word) or word.startswith("http"))


def _as_url(word: str) -> str:
    return word if word.lower().startswith(("http://", "https://")) else f"https://{word}"


def _classify(
    result: Extraction, index: InventoryIndex, vocabulary: Vocabulary, position: int, token: Token
) -> None:
    word = token.lower
    if location_shaped(word):
        return  # "rack-12" is a place: the group grammar names it back
    if is_ip(word) and _address_range(result, position):
        return
    if is_ip(word) or (HOST_SHAPED.match(word) and _host_context(result.tokens, position)):
        _unknown_host(result, token)
    elif (prefix := ip_prefix(word)) and _range_context(result.tokens, position):
        mark(token, TokenKind.IP_PREFIX, prefix)
    elif PATH.match(token.text) and len(token.text) > 1:
        mark(token, TokenKind.PATH)
        result.add(EntityType.PATH, token.text, token.text)
        result.inputs.setdefault("path", token.text)
    elif URL.match(word):
        mark(token, TokenKind.DESTINATION)
        result.inputs.setdefault("url", _as_url(token.text))
    elif VERSION.match(word):
        mark(token, TokenKind.VERSION, token.text.lstrip("vV"))
        result.add(EntityType.VERSION, token.value, token.text)
        result.inputs.setdefault("version", token.value)
    elif NUMBER.match(token.norm):
        mark(token, TokenKind.NUMBER, token.norm)
    elif _unknown_host_shaped(result.tokens, position, index, vocabulary):
        _unknown_host(result, token)


def _address_range(result: Extraction, position: int) -> bool:
    """'between 10.1.1.1 and 10.1.1.50', 'from 10.1.1.1 to 10.1.1.50': a range of addresses,
    which a filter cannot express (it selects by prefix): named back, never two hosts."""
    tokens = result.tokens
    before = tokens[position - 1].norm if position else ""
    if before not in {"between", "from"} or position + 2 >= len(tokens):
        return False
    joiner, end = tokens[position + 1], tokens[position + 2]
    if joiner.norm not in {"and", "to", "-"} or not is_ip(end.lower):
        return False
    for token in tokens[position - 1 : position + 3]:
        mark(token, TokenKind.QUALIFIER)
    words = " ".join(t.text for t in tokens[position - 1 : position + 3])
    result.unread.append(Unread(words, "address range"))
    return True


def _unknown_host_shaped(
    tokens: list[Token], position: int, index: InventoryIndex, vocabulary: Vocabulary
) -> bool:
    word = tokens[position].lower
    if DOMAIN.match(word) and word.count(".") >= 2 and _host_context(tokens, position):
        return True
    if HOST_SHAPED.match(word) and "-" in word and not _service_shaped(word):
        return True
    return _unknown_after_on(tokens, position, index, vocabulary)


def _unknown_after_on(
    tokens: list[Token], position: int, index: InventoryIndex, vocabulary: Vocabulary
) -> bool:
    """'check disk on webserver': a word where a machine goes that is nothing we know is a
    host we do not know (named back, with the closest assets), never skipped."""
    token = tokens[position]
    word = token.norm
    return (
        position > 0
        and tokens[position - 1].norm in _ON
        and bool(NAME_SHAPED.match(word))
        and word not in vocabulary
        and word not in index.tags
        and word not in index.environments
        and not _service_shaped(word)
    )


def _range_context(tokens: list[Token], position: int) -> bool:
    before = tokens[position - 1].lower if position else ""
    after = tokens[position + 1].lower if position + 1 < len(tokens) else ""
    return "/" in tokens[position].text or before in _RANGE_BEFORE or after in lexicon.RANGE_WORDS


def _host_context(tokens: list[Token], position: int) -> bool:
    return position > 0 and tokens[position - 1].lower in lexicon.HOST_CONTEXT


def _unknown_host(result: Extraction, token: Token) -> None:
    mark(token, TokenKind.UNKNOWN_HOST)
    result.unknown_hosts.append(token.text)
    result.add(EntityType.UNKNOWN_HOST, token.text, token.text)


def _service_shaped(word: str) -> bool:
    return word in lexicon.KNOWN_SERVICES or word.endswith(lexicon.SERVICE_SUFFIXES)


def _apply_group(result: Extraction, reading: GroupReading, index: InventoryIndex) -> None:
    """The group's filter, or — when the request names its assets and the group words only
    describe them ("the staging server web-stg-01") — a check that they fit."""
    result.unread += [*reading.unread, *reading.conflicts()]
    _versions_of_releases(result, reading)
    if not reading.found or result.unread:
        return
    flt = reading.filter()
    _without_excluded(result, flt)
    describing = result.targets and (not reading.plural or _nouns_of_named(result, reading))
    if describing or (result.targets and not reading.heads):
        # People call any machine a server: the noun alone never contradicts a named asset.
        flt = flt.model_copy(update={"device_type": None})
        result.described = flt
        result.mismatched = [t for t in result.targets if not index.assets[t].matches(flt)]
        result.reasons.append(f"named assets checked against {flt.describe()}")
        return
    result.group = flt
    result.singular_group = not reading.plural
    matched = " ".join(t.text for t in result.tokens if t.kind in _GROUP_KINDS)
    result.add(EntityType.GROUP, flt.describe(), matched, None, flt)
    result.reasons.append(f"'{matched}' is a group: {flt.describe()}")


def _nouns_of_named(result: Extraction, reading: GroupReading) -> bool:
    """'the hosts web-01 and web-02', 'the web-01 and web-02 boxes': a plural noun right
    beside the named assets, with nothing else narrowing it, says what they are — never
    'every host' besides them."""
    if any(q.kind is not QualifierKind.DEVICE for q in reading.qualifiers):
        return False
    tokens = result.tokens
    for head in reading.heads:
        at = tokens.index(head)
        after = next((t for t in tokens[at + 1 :] if t.norm not in _COUNTING), None)
        before = tokens[at - 1] if at else None
        if (after is not None and after.kind is TokenKind.ASSET) or (
            before is not None and before.kind is TokenKind.ASSET
        ):
            return True
    return False


# Words between a noun and the assets it names: 'the two hosts web-01 and web-02'.
_COUNTING = frozenset({"two", "three", "four", "both", "2", "3", "4", "named", "called", ":"})


def _without_excluded(result: Extraction, flt: AssetFilter) -> None:
    """'every web server except web-01': the asset the request excludes is no target of it."""
    excluded = {pair.split("=", 1)[1] for pair in flt.exclude if pair.startswith("name=")}
    if excluded:
        result.targets = [t for t in result.targets if t not in excluded]
        result.entities = [
            e for e in result.entities if not (e.type is EntityType.ASSET and e.value in excluded)
        ]


def _versions_of_releases(result: Extraction, reading: GroupReading) -> None:
    """'ubuntu 22.04': the version is the distribution's, not one to deploy."""
    versions = {q.value for q in reading.qualifiers if q.kind is QualifierKind.OS_VERSION}
    if not versions:
        return
    result.entities = [
        e for e in result.entities if not (e.type is EntityType.VERSION and e.value in versions)
    ]
    if result.inputs.get("version") in versions:
        del result.inputs["version"]


_GROUP_KINDS = frozenset({TokenKind.GROUP, TokenKind.QUALIFIER})


def _numbers(result: Extraction, vocabulary: Vocabulary) -> None:
    tokens = result.tokens
    for position, token in enumerate(tokens):
        if token.free and token.norm in lexicon.PROTOCOL_WORDS:
            result.inputs.setdefault("protocol", token.norm)
        if token.kind is not TokenKind.NUMBER:
            continue
        name = vocabulary.number_input(tokens, position)
        if name is not None:
            result.inputs.setdefault(name, token.value)
            result.add(EntityType.NUMBER, token.value, token.text)
