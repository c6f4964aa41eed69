"""Queries behind routing, queues and SLA timers (part of the repository layer)."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.storage.models import Agent, Case, FollowUp
from bot.storage.repository import Tx
from bot.storage.statements import or_one_null_row

RECENT_CLAIMS = 20


async def queue_and_wait(tx: Tx, case: Case) -> tuple[int, timedelta | None]:
    """The case's place in its group's queue (1 + the unclaimed cases that came first) and
    the median time to claim over the group's recent cases (None without history): what
    the customer is told, asked on every escalation, so read in one statement."""
    params = {"group": case.group, "id": case.id}
    rows = (await tx.session.execute(_queue_and_claims(), params)).all()
    waits = [(claimed - created).total_seconds() for _, created, claimed in rows if claimed]
    wait = timedelta(seconds=statistics.median(waits)) if waits else None
    return int(rows[0].ahead) + 1, wait


@functools.cache
def _queue_and_claims() -> Any:
    """The count of cases ahead beside each of the group's last ``RECENT_CLAIMS`` claims
    (one row of NULLs beside it when there are none). Built once, with bound parameters:
    it skips its construction and keeps its cache key."""
    ahead = (
        select(func.count())
        .select_from(Case)
        .where(Case.group == bindparam("group"), Case.status == "open", Case.id < bindparam("id"))
        .scalar_subquery()
    )
    claims = (
        select(Case.created_at, Case.claimed_at)
        .where(Case.group == bindparam("group"), Case.claimed_at.is_not(None))
        .order_by(Case.id.desc())
        .limit(RECENT_CLAIMS)
        .subquery()
    )
    return select(ahead.label("ahead"), claims.c.created_at, claims.c.claimed_at).select_from(
        or_one_null_row(claims)
    )


async def agents(tx: Tx) -> list[Agent]:
    """The agents, read once per transaction: every escalation of a batch asks whether
    someone is available. ``set_agent`` keeps the list true (the ORM's objects are the
    same ones, a new agent clears it)."""
    if tx.agents is None:
        tx.agents = list((await tx.session.execute(select(Agent).order_by(Agent.name))).scalars())
    return tx.agents


async def someone_available(tx: Tx, group: str) -> bool:
    """True when an available agent works in ``group``; with no agents registered at all
    availability is not tracked, and the desk is assumed staffed in business hours."""
    known = await agents(tx)
    if not known:
        return True
    return any(a.status == "available" and (not a.groups or group in a.groups) for a in known)


async def set_agent(tx: Tx, name: str, status: str, groups: Sequence[str] | None,
                    now: datetime) -> Agent:  # fmt: skip
    agent = await tx.session.get(Agent, name)
    if agent is None:
        agent = Agent(name=name, status=status, groups=list(groups or []), updated_at=now)
        tx.session.add(agent)
        tx.agents = None
    else:
        agent.status, agent.updated_at = status, now
        if groups is not None:
            agent.groups = list(groups)
    return agent


def schedule(
    tx: Tx, case: Case, kind: str, due_at: datetime, now: datetime, **payload: Any
) -> None:
    tx.deferred.insert(FollowUp, conversation_id=case.conversation_id, case_id=case.id,
                       kind=kind, due_at=due_at, status="pending", payload=payload or None,
                       created_at=now)  # fmt: skip


async def open_cases_of(tx: Tx, conversation_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Case)
        .where(Case.conversation_id == conversation_id, Case.status.in_(("open", "assigned")))
    )
    return int((await tx.session.execute(stmt)).scalar_one())


async def cancel_timers(tx: Tx, case_id: int, kinds: Sequence[str]) -> None:
    await tx.write_pending()  # timers set earlier in this transaction too
    await tx.session.execute(
        update(FollowUp)
        .where(FollowUp.case_id == case_id, FollowUp.kind.in_(kinds), FollowUp.status == "pending")
        .values(status="cancelled")
    )
