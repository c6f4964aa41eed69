"""Agent actions on cases: list, show, claim, reply, note, resolve, export.

Every action that touches a customer's conversation runs under that conversation's
lock and in one transaction with the dialogue's response, so an agent's reply and a
customer's message never interleave half-way, and two agents claiming at once get
exactly one owner (the other is told who won).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import loggers
from bot.dialogue import AgentDid
from bot.engine import DeskJob, Engine
from bot.errors import CaseAlreadyClaimed, CaseNotFound, CaseNotOpen, HandoffError, NotCaseOwner
from bot.messages import Reply
from bot.storage import privacy_queries as audit
from bot.storage import supervision_queries as q
from bot.storage.models import OPEN_STATUSES, Case
from bot.storage.repository import Tx
from handoff import sharing
from handoff.cards import case_view, status_notice

MAX_AGENT_TEXT = 20_000
_Action = Callable[[Tx, Case, str], Awaitable[str]]


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

    async def cases(self, *, include_closed: bool = False) -> list[CaseSummary]:
        async with self.repo.transaction() as tx:
            cases = await tx.cases(None if include_closed else OPEN_STATUSES)
        return [
            CaseSummary(c.id, c.status, c.priority, c.category, c.reason, c.assigned_agent,
                        (c.details or {}).get("customer"), c.summary, c.created_at.isoformat())
            for c in cases
        ]  # fmt: skip

    async def set_availability(
        self, agent: str, available: bool, groups: list[str] | None = None
    ) -> str:
        """Agents mark themselves available or away; routing promises follow it."""
        agent = _checked_agent(agent)
        known = {g.name for g in self.engine.ctx.settings.routing.groups}
        unknown = sorted(set(groups or []) - known)
        if unknown:
            raise HandoffError(f"Unknown group {unknown[0]!r}; groups: {', '.join(sorted(known))}.")
        status = "available" if available else "away"
        async with self.repo.transaction() as tx:
            row = await q.set_agent(tx, agent, status, groups, self.engine.ctx.now())
            where = ", ".join(row.groups) or "all groups"
        return f"{agent} is {status} ({where})."

    async def agents(self) -> list[tuple[str, str, list[str]]]:
        async with self.repo.transaction() as tx:
            return [(a.name, a.status, list(a.groups)) for a in await q.agents(tx)]

    async def show(self, number: int, *, by: str | None = None) -> str:
        """The case's long view; looking at a customer's data is itself audited."""
        async with self.repo.transaction() as tx:
            case = await self._case(tx, number)
            audit.add_audit(tx, by or "unknown", "viewed", self.engine.ctx.now(),
                            case_id=number, customer_id=case.customer_id)  # fmt: skip
            zone = self.engine.supervision.hours.zone
            messages, events = await tx.case_messages(number), await tx.case_events(number)
            return case_view(case, messages, events, zone)

    async def claim(self, number: int, agent: str, *, event_key: str | None = None) -> str:
        async def act(tx: Tx, case: Case, agent: str) -> str:
            if case.assigned_agent == agent:
                return f"You already own case #{number}."
            await self._take(tx, case, agent)
            await self.engine.agent_event(number, AgentDid("claim", agent), tx)
            return f"Case #{number} is yours."

        return await self._run("claim", number, agent, act, event_key)

    async def reply(
        self, number: int, agent: str, text: str, *, event_key: str | None = None,
        extra: Mapping[str, Any] | None = None, progress: bool = False,
    ) -> str:  # fmt: skip
        """Send to the customer; ``extra`` reaches the customer's channel adapter as-is
        (e.g. the source of a photo, so a same-platform adapter can copy it).

        A reply usually asks something, so the case then waits on the customer (its
        resolution clock pauses). A ``progress`` update ("the replacement has shipped")
        asks nothing: the clock keeps running and the customer sees it as an update."""
        text = _checked_text(text, allow_empty=bool(extra))
        kind = "progress" if progress else "replied"

        async def act(tx: Tx, case: Case, agent: str) -> str:
            await self._owner_or_take(tx, case, agent)
            now = self.engine.ctx.now()
            if case.first_response_at is None:
                case.first_response_at = now
            if not progress:
                self.engine.supervision.agent_replied(case, now)  # now waiting on the customer
            tx.add_case_event(number, agent, kind, now)
            _audit(tx, agent, "replied", case, now)
            said = f"Update on your case #{number}: {text}" if progress else text
            event = AgentDid("reply", agent, said, dict(extra or {}))
            await self.engine.agent_event(number, event, tx)
            return f"{'Update' if progress else 'Reply'} sent to the customer of case #{number}."

        return await self._run("update" if progress else "reply", number, agent, act, event_key)

    async def note(
        self, number: int, agent: str, text: str, *, event_key: str | None = None
    ) -> str:
        text = _checked_text(text)

        async def act(tx: Tx, case: Case, agent: str) -> str:
            now = self.engine.ctx.now()
            await tx.record_inbound(
                case.conversation_id, number, text, dedupe_key=None, sender="agent",
                author=agent, internal=True, now=now,
            )  # fmt: skip
            tx.add_case_event(number, agent, "note", now)
            _audit(tx, agent, "noted", case, now)
            return f"Internal note added to case #{number} (not shown to the customer)."

        return await self._run("note", number, agent, act, event_key)

    async def resolve(
        self, number: int, agent: str, summary: str = "", *, event_key: str | None = None
    ) -> str:
        async def act(tx: Tx, case: Case, agent: str) -> str:
            await self._owner_or_take(tx, case, agent)
            now = self.engine.ctx.now()
            case.status, case.resolved_at = "resolved", now
            case.resolution = summary.strip() or None
            tx.add_case_event(number, agent, "resolved", now)
            _audit(tx, agent, "resolved", case, now)
            await self._status_notice(tx, case, f"Case #{number} resolved by {agent}.")
            await self.engine.agent_event(number, AgentDid("resolve", agent, summary.strip()), tx)
            return f"Case #{number} resolved; the bot is asking the customer for feedback."

        return await self._run("resolve", number, agent, act, event_key)

    async def export(self, number: int, agent: str, *, event_key: str | None = None) -> str:
        """Send the case's customer a copy of their data, as a file in their chat
        (verified customers only: ``handoff.sharing``). It answers their request and asks
        nothing, so it counts as a response and the resolution clock keeps running."""

        async def act(tx: Tx, case: Case, agent: str) -> str:
            await self._owner_or_take(tx, case, agent)
            now = self.engine.ctx.now()
            conversation, _ = await tx.conversation_by_id(case.conversation_id)
            sent = await sharing.prepare(tx, case, agent, now, channel=conversation.channel,
                                         company=self.engine.ctx.settings.company.name)  # fmt: skip
            if case.first_response_at is None:
                case.first_response_at = now
            tx.add_case_event(number, agent, "exported", now)
            extra = {"file": sent.file.to_json()}
            await self.engine.agent_event(number, AgentDid("reply", agent, sent.message(number),
                                                           extra), tx)  # fmt: skip
            return sent.confirmation(number)

        return await self._run("export", number, agent, act, event_key)

    async def reassign(
        self, number: int, supervisor: str, agent: str, *, event_key: str | None = None
    ) -> str:
        """A supervisor gives an open case to another agent (audited as reassigned)."""
        to = _checked_agent(agent)

        async def act(tx: Tx, case: Case, by: str) -> str:
            now, previous = self.engine.ctx.now(), case.assigned_agent
            case.status, case.assigned_agent = "assigned", to
            case.claimed_at = case.claimed_at or now
            tx.add_case_event(number, by, "reassigned", now, source=previous, target=to)
            _audit(tx, by, "reassigned", case, now, source=previous, target=to)
            await self._status_notice(tx, case, f"Case #{number} reassigned to {to} by {by}.")
            return f"Case #{number} is now {to}'s."

        return await self._run("reassign", number, supervisor, act, event_key)

    # ------------------------------------------------------------------------

    async def _run(
        self, action: str, number: int, agent: str, act: _Action, event_key: str | None
    ) -> str:
        """In the group commit, under the conversation's lock, in the transaction of the
        batch it joins (``Engine.desk_action``); a repeated ``event_key`` (a platform
        redelivering the agent's message or button tap) does nothing."""
        agent = _checked_agent(agent)

        async def run(tx: Tx) -> str:
            if event_key is not None and not await tx.first_time(event_key, self.engine.ctx.now()):
                loggers.handoff.info("case %s: repeated %s event ignored", number, action)
                return f"Already done: {action} on case #{number}."
            case = await self._case(tx, number, lock=True)
            if case.status not in OPEN_STATUSES:
                raise CaseNotOpen(number, case.status)
            result = await act(tx, case, agent)
            loggers.handoff.info("case %s: %s by an agent", number, action)
            return result

        key = await self.engine.conversation_key(number)
        return await self.engine.desk_action(DeskJob(key, run, number, event_key))

    async def _status_notice(self, tx: Tx, case: Case, text: str) -> None:
        notice = Reply(text, extra=status_notice(case))
        await tx.add_desk_notice(self.engine.desk, case.id, notice, self.engine.ctx.now())

    @staticmethod
    async def _case(tx: Tx, number: int, *, lock: bool = False) -> Case:
        case = await tx.case(number, lock=lock)
        if case is None:
            raise CaseNotFound(number)
        return case

    async def _take(self, tx: Tx, case: Case, agent: str) -> None:
        if case.assigned_agent is not None:
            raise CaseAlreadyClaimed(case.id, case.assigned_agent)
        now = self.engine.ctx.now()
        case.status, case.assigned_agent, case.claimed_at = "assigned", agent, now
        tx.add_case_event(case.id, agent, "claimed", now)
        _audit(tx, agent, "claimed", case, now)
        await self._status_notice(tx, case, f"Case #{case.id} claimed by {agent}.")

    async def _owner_or_take(self, tx: Tx, case: Case, agent: str) -> None:
        if case.assigned_agent is None:
            await self._take(tx, case, agent)
        elif case.assigned_agent != agent:
            raise NotCaseOwner(case.id, case.assigned_agent)


def _audit(tx: Tx, actor: str, action: str, case: Case, now: datetime, **detail: Any) -> None:
    audit.add_audit(tx, actor, action, now, case_id=case.id, customer_id=case.customer_id,
                    **detail)  # fmt: skip


def _checked_agent(agent: str) -> str:
    name = " ".join(agent.split())
    if not name or len(name) > 100:
        raise HandoffError("An agent name of 1 to 100 characters is required (--agent NAME).")
    return name


def _checked_text(text: str, *, allow_empty: bool = False) -> str:
    if not text.strip() and not allow_empty:
        raise HandoffError("The message is empty; nothing was sent.")
    if len(text) > MAX_AGENT_TEXT:
        raise HandoffError(f"The message is longer than {MAX_AGENT_TEXT} characters; not sent.")
    return text.strip()
