"""Read asset files (YAML, CSV or an Ansible inventory) into validated assets, all or nothing."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError
from yaml.composer import Composer

from opsconductor.errors import ImportRejected
from opsconductor.inventory.ansible import (
    looks_like_ansible_yaml,
    parse_ansible_ini,
    parse_ansible_yaml,
)
from opsconductor.inventory.models import Asset

MAX_FILE_BYTES = 50 * 1024 * 1024
# An asset file is four levels deep, an Ansible inventory two per level of child groups; far
# deeper nesting is an attack on the parser's recursion, refused before it gets there.
MAX_YAML_DEPTH = 100
# Ansible INI inventories are often named `hosts` or `production`, without a suffix.
ANSIBLE_INI_SUFFIXES = {".ini", ".cfg", ""}
CSV_CONNECTION_COLUMNS = {
    "connection_protocol": "protocol",
    "connection_port": "port",
    "connection_username": "username",
    "connection_credential": "credential",
}
# Other tools' names for our fields, taken in any file: the upstream sample's `data_center`.
FIELD_ALIASES = {"data_center": "location"}
# A list in one CSV cell: tags by `;` or `|`; services (which hold no separator) by `,` too.
_TAG_SEPARATORS = re.compile(r"[;|]")
_SERVICE_SEPARATORS = re.compile(r"[,;|]")


def read_assets_file(path: Path) -> list[Asset]:
    """Parse and validate every row; the first bad row rejects the whole file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportRejected(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportRejected(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ImportRejected(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ImportRejected(f"{path}: cannot read: {exc.strerror}") from None
    source, suffix = str(path), path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        document = _load_yaml(content, source=source)
        if looks_like_ansible_yaml(document):
            return validate_rows(parse_ansible_yaml(document, source=source), source=source)
        return _assets_from_document(document, source=source)
    if suffix == ".csv":
        return parse_assets_csv(content, source=source)
    if suffix in ANSIBLE_INI_SUFFIXES:
        return validate_rows(parse_ansible_ini(content, source=source), source=source)
    raise ImportRejected(
        f"{path}: unknown format {suffix}; use .yaml, .yml, .csv or .ini (Ansible)"
    )


def parse_assets_yaml(content: str, *, source: str = "<yaml>") -> list[Asset]:
    return _assets_from_document(_load_yaml(content, source=source), source=source)


class _TooDeep(yaml.YAMLError):
    pass


class _DepthLimit(Composer):
    """PyYAML's composer (recursive, in Python), counting how deep the node being composed is
    and stopping past MAX_YAML_DEPTH; it goes before the parser in a loader's bases."""

    _depth = 0
    if TYPE_CHECKING:

        def peek_event(self) -> yaml.Event: ...

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                raise _TooDeep(f"nested more than {MAX_YAML_DEPTH} levels deep{at}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if yaml.__with_libyaml__:
    # libyaml's parser (several times faster on a big file), with our composer instead of its
    # C one, which recurses without any limit.
    class _SafeLoader(_DepthLimit, yaml.CSafeLoader):
        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            self.anchors = {}

else:  # pragma: no cover - PyYAML built without libyaml

    class _SafeLoader(_DepthLimit, yaml.SafeLoader):  # type: ignore[no-redef]
        pass


def _load_yaml(content: str, *, source: str) -> object:
    try:
        return yaml.load(content, Loader=_SafeLoader)  # noqa: S506 - a safe constructor
    except _TooDeep as exc:
        raise ImportRejected(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ImportRejected(f"{source}: not valid YAML: {exc}") from None


def _assets_from_document(document: object, *, source: str) -> list[Asset]:
    if not isinstance(document, dict) or set(document) != {"assets"}:
        raise ImportRejected(f"{source}: expected a mapping with one key, 'assets'")
    rows = document["assets"]
    if not isinstance(rows, list):
        raise ImportRejected(f"{source}: 'assets' must be a list")
    return validate_rows(rows, source=source)


def parse_assets_csv(content: str, *, source: str = "<csv>") -> list[Asset]:
    lines = _Lines(content)
    reader = csv.DictReader(lines)
    rows: list[dict[str, Any]] = []
    try:
        _ = reader.fieldnames  # reads the header line
        lines.record_ends()
        for record in reader:
            if None in record:
                raise ImportRejected(f"{source}: row {len(rows) + 1}: more values than columns")
            rows.append(_csv_record_to_row(record))
            lines.record_ends()
    except csv.Error as exc:
        raise ImportRejected(f"{source}: {_csv_problem(exc, lines, reader, len(rows))}") from None
    return validate_rows(rows, source=source)


class _Lines:
    """The lines of a CSV text for `csv.reader`, remembering where the current record began
    (so that an error can be traced back to the record's text)."""

    def __init__(self, content: str) -> None:
        self._lines = iter(io.StringIO(content))
        self.content = content
        self.offset = 0  # where the next line starts
        self.record_start = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.offset += len(line)
        return line

    def record_ends(self) -> None:
        self.record_start = self.offset


def _csv_problem(exc: csv.Error, lines: _Lines, reader: csv.DictReader[str], done: int) -> str:
    where = f"line {reader.line_num}" if reader.fieldnames is None else f"row {done + 1}"
    limit = csv.field_size_limit()
    if "field larger than field limit" not in str(exc):
        return f"{where}: not valid CSV: {exc}"
    column = _oversized_column(lines.content, lines.record_start, limit)
    names = reader.fieldnames or []
    field = f"field {names[column]}" if column < len(names) else f"column {column + 1}"
    return f"{where}: {field}: longer than {limit} characters"


def _oversized_column(content: str, start: int, limit: int) -> int:
    """Which field (0-based) of the CSV record at `start` is the first over `limit` characters,
    reading quotes as the default (excel) dialect does."""
    column, length, quoted, i = 0, 0, False, start
    while i < len(content) and length <= limit:
        char = content[i]
        if quoted and char == '"' and content[i + 1 : i + 2] == '"':
            length, i = length + 1, i + 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char == ",":
            column, length = column + 1, 0
        elif not quoted and char in "\r\n":
            break
        else:
            length += 1
        i += 1
    return column


def _csv_record_to_row(record: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    connection: dict[str, str] = {}
    for column, value in record.items():
        if value is None or value.strip() == "":
            continue
        if column in CSV_CONNECTION_COLUMNS:
            connection[CSV_CONNECTION_COLUMNS[column]] = value
        elif column == "tags":
            row["tags"] = [tag for tag in _TAG_SEPARATORS.split(value) if tag.strip()]
        elif column == "services":
            row["services"] = [name for name in _SERVICE_SEPARATORS.split(value) if name.strip()]
        else:
            row[column] = value
    if connection:
        row["connection"] = connection
    return row


def validate_rows(rows: list[Any], *, source: str) -> list[Asset]:
    """Validate rows in order; error messages name the row (1-based), the asset and the field."""
    assets: list[Asset] = []
    first_row_of: dict[str, int] = {}
    for number, raw in enumerate(rows, start=1):
        label = f"{source}: row {number}"
        if not isinstance(raw, dict):
            raise ImportRejected(f"{label}: expected a mapping of fields")
        if isinstance(raw.get("name"), str):
            label += f" ({raw['name']})"
        raw, written_as = _unalias(raw, label)
        try:
            asset = Asset.model_validate(raw)
        except ValidationError as exc:
            raise ImportRejected(f"{label}: {_describe(exc, written_as)}") from None
        key = asset.name.lower()
        if key in first_row_of:
            raise ImportRejected(
                f"{label}: field name: duplicate of row {first_row_of[key]} ({asset.name!r})"
            )
        first_row_of[key] = number
        assets.append(asset)
    return assets


def _unalias(raw: dict[Any, Any], label: str) -> tuple[dict[Any, Any], dict[str, str]]:
    """The row with aliased fields under their own names, and the alias each was written as."""
    written_as: dict[str, str] = {}
    for alias, field in FIELD_ALIASES.items():
        if alias not in raw:
            continue
        if field in raw:
            raise ImportRejected(f"{label}: field {alias}: another name for {field}; give one")
        raw = {**{k: v for k, v in raw.items() if k != alias}, field: raw[alias]}
        written_as[field] = alias
    return raw, written_as


def _describe(exc: ValidationError, written_as: dict[str, str]) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    if loc:
        loc[0] = written_as.get(loc[0], loc[0])
    field = ".".join(loc) or "row"
    if error["type"] == "extra_forbidden":
        return f"field {field}: unknown field"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field {field}: {message}"
