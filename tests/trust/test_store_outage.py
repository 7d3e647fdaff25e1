"""A database outage while a change runs: the step finishes on the host while the store cannot
be reached; the worker keeps the result, retries its writes with backoff, and stores it once
the database is back. The host ran the change once and the answer is the truth."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import make_url
from tests.sshhosts import SshHost
from tests.trust.conftest import Store
from tests.trust.processes import finished, running, serve, set_delay
from tests.trust.proxy import Proxy
from tests.trust.test_crash_recovery import ask_in_background, executions, wait_until

OUTAGE_S = 8.0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_step_that_ends_during_an_outage_keeps_its_result(
    store: Store, hosts: list[SshHost], database_url: str
) -> None:
    real = make_url(database_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    through_proxy = real.set(host="127.0.0.1", port=proxy.port)
    env = store.env | {
        "OPSCONDUCTOR_DATABASE_URL": through_proxy.render_as_string(hide_password=False),
        # The lease outlasts the outage: nobody may take the run over meanwhile.
        "OPSCONDUCTOR_LEASE_S": "30",
    }
    host = hosts[0]
    set_delay(host, 3)
    api = serve(env, store.logs / "serve.log")
    try:
        with running(api):
            ask_in_background(store, api.url, f"restart nginx on {host.name}")
            wait_until(lambda: host.received("systemctl"), 20, "the restart started")
            proxy.cut()
            outage_started = time.monotonic()
            wait_until(lambda: finished(host, "systemctl"), 20, "the restart finished")
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - outage_started)))
            proxy.restore()

            async def ended() -> str | None:
                [execution] = await executions(store)  # straight to the database
                return execution.state if execution.state != "running" else None

            deadline = time.monotonic() + 60
            state = None
            while state is None and time.monotonic() < deadline:
                state = await ended()
                time.sleep(0.2)
            assert api.popen is not None and api.popen.poll() is None  # it lived through it
    finally:
        proxy.close()
    assert state == "succeeded"
    assert host.received("systemctl") == [["restart", "--", "nginx"]]
    assert "trying again" in (store.logs / "serve.log").read_text()
