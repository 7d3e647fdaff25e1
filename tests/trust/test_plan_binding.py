"""An approval binds to where the plan runs, not to a name: re-pointing a target, or deleting
and re-creating it, after the request voids the approval (409, audited) and the machine it now
points at sees nothing — at approval, and again right before the step runs."""

from __future__ import annotations

import time

import httpx
from tests.connectors.fleet import host_asset
from tests.sshhosts import SshHost
from tests.trust.conftest import Store
from tests.trust.processes import running, serve, worker
from tests.trust.test_decision_races import ask_stop


def repoint(root: httpx.Client, asset: str, to: SshHost) -> None:
    moved = root.patch(f"/assets/{asset}", json={"connection": host_asset(to)["connection"]})
    assert moved.status_code == 200, moved.text


def recreate(root: httpx.Client, asset: str, to: SshHost) -> None:
    assert root.delete(f"/assets/{asset}").status_code == 204
    created = root.post("/assets", json={**host_asset(to), "name": asset})
    assert created.status_code in {200, 201}, created.text


async def test_a_repointed_or_recreated_target_voids_the_approval(
    store: Store, hosts: list[SshHost]
) -> None:
    a, b = hosts
    api = serve(store.env, store.logs / "serve.log")
    with (
        running(api),
        store.client(api.url, "alice") as alice,
        store.client(api.url, "bob") as bob,
        store.client(api.url, "root") as root,
    ):
        for change, expected in ((repoint, "connection changed"), (recreate, "added again")):
            approval_id, execution_id = ask_stop(alice, a)
            change(root, a.name, b)
            refused = bob.post(f"/approvals/{approval_id}/approve", json={})
            assert refused.status_code == 409, refused.text
            detail = refused.json()["detail"]
            assert detail.startswith("the plan changed:") and expected in detail, detail
            assert alice.get(f"/executions/{execution_id}").json()["status"] == "rejected"
            again = bob.post(f"/approvals/{approval_id}/approve", json={})
            assert again.status_code == 409  # void, not merely refused once
            repoint(root, a.name, a)  # back where it was, for the next round
            audit = root.get("/audit", params={"entity": approval_id}).json()["data"]
            assert {"decision_refused", "voided"} <= {row["action"] for row in audit}
    assert a.received() == [] and b.received() == []


async def test_a_target_repointed_after_approval_is_not_run(
    store: Store, hosts: list[SshHost]
) -> None:
    a, b = hosts
    env = store.env | {
        "OPSCONDUCTOR_EMBEDDED_WORKER": "false",
        "OPSCONDUCTOR_IMMEDIATE_THRESHOLD_S": "0.5",
    }
    api = serve(env, store.logs / "serve.log")
    with (
        running(api),
        store.client(api.url, "alice") as alice,
        store.client(api.url, "bob") as bob,
        store.client(api.url, "root") as root,
    ):
        approval_id, execution_id = ask_stop(alice, a)
        approved = bob.post(f"/approvals/{approval_id}/approve", json={})
        assert approved.status_code == 200, approved.text
        assert approved.json()["execution"]["status"] == "queued"  # no worker runs yet
        repoint(root, a.name, b)
        with running(worker(env, store.logs / "worker.log")):
            result = None
            for _ in range(100):
                result = alice.get(f"/executions/{execution_id}").json()
                if result["status"] not in {"queued", "running"}:
                    break
                time.sleep(0.1)
    assert result is not None and result["status"] == "failed", result
    assert "the plan changed" in result["error_message"], result
    [step] = result["step_results"]
    assert step["status"] == "skipped" and step["error_kind"] == "plan_changed"
    assert step["started_at"] is None
    assert a.received() == [] and b.received() == []
