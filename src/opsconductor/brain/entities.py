"""Stage A's first half: what a request names — assets, groups, services, paths, versions."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsconductor.brain import lexicon
from opsconductor.brain.index import MAX_NAME_WORDS, InventoryIndex
from opsconductor.brain.tokens import (
    DOMAIN,
    HOST_SHAPED,
    NAME_SHAPED,
    NUMBER,
    PATH,
    URL,
    VERSION,
    Token,
    ip_prefix,
    is_ip,
    tokenize,
)
from opsconductor.inventory.models import AssetFilter, DeviceType, OsType
from opsconductor.schemas.decision import Entity, EntityType

_HOST_CONTEXT = frozenset({"on", "from", "at", "server", "host", "machine", "box", "named", "node"})
_GROUP_GLUE = frozenset({"the", "our", "my", "of"})
_VERB_CONCEPTS = frozenset(
    {
        "count",
        "show",
        "check",
        "status",
        "restart",
        "stop",
        "start",
        "deploy",
        "reboot",
        "kill",
        "delete",
        "modify",
        "open",
        "close",
        "log",
        "ping",
        "http",
    }
)
_TAG_WORDS = frozenset({"tagged", "tag", "labelled", "labeled"})
_TRAILING_GLUE = frozenset({"with", "in", "are", "is", "that", "which", "a"})
_RANGE_WORDS = frozenset({"range", "subnet", "network", "block", "prefix"})


@dataclass
class Extraction:
    """Everything Stage A read off a request before deciding what it asks."""

    tokens: list[Token]
    entities: list[Entity] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # assets named one by one
    groups: list[AssetFilter] = field(default_factory=list)
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
        members = [name for flt in self.groups for name in index.select(flt)]
        return list(dict.fromkeys([*self.targets, *members]))


def filter_inputs(flt: AssetFilter) -> dict[str, str]:
    """A group filter as the string inputs of the inventory tools."""
    values = flt.model_dump(mode="json", exclude_defaults=True)
    if "tags" in values:
        values["tags"] = ",".join(values["tags"])
    return {key: str(value) for key, value in values.items()}


def extract(text: str, index: InventoryIndex) -> Extraction:
    """Read the request's names against the inventory; no guessing of unknown hosts."""
    result = Extraction(tokens=tokenize(text))
    _multiword_assets(result, index)
    _destinations(result)
    for position, token in enumerate(result.tokens):
        if token.free:
            _classify(result, index, position, token)
    _groups(result, index)
    _context_values(result)
    return result


def _mark(token: Token, kind: str, value: str | None = None) -> None:
    token.kind = kind
    token.value = token.text if value is None else value


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
                    _mark(t, "consumed")
                _mark(window[0], "asset", name)
                result.add(EntityType.ASSET, name, " ".join(t.text for t in window), [name])
                result.reasons.append(f"'{name}' is an asset (by name)")


def _destinations(result: Extraction) -> None:
    """The object of ping/curl/connectivity is a place to reach, not a machine to run on."""
    tokens = result.tokens
    for position, token in enumerate(tokens):
        canonical = lexicon.SYNONYMS.get(token.lower, token.lower)
        if canonical not in lexicon.DESTINATION_VERBS and token.lower not in {"to", "reach"}:
            continue
        for follower in tokens[position + 1 : position + 3]:
            if follower.lower in _HOST_CONTEXT:
                break  # "wget on 10.0.0.5": what follows 'on' is where to run, not the object
            if follower.free and _looks_like_destination(follower.lower):
                _mark(follower, "destination")
                result.add(EntityType.DESTINATION, follower.text, follower.text)
                result.inputs.setdefault("destination", follower.text)
                if URL.match(follower.lower) or follower.lower.startswith("http"):
                    result.inputs.setdefault("url", _as_url(follower.text))
                break


def _looks_like_destination(word: str) -> bool:
    return bool(is_ip(word) or DOMAIN.match(word) or URL.match(word) or word.startswith("http"))


def _as_url(word: str) -> str:
    return word if word.lower().startswith(("http://", "https://")) else f"https://{word}"


