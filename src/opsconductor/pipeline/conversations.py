"""Conversations kept in the store: one row per user and conversation id holds what the last
turn was about, so that any replica (or the CLI) reads a follow-up the same way. A turn never
carries an approval: the context holds what was asked, not what was allowed."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.brain.base import Context
from opsconductor.schemas.decision import DecisionV1, Intent
from opsconductor.store.tables import ConversationRow, utcnow

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
KEPT_TURNS = 5

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


async def load(session: AsyncSession, owner: str, conversation_id: str, ttl_s: float) -> Context:
    """The context of the conversation; empty when it is new or was idle past `ttl_s`."""
    row = await session.get(ConversationRow, (owner, conversation_id))
    if row is None or utcnow() - row.updated_at > timedelta(seconds=ttl_s):
        return Context()
    return _from_json(row.context)


async def save(session: AsyncSession, owner: str, conversation_id: str, context: Context) -> None:
    """Store `context` whole as the conversation's, in one statement (INSERT … ON CONFLICT DO
    UPDATE): the first turn creates the row, every later one replaces it. Of turns that race
    (two first turns of a new conversation, say) the last to write wins; each was answered
    from the context it read, and the row always holds one turn's whole context, never a mix
    and never a unique-key error."""
    values = {"context": _to_json(context), "updated_at": utcnow()}
    statement = _insert(session).values(owner=owner, id=conversation_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ConversationRow.owner, ConversationRow.id], set_=values
        )
    )


def _insert(session: AsyncSession) -> postgresql.Insert | sqlite.Insert:
    # Each dialect's own INSERT, the one that knows ON CONFLICT; imported here, so that a
    # process on SQLite never loads the PostgreSQL dialect (and the reverse).
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(ConversationRow)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(ConversationRow)


def after_turn(before: Context, text: str, decision: DecisionV1 | None) -> Context:
    """What the conversation is about once this turn was read."""
    if decision is None:
        return before
    said = (decision.read_as or text).rstrip(".")
    turns = (*before.turns, said)[-KEPT_TURNS:]
    clarification = decision.clarification
    if clarification is not None:
        # Keep what the conversation was about; remember what was asked back, so that the
        # next turn may answer with one of its options.
        return Context(
            intent=before.intent,
            targets=before.targets,
            inputs=before.inputs,
            options=tuple(clarification.options),
            about=clarification.about,
            turns=(*before.turns, text)[-KEPT_TURNS:],
            said=before.said,
        )
    last = decision.all_clauses()[-1] if decision.all_clauses() else None
    if last is None:
        return Context(turns=turns)
    # Values stay known across turns ("restart nginx", "what about memory?", "restart it").
    return Context(
        intent=last.intent,
        targets=tuple(last.targets),
        inputs={**before.inputs, **last.inputs},
        turns=turns,
        said=said,
    )


def _to_json(context: Context) -> dict[str, Any]:
    return {
        "intent": context.intent.model_dump() if context.intent else None,
        "targets": list(context.targets),
        "inputs": dict(context.inputs),
        "options": list(context.options),
        "about": context.about,
        "turns": list(context.turns),
        "said": context.said,
    }


def _from_json(data: dict[str, Any]) -> Context:
    intent = data.get("intent")
    return Context(
        intent=Intent.model_validate(intent) if intent else None,
        targets=tuple(data.get("targets", ())),
        inputs=dict(data.get("inputs", {})),
        options=tuple(data.get("options", ())),
        about=data.get("about"),
        turns=tuple(data.get("turns", ())),
        said=data.get("said"),
    )
