from __future__ import annotations

import pytest
from tests.brain.fleet import fleet_index

from opsconductor.brain.index import InventoryIndex
from opsconductor.brain.rules import RulesBrain
from opsconductor.catalog.loader import load_catalog


@pytest.fixture(scope="session")
def brain() -> RulesBrain:
    return RulesBrain(load_catalog())


@pytest.fixture(scope="session")
def index() -> InventoryIndex:
    return fleet_index()