def _classify(result: Extraction, index: InventoryIndex, position: int, token: Token) -> None:
    word = token.lower
    names = index.lookup(word)
    if len(names) == 1:
        _mark(token, "asset", names[0])
        result.add(EntityType.ASSET, names[0], token.text, names)
        result.reasons.append(f"'{token.text}' is asset {names[0]}")
    elif names:
        _mark(token, "asset_ambiguous")
        result.ambiguous[token.text] = names
    elif is_ip(word) or (HOST_SHAPED.match(word) and _host_context(result.tokens, position)):
        _unknown_host(result, token)
    elif (prefix := ip_prefix(word)) and _range_context(result.tokens, position):
        _mark(token, "ip_prefix", prefix)
    elif PATH.match(token.text) and len(token.text) > 1:
        _mark(token, "path")
        result.add(EntityType.PATH, token.text, token.text)
        result.inputs.setdefault("path", token.text)
    elif URL.match(word):
        _mark(token, "destination")
        result.inputs.setdefault("url", _as_url(token.text))
    elif VERSION.match(word):
        _mark(token, "version", token.text.lstrip("vV"))
        result.add(EntityType.VERSION, token.value, token.text)
        result.inputs.setdefault("version", token.value)
    elif NUMBER.match(word):
        _mark(token, "number")
    elif (
        DOMAIN.match(word) and word.count(".") >= 2 and _host_context(result.tokens, position)
    ) or (HOST_SHAPED.match(word) and "-" in word and not _service_shaped(word)):
        _unknown_host(result, token)


def _range_context(tokens: list[Token], position: int) -> bool:
    before = tokens[position - 1].lower if position else ""
    after = tokens[position + 1].lower if position + 1 < len(tokens) else ""
    return "/" in tokens[position].text or before in {"in", "within"} or after in _RANGE_WORDS


def _host_context(tokens: list[Token], position: int) -> bool:
    return position > 0 and tokens[position - 1].lower in _HOST_CONTEXT


def _unknown_host(result: Extraction, token: Token) -> None:
    _mark(token, "unknown_host")
    result.unknown_hosts.append(token.text)
    result.add(EntityType.UNKNOWN_HOST, token.text, token.text)


def _service_shaped(word: str) -> bool:
    return word in lexicon.KNOWN_SERVICES or word.endswith(lexicon.SERVICE_SUFFIXES)


def _groups(result: Extraction, index: InventoryIndex) -> None:
    """Spans like 'all production linux servers' or 'hosts tagged ring-A' become filters."""
    tokens = result.tokens
    position = 0
    while position < len(tokens):
        end = _group_span_end(tokens, position, index)
        if end is None:
            position += 1
            continue
        span = tokens[position:end]
        if _lone_singular_noun(span):
            # "server details", "the server web-01": a word about an asset, not a group of them.
            position = end
            continue
        flt, words = _group_filter(span, index)
        for t in span:
            if t.free or t.kind == "ip_prefix":
                _mark(t, "consumed")
        _mark(span[-1], "group", flt.describe())
        result.groups.append(flt)
        matched = " ".join(t.text for t in span)
        # A group keeps its filter; its members are looked up only if a host tool needs them.
        result.add(EntityType.GROUP, flt.describe(), matched, None, flt)
        result.reasons.append(f"'{' '.join(words)}' is a group: {flt.describe()}")
        result.singular_group = not any(
            t.lower in lexicon.SCOPE_WORDS or t.lower.endswith("s") for t in span
        )
        position = end


def _lone_singular_noun(span: list[Token]) -> bool:
    meaningful = [t.lower for t in span if t.lower not in _GROUP_GLUE]
    return (
        len(meaningful) == 1
        and meaningful[0] in lexicon.DEVICE_WORDS
        and not meaningful[0].endswith("s")
    )


def _group_span_end(tokens: list[Token], start: int, index: InventoryIndex) -> int | None:
    """End (exclusive) of a group phrase starting at `start`, which must close on a device noun
    or a 'tagged X'; None when no group starts here. Filters after the noun extend it:
    'servers in staging', 'hosts that are tagged ring-A'."""
    position = start
    closed_at = None
    while position < len(tokens):
        token = tokens[position]
        word = token.lower
        if not (token.free or token.kind == "ip_prefix"):
            break
        if word in lexicon.DEVICE_WORDS:
            closed_at = position + 1
        elif word in _TAG_WORDS and position + 1 < len(tokens):
            position += 1
            closed_at = position + 1
        elif closed_at is not None and word in _TRAILING_GLUE:
            pass
        elif closed_at is None and _qualifier_before_noun(tokens, position, index):
            pass  # "app servers" with no 'app' tag: narrows by name, never widens to all servers
        elif _group_word(token, index) or (closed_at and word in _RANGE_WORDS):
            if closed_at is not None and word not in _GROUP_GLUE | lexicon.SCOPE_WORDS:
                closed_at = position + 1
        else:
            break
        position += 1
    return closed_at if closed_at is not None and closed_at > start else None


def _qualifier_before_noun(tokens: list[Token], position: int, index: InventoryIndex) -> bool:
    following = tokens[position + 1].lower if position + 1 < len(tokens) else ""
    return following in lexicon.DEVICE_WORDS and _is_qualifier(tokens[position], index)


