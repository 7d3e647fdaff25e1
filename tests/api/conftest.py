"""The `api` fixture: the application on SQLite and on PostgreSQL in turn (via `settings`),
without the embedded worker so that nothing runs or expires behind a test's back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.api.harness import Api, serve_api
from tests.conftest import FLEET, seed

from opsconductor.config import Settings


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with serve_api(settings.model_copy(update={"embedded_worker": False})) as opened:
        await seed(opened.conductor, FLEET)
        yield opened
