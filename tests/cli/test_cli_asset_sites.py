"""`assets list --location/--service` and the new columns, in a real process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.clirun import make_store

SITES_YAML = """
assets:
  - {name: dr-web-01, os_type: linux, device_type: server, data_center: DR,
     services: [nginx, billing-api]}
  - {name: dr-db-01, os_type: linux, device_type: server, location: dr, services: [postgresql]}
  - {name: east-web-01, os_type: linux, device_type: server, location: dc-east, services: [nginx]}
"""


def test_assets_list_filters_by_location_and_service(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    (tmp_path / "sites.yaml").write_text(SITES_YAML, encoding="utf-8")
    assert store.cli("assets", "import", str(tmp_path / "sites.yaml")).returncode == 0

    at_dr = store.json("assets", "list", "--location", "DR", "--service", "nginx")
    assert [(a["name"], a["location"], a["services"]) for a in at_dr] == [
        ("dr-web-01", "DR", ["nginx", "billing-api"])
    ]
    table = store.cli("assets", "list", "--location", "dr", COLUMNS="200")
    assert table.returncode == 0, table.stderr
    assert "location" in table.stdout and "postgresql" in table.stdout
    assert "east-web-01" not in table.stdout

    shown = json.loads(store.cli("assets", "show", "dr-db-01", "--format", "json").stdout)
    assert shown["location"] == "dr" and shown["services"] == ["postgresql"]

    bad = store.cli("assets", "list", "--service", "a b")
    assert bad.returncode != 0 and "bad filter: service: String should match" in bad.stderr
