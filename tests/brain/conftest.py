from __future__ import annotations

import pytest

from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import load_catalog
from tests.brain.fleet import fleet_index


@pytest.fixture(scope="session")
def brain() -> RulesBrain:
    return RulesBrain(load_catalog())


@pytest.fixture(scope="session")
def index() -> InventoryIndex:
    return fleet_index()
