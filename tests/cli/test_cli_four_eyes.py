"""Who the CLI acts as: a decision is made by a proven user with the role it needs, never by a
name typed after `--as`; a refused decision decides nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.clirun import LOGIN, Store, make_store


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A SQLite store with an operator (alice), an approver (bob) and a viewer (vera), each
    with a token; the OS login is none of them."""
    store = make_store(tmp_path_factory.mktemp("four-eyes"))
    store.add_user("alice", "operator")
    store.add_user("bob", "approver")
    store.add_user("vera", "viewer")
    return store


def test_a_typed_name_decides_nothing(team: Store) -> None:
    approval_id = team.ask_marker("typed", **team.as_user("alice"))

    ghost = team.cli("approvals", "approve", approval_id, "--as", "ghost-user-nobody")
    unproven_bob = team.cli("approvals", "approve", approval_id, "--as", "bob")
    bob_by_variable = team.cli("approvals", "approve", approval_id, OPSCONDUCTOR_USER="bob")
    alice_as_bob = team.cli(
        "approvals", "approve", approval_id, "--as", "bob", **team.as_user("alice")
    )
    unproven = team.cli("approvals", "approve", approval_id)
    denied = team.cli("approvals", "deny", approval_id, "--comment", "no", "--as", "bob")

    assert ghost.returncode == 2 and ghost.stdout == ""
    assert ghost.stderr.startswith("error: --as ghost-user-nobody: you are ")
    assert "Nothing was done." in ghost.stderr
    for refused in (unproven_bob, bob_by_variable):
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: --as bob: you are {LOGIN} (your OS login")
    assert alice_as_bob.returncode == 2
    assert alice_as_bob.stderr.startswith("error: --as bob: you are alice (by your token)")
    assert unproven.returncode == 2 and "approving needs a proven identity" in unproven.stderr
    assert denied.returncode == 2
    assert team.approval(approval_id)["status"] == "pending"
    assert not team.marker("typed").exists()
    audit = team.json("audit", "list", "--entity", "", "--limit", "200")
    refusals = [(a["actor"], a["action"]) for a in audit if a["entity"].startswith("auth:")]
    assert refusals.count((LOGIN, "identity_refused")) >= 4


def test_an_approvers_token_approves_and_the_plan_runs(team: Store) -> None:
    approval_id = team.ask_marker("approved", **team.as_user("alice"))

    done = team.json("approvals", "approve", approval_id, **team.as_user("bob"))

    assert done["execution"]["status"] == "succeeded", done["response"]
    assert team.marker("approved").exists()
    result = team.json("executions", "show", done["execution"]["id"])
    assert result["approved_by"] == ["bob"]
    assert team.approval(approval_id)["requested_by"] == "alice"
    assert team.approval(approval_id)["decided_by"] == "bob"


def test_the_requesters_own_token_cannot_approve_level_two(team: Store) -> None:
    by_alice = team.ask_marker("own-operator", **team.as_user("alice"))
    by_bob = team.ask_marker("own-approver", **team.as_user("bob"))

    alice = team.cli("approvals", "approve", by_alice, **team.as_user("alice"))
    bob = team.cli("approvals", "approve", by_bob, **team.as_user("bob"))
    vera = team.cli("approvals", "approve", by_alice, **team.as_user("vera"))

    assert alice.returncode == 2 and "level 2 needs the approver role" in alice.stderr
    assert bob.returncode == 2
    assert "level 2 needs someone other than the requester (bob)" in bob.stderr
    assert vera.returncode == 2 and "vera is viewer" in vera.stderr
    for approval_id in (by_alice, by_bob):
        assert team.approval(approval_id)["status"] == "pending"
    assert not team.marker("own-operator").exists() and not team.marker("own-approver").exists()


def test_a_token_file_proves_and_a_bad_token_is_refused(team: Store, tmp_path: Path) -> None:
    approval_id = team.ask_marker("denied", **team.as_user("alice"))
    token_file = tmp_path / "bob.token"
    token_file.write_text(team.tokens["bob"] + "\n", encoding="utf-8")
    wrong = team.tokens["bob"][:-4] + "AAAA"

    refused = [
        team.cli("approvals", "deny", approval_id, "--comment", "x", OPSCONDUCTOR_TOKEN=wrong),
        team.cli(
            "approvals",
            "deny",
            approval_id,
            "--comment",
            "x",
            OPSCONDUCTOR_TOKEN_FILE=str(tmp_path / "missing"),
        ),
        team.cli(
            "approvals",
            "deny",
            approval_id,
            "--comment",
            "x",
            OPSCONDUCTOR_TOKEN_FILE=str(token_file),
            OPSCONDUCTOR_TOKEN=team.tokens["bob"],
        ),
    ]
    assert [r.returncode for r in refused] == [2, 2, 2]
    assert "the token in OPSCONDUCTOR_TOKEN is invalid, expired or revoked" in refused[0].stderr
    assert "cannot read OPSCONDUCTOR_TOKEN_FILE" in refused[1].stderr
    assert "not both" in refused[2].stderr
    assert wrong not in refused[0].stdout + refused[0].stderr
    assert team.approval(approval_id)["status"] == "pending"

    denied = team.cli(
        "approvals",
        "deny",
        approval_id,
        "--comment",
        "not today",
        OPSCONDUCTOR_TOKEN_FILE=str(token_file),
    )

    assert denied.returncode == 0, denied.stderr
    assert "rejected" in denied.stdout
    assert team.approval(approval_id)["decided_by"] == "bob"


def test_cancelling_someone_elses_run_needs_the_role(team: Store) -> None:
    alices = team.json(
        "ask", f"delete file {team.marker('cancel')} on ops-console", **team.as_user("alice")
    )
    execution_id = alices["execution"]["id"]

    unproven = team.cli("executions", "cancel", execution_id)
    viewer = team.cli("executions", "cancel", execution_id, **team.as_user("vera"))
    assert unproven.returncode == 2
    assert "cancelling alice's execution needs a proven identity" in unproven.stderr
    assert viewer.returncode == 2 and "may not cancel executions" in viewer.stderr
    assert team.json("executions", "show", execution_id)["status"] == "pending_approval"

    cancelled = team.json("executions", "cancel", execution_id, **team.as_user("alice"))
    assert cancelled["status"] == "cancelled"


def test_an_unproven_login_may_ask_questions_but_not_request_changes(team: Store) -> None:
    before = len(team.json("executions", "list", "--limit", "1000"))

    question = team.json("ask", "how many assets do we have")
    change = team.cli("ask", "check disk space on ops-console", "--yes")
    viewer = team.cli("ask", "check disk space on ops-console", **team.as_user("vera"))

    assert question["execution"]["status"] == "succeeded"
    assert team.json("executions", "show", question["execution"]["id"])["requested_by"] == LOGIN
    assert change.returncode == 2
    assert "needs an approval (level 1); requesting it needs a proven identity" in change.stderr
    assert viewer.returncode == 2 and "your role (viewer) may not request one" in viewer.stderr
    assert len(team.json("executions", "list", "--limit", "1000")) == before + 1


def test_the_login_acts_as_the_user_of_its_name(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.add_user(LOGIN, "operator")

    confirmed = store.json("ask", "check disk space on ops-console", "--yes")
    level_two = store.ask_marker("login")
    own = store.cli("approvals", "approve", level_two)
    disabled = store.cli("users", "disable", LOGIN)
    after = store.cli("approvals", "approve", level_two)

    assert confirmed["approval"]["status"] == "approved"
    assert confirmed["execution"]["status"] == "succeeded"
    assert own.returncode == 2 and f"{LOGIN} is operator" in own.stderr
    assert disabled.returncode == 0, disabled.stderr
    assert after.returncode == 2 and "(your OS login) is disabled" in after.stderr
    assert not store.marker("login").exists()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A store without users, on SQLite and on PostgreSQL in turn."""
    url = request.getfixturevalue("pg_database_url") if request.param == "postgresql" else None
    return make_store(tmp_path, url)


async def test_alone_without_users_the_login_confirms_only_its_own_level_one(
    empty_store: Store,
) -> None:
    store = empty_store

    confirmed = store.json("ask", "check disk space on ops-console", "--yes")
    approval_id = store.ask_marker("alone")
    refused = store.cli("approvals", "approve", approval_id)

    assert confirmed["approval"]["status"] == "approved"
    assert confirmed["execution"]["status"] == "succeeded"
    assert confirmed["execution"]["result"]["approved_by"] == [LOGIN]
    assert refused.returncode == 2 and refused.stdout == ""
    assert "needs a second person who is set up as a user" in refused.stderr
    assert "`opsconductor users add NAME --role approver`" in refused.stderr
    assert store.approval(approval_id)["status"] == "pending"
    assert not store.marker("alone").exists()


async def test_four_eyes_on_postgresql(tmp_path: Path, pg_database_url: str) -> None:
    store = make_store(tmp_path, pg_database_url)
    store.add_user("alice", "operator")
    store.add_user("bob", "approver")
    approval_id = store.ask_marker("pg", **store.as_user("alice"))

    ghost = store.cli("approvals", "approve", approval_id, "--as", "ghost-user-nobody")
    own = store.cli("approvals", "approve", approval_id, **store.as_user("alice"))
    assert (ghost.returncode, own.returncode) == (2, 2)
    assert store.approval(approval_id)["status"] == "pending"

    done = store.json("approvals", "approve", approval_id, **store.as_user("bob"))

    assert done["execution"]["status"] == "succeeded", done["response"]
    assert store.marker("pg").exists()
