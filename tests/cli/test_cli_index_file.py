"""`opsconductor ask` keeps the inventory index's assets in the home (`brain.index_file`): a
later process reads them from there instead of from every asset in the store, until the
inventory changes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.clirun import FLEET_YAML, Store, make_store


def index_file(store: Store) -> Path:
    return store.home / "cache" / "inventory-index.json"


def targets_of_show(store: Store, name: str) -> list[str] | None:
    """The hosts `show NAME` would run on (the index resolves the name), None when it asks."""
    answered = store.json("ask", f"show {name}", "--dry-run")
    return answered["plan"]["steps"][0]["targets"] if answered["plan"] else None


def test_a_later_ask_reads_the_kept_index_until_the_inventory_changes(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert targets_of_show(store, "ops-console") == ["ops-console"]
    path = index_file(store)
    assert path.stat().st_mode & 0o777 == 0o600
    written = path.stat()

    assert targets_of_show(store, "web-01") is None
    # Not written again: the second process read it (a rebuild from the rows replaces it).
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)

    more = FLEET_YAML + (
        "  - {name: web-01, hostname: web-01.example, os_type: linux, device_type: server}\n"
    )
    (tmp_path / "more.yaml").write_text(more, encoding="utf-8")
    assert store.cli("assets", "import", str(tmp_path / "more.yaml")).returncode == 0
    assert targets_of_show(store, "web-01") == ["web-01"]
    assert path.stat().st_ino != written.st_ino
    names = [row[0] for row in json.loads(path.read_text(encoding="utf-8"))["assets"]]
    assert sorted(names) == ["ops-console", "web-01"]
