"""Agent actions on cases: list, show, claim, reply, note, resolve.

Every action that touches a customer's conversation runs under that conversation's
lock and in one transaction with the dialogue's response, so an agent's reply and a
customer's message never interleave half-way, and two agents claiming at once get
exactly one owner (the other is told who won).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import loggers
from bot.dialogue import AgentDid
from bot.engine import Engine
from bot.errors import CaseAlreadyClaimed, CaseNotFound, CaseNotOpen, HandoffError, NotCaseOwner
from bot.storage.models import Case
from bot.storage.repository import OPEN_STATUSES, Tx
from handoff.cards import case_view

MAX_AGENT_TEXT = 20_000
_Action = Callable[[Tx, Case], Awaitable[str]]


@dataclass(frozen=True)
class CaseSummary:
    number: int
    status: str
    priority: str
    category: str
    reason: str
    agent: str | None
    customer: str | None
    summary: str
    created_at: str


class Desk:
    """The agents' side of the handoff, independent of where agents sit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.repo = engine.repo

    async def list(self, *, include_closed: bool = False) -> list[CaseSummary]:
        async with self.repo.transaction() as tx:
            cases = await tx.cases(None if include_closed else OPEN_STATUSES)
        return [
            CaseSummary(c.id, c.status, c.priority, c.category, c.reason, c.assigned_agent,
                        (c.details or {}).get("customer"), c.summary, c.created_at.isoformat())
            for c in cases
        ]  # fmt: skip

    async def show(self, number: int) -> str:
        async with self.repo.transaction() as tx:
            case = await self._case(tx, number)
            return case_view(case, await tx.case_messages(number), await tx.case_events(number))

    async def claim(self, number: int, agent: str) -> str:
        async def act(tx: Tx, case: Case) -> str:
            if case.assigned_agent == agent:
                return f"You already own case #{number}."
            self._take(tx, case, agent)
            await self.engine.agent_event(number, AgentDid("claim", agent), tx)
            return f"Case #{number} is yours."

        return await self._run(number, agent, act)

    async def reply(self, number: int, agent: str, text: str) -> str:
        text = _checked_text(text)

        async def act(tx: Tx, case: Case) -> str:
            self._owner_or_take(tx, case, agent)
            now = self.engine.ctx.now()
            if case.first_response_at is None:
                case.first_response_at = now
            tx.add_case_event(number, agent, "replied", now)
            await self.engine.agent_event(number, AgentDid("reply", agent, text), tx)
            return f"Sent to the customer of case #{number}."

        return await self._run(number, agent, act)

    async def note(self, number: int, agent: str, text: str) -> str:
        text = _checked_text(text)

        async def act(tx: Tx, case: Case) -> str:
            now = self.engine.ctx.now()
            await tx.record_inbound(
                case.conversation_id, number, text, dedupe_key=None, sender="agent",
                author=agent, internal=True, now=now,
            )  # fmt: skip
            tx.add_case_event(number, agent, "note", now)
            return f"Internal note added to case #{number} (not shown to the customer)."

        return await self._run(number, agent, act)

    async def resolve(self, number: int, agent: str, summary: str = "") -> str:
        async def act(tx: Tx, case: Case) -> str:
            self._owner_or_take(tx, case, agent)
            now = self.engine.ctx.now()
            case.status, case.resolved_at = "resolved", now
            case.resolution = summary.strip() or None
            tx.add_case_event(number, agent, "resolved", now)
            await self.engine.agent_event(number, AgentDid("resolve", agent, summary.strip()), tx)
            return f"Case #{number} resolved; the bot is asking the customer for feedback."

        return await self._run(number, agent, act)

    # ------------------------------------------------------------------------

    async def _run(self, number: int, agent: str, act: _Action) -> str:
        agent = _checked_agent(agent)
        key = await self.engine.conversation_key(number)
        async with self.engine.locks.hold(key), self.repo.transaction() as tx:
            case = await self._case(tx, number, lock=True)
            if case.status not in OPEN_STATUSES:
                raise CaseNotOpen(number, case.status)
            result = await act(tx, case)
        loggers.handoff.info("case %s: %s by agent", number, act.__name__)
        await self.engine.deliver()
        return result

    @staticmethod
    async def _case(tx: Tx, number: int, *, lock: bool = False) -> Case:
        case = await tx.case(number, lock=lock)
        if case is None:
            raise CaseNotFound(number)
        return case

    def _take(self, tx: Tx, case: Case, agent: str) -> None:
        if case.assigned_agent is not None:
            raise CaseAlreadyClaimed(case.id, case.assigned_agent)
        now = self.engine.ctx.now()
        case.status, case.assigned_agent, case.claimed_at = "assigned", agent, now
        tx.add_case_event(case.id, agent, "claimed", now)

    def _owner_or_take(self, tx: Tx, case: Case, agent: str) -> None:
        if case.assigned_agent is None:
            self._take(tx, case, agent)
        elif case.assigned_agent != agent:
            raise NotCaseOwner(case.id, case.assigned_agent)


def _checked_agent(agent: str) -> str:
    name = " ".join(agent.split())
    if not name or len(name) > 100:
        raise HandoffError("An agent name of 1 to 100 characters is required (--agent NAME).")
    return name


def _checked_text(text: str) -> str:
    if not text.strip():
        raise HandoffError("The message is empty; nothing was sent.")
    if len(text) > MAX_AGENT_TEXT:
        raise HandoffError(f"The message is longer than {MAX_AGENT_TEXT} characters; not sent.")
    return text.strip()