def _is_qualifier(token: Token, index: InventoryIndex) -> bool:
    """A word narrowing a group that the inventory has no tag or environment for."""
    word = token.lower
    return (
        token.free
        and not _group_word(token, index)
        and word not in lexicon.STOP_WORDS
        and word not in _TRAILING_GLUE
        and word not in _RANGE_WORDS
        and word not in lexicon.DEVICE_WORDS
        and lexicon.SYNONYMS.get(word) not in _VERB_CONCEPTS
        and bool(NAME_SHAPED.match(word))
    )


def _group_word(token: Token, index: InventoryIndex) -> bool:
    word = token.lower
    return (
        word in lexicon.SCOPE_WORDS
        or word in _GROUP_GLUE
        or word in lexicon.OS_WORDS
        or word in index.environments
        or word in index.tags
        or token.kind == "ip_prefix"
    )


def _group_filter(span: list[Token], index: InventoryIndex) -> tuple[AssetFilter, list[str]]:
    values: dict[str, object] = {}
    tags: list[str] = []
    words: list[str] = []
    tag_next = False
    for token in span:
        word = token.lower
        words.append(token.text)
        device = lexicon.DEVICE_WORDS.get(word)
        if tag_next:
            tags.append(index.tags.get(word, token.text))
            tag_next = False
        elif word in _TAG_WORDS:
            tag_next = True
        elif token.kind == "ip_prefix":
            values["ip_prefix"] = token.value
        elif word in lexicon.OS_WORDS:
            values["os_type"] = OsType(lexicon.OS_WORDS[word])
        elif word in index.environments and "environment" not in values:
            values["environment"] = index.environments[word]
        elif word in index.tags:
            tags.append(index.tags[word])
        elif device and device != "any":
            values["device_type"] = DeviceType(device)
        elif _is_qualifier(token, index):
            values["text"] = word  # a qualifier the inventory has no tag for
    return AssetFilter.model_validate({**values, "tags": tuple(tags)}), words


def _context_values(result: Extraction) -> None:
    """Services, applications, process names and counts, read from the words around them."""
    tokens = result.tokens
    deploying = any(lexicon.SYNONYMS.get(t.lower) == "deploy" for t in tokens)
    for position, token in enumerate(tokens):
        if not token.free:
            continue
        before = tokens[position - 1].lower if position else ""
        after = tokens[position + 1].lower if position + 1 < len(tokens) else ""
        if deploying and lexicon.SYNONYMS.get(before) == "deploy" and _is_name(token.lower):
            _mark(token, "application")
            result.add(EntityType.APPLICATION, token.text, token.text)
            result.inputs.setdefault("app", token.text)
        elif _names_service(token, before, after):
            _mark(token, "service")
            result.add(EntityType.SERVICE, token.text, token.text)
            result.inputs.setdefault("service", token.text)
        elif before in {"database", "db"} and _is_name(token.lower):
            _mark(token, "database")
            result.inputs.setdefault("database", token.text)
        elif after in {"process", "processes"} and _is_name(token.lower):
            _mark(token, "process")
            result.add(EntityType.PROCESS, token.text, token.text)
            result.inputs.setdefault("process_name", token.text)
    _numbers(result)


def _is_name(word: str) -> bool:
    return (
        bool(NAME_SHAPED.match(word))
        and word not in lexicon.STOP_WORDS
        and word not in lexicon.SYNONYMS
        and not word.isdigit()
    )


def _names_service(token: Token, before: str, after: str) -> bool:
    word = token.lower
    if _service_shaped(word) and not HOST_SHAPED.match(word):
        return True
    named_by_context = before in {"service", "unit", "daemon"} or after in {
        "service",
        "daemon",
        "unit",
    }
    return named_by_context and _is_name(word)


def _numbers(result: Extraction) -> None:
    tokens = result.tokens
    for position, token in enumerate(tokens):
        if token.kind != "number":
            continue
        before = tokens[position - 1].lower if position else ""
        after = tokens[position + 1].lower if position + 1 < len(tokens) else ""
        if before in {"pid", "process"} or after == "pid":
            result.inputs.setdefault("process_id", token.text)
            kind = EntityType.NUMBER
        elif after in {"lines", "line", "entries"}:
            result.inputs.setdefault("lines", token.text)
            kind = EntityType.NUMBER
        elif before == "port":
            result.inputs.setdefault("port", token.text)
            kind = EntityType.NUMBER
        elif after in {"times", "packets", "pings"}:
            result.inputs.setdefault("count", token.text)
            kind = EntityType.NUMBER
        else:
            continue
        result.add(kind, token.text, token.text)
