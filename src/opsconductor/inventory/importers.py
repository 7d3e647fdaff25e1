"""Read asset files (YAML, CSV or an Ansible inventory) into validated assets, all or nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from opsconductor.errors import ImportRejected
from opsconductor.inventory.ansible import (
    looks_like_ansible_yaml,
    parse_ansible_ini,
    parse_ansible_yaml,
)
from opsconductor.inventory.models import Asset

MAX_FILE_BYTES = 50 * 1024 * 1024
# Ansible INI inventories are often named `hosts` or `production`, without a suffix.
ANSIBLE_INI_SUFFIXES = {".ini", ".cfg", ""}
CSV_CONNECTION_COLUMNS = {
    "connection_protocol": "protocol",
    "connection_port": "port",
    "connection_username": "username",
    "connection_credential": "credential",
}


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


def _load_yaml(content: str, *, source: str) -> object:
    try:
        return yaml.safe_load(content)
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
    reader = csv.DictReader(io.StringIO(content))
    rows: list[dict[str, Any]] = []
    for record in reader:
        if None in record:
            raise ImportRejected(f"{source}: row {len(rows) + 1}: more values than columns")
        rows.append(_csv_record_to_row(record))
    return validate_rows(rows, source=source)


def _csv_record_to_row(record: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    connection: dict[str, str] = {}
    for column, value in record.items():
        if value is None or value.strip() == "":
            continue
        if column in CSV_CONNECTION_COLUMNS:
            connection[CSV_CONNECTION_COLUMNS[column]] = value
        elif column == "tags":
            row["tags"] = [tag for tag in value.replace("|", ";").split(";") if tag.strip()]
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
        try:
            asset = Asset.model_validate(raw)
        except ValidationError as exc:
            raise ImportRejected(f"{label}: {_describe(exc)}") from None
        key = asset.name.lower()
        if key in first_row_of:
            raise ImportRejected(
                f"{label}: field name: duplicate of row {first_row_of[key]} ({asset.name!r})"
            )
        first_row_of[key] = number
        assets.append(asset)
    return assets


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "row"
    if error["type"] == "extra_forbidden":
        return f"field {field}: unknown field"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field {field}: {message}"
