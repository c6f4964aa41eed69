"""Supervision: routing to agent groups, queue position, SLA clocks and their timers.

A case's clocks start when it is escalated (the bot's time does not count), run in
business hours only, and the resolution clock pauses while the case waits on the
customer (after an agent's reply, until the customer writes again). Every reminder,
breach, re-offer and escalation is a timer row in the database: it survives restarts
and fires once, in the same transaction as its effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.dialogue.turn import CaseOpened
from bot.messages import Reply
from bot.settings import GroupSettings, Settings
from bot.storage import supervision_queries as q
from bot.storage.models import OPEN_STATUSES, Case, FollowUp
from bot.storage.privacy_queries import add_audit
from bot.storage.repository import Tx
from handoff.hours import BusinessHours

FIRST_RESPONSE = ("sla_first_response_reminder", "sla_first_response_breach")
RESOLUTION = ("sla_resolution_reminder", "sla_resolution_breach")
CASE_TIMERS = (*FIRST_RESPONSE, *RESOLUTION, "offer_next_group", "unclaimed_escalation")


class Supervision:
    def __init__(self, settings: Settings, hours: BusinessHours) -> None:
        self.settings = settings
        self.hours = hours
        self.groups = settings.routing.groups

    def route(self, category: str, reason: str) -> str:
        """The group for a case: by escalation reason first, then category, else catch-all."""
        for group in self.groups:
            if reason in group.reasons:
                return group.name
        for group in self.groups:
            if category in group.categories:
                return group.name
        catch_all = [g for g in self.groups if not g.categories and not g.reasons]
        return (catch_all or self.groups)[-1].name

    def new_case(self, case: Case, now: datetime) -> None:
        """Route a case about to be stored and start its clocks: set before its INSERT,
        they cost no UPDATE after it."""
        sla = self.settings.sla
        case.group = self.route(case.category, case.reason)
        case.first_response_due_at = self.hours.add(
            now, timedelta(minutes=sla.first_response_minutes)
        )
        case.resolution_due_at = self.hours.add(now, timedelta(hours=sla.resolution_hours))

    async def case_opened(self, tx: Tx, case: Case, now: datetime) -> CaseOpened:
        """A new case is stored (``new_case`` first): its timers, and what to tell the
        customer about the wait."""
        routing = self.settings.routing
        assert case.first_response_due_at is not None and case.resolution_due_at is not None
        self._schedule_sla(tx, case, FIRST_RESPONSE, case.first_response_due_at, now)
        self._schedule_sla(tx, case, RESOLUTION, case.resolution_due_at, now)
        if self._next_group(case.group) is not None:
            offer = self.hours.add(now, timedelta(minutes=routing.offer_next_group_after_minutes))
            q.schedule(tx, case, "offer_next_group", offer, now)
        unclaimed = self.hours.add(now, timedelta(minutes=routing.escalate_unclaimed_after_minutes))
        q.schedule(tx, case, "unclaimed_escalation", unclaimed, now)
        staffed = self.hours.is_open(now) and await q.someone_available(tx, case.group)
        answer_from = None
        if not staffed:
            opening = self.hours.next_opening(now)
            answer_from = opening if opening > now else case.first_response_due_at
        position, wait = await q.queue_and_wait(tx, case)
        return CaseOpened(case.id, case.group, position, wait, answer_from)

    def _schedule_sla(
        self, tx: Tx, case: Case, kinds: tuple[str, str], due: datetime, now: datetime
    ) -> None:
        reminder = due - timedelta(minutes=self.settings.routing.reminder_before_breach_minutes)
        if reminder > now:
            q.schedule(tx, case, kinds[0], reminder, now, due=due.isoformat())
        q.schedule(tx, case, kinds[1], due, now, due=due.isoformat())

    def _next_group(self, name: str) -> GroupSettings | None:
        names = [g.name for g in self.groups]
        index = names.index(name) if name in names else len(names)
        return self.groups[index + 1] if index + 1 < len(self.groups) else None

    # the clock pauses while we wait on the customer ----------------------------

    def agent_replied(self, case: Case, now: datetime) -> None:
        if case.paused_at is None:
            case.paused_at = now

    async def customer_wrote(self, tx: Tx, case: Case, now: datetime) -> None:
        """Resume the resolution clock, pushed back by the business time it was paused."""
        if case.paused_at is None or case.resolution_due_at is None:
            return
        paused_at, case.paused_at = case.paused_at, None
        if case.resolution_due_at <= paused_at:
            return  # already breached before the pause
        remaining = self.hours.between(paused_at, case.resolution_due_at)
        case.resolution_due_at = self.hours.add(now, remaining)
        await q.cancel_timers(tx, case.id, RESOLUTION)
        self._schedule_sla(tx, case, RESOLUTION, case.resolution_due_at, now)

    # reopen -------------------------------------------------------------------

    async def reopen(self, tx: Tx, case: Case, now: datetime) -> bool:
        """Reopen a recently resolved case (the customer says it is not fixed)."""
        ended = case.resolved_at or case.closed_at
        window = timedelta(days=self.settings.feedback.reopen_window_days)
        if case.status not in {"resolved", "closed"} or ended is None or now - ended > window:
            return False
        if await q.open_cases_of(tx, case.conversation_id):
            return False
        case.status = "assigned" if case.assigned_agent else "open"
        case.reopen_count += 1
        case.reopened_at, case.resolved_at, case.closed_at, case.paused_at = now, None, None, None
        case.resolution_due_at = self.hours.add(
            now, timedelta(hours=self.settings.sla.resolution_hours)
        )
        self._schedule_sla(tx, case, RESOLUTION, case.resolution_due_at, now)
        tx.add_case_event(case.id, "customer", "reopened", now)
        owner = case.assigned_agent or f"group {case.group}"
        await self.notify(
            tx,
            case,
            "case_status",
            f"Case #{case.id} reopened: the customer says the problem is not solved ({owner}).",
            now,
            status="reopened",
        )
        return True

    # timers -------------------------------------------------------------------

    async def fire(self, tx: Tx, timer: FollowUp, case: Case, now: datetime) -> None:
        """Act on a due case timer if it still applies (the caller marks it done)."""
        if case.status not in OPEN_STATUSES:
            return
        kind, payload = timer.kind, timer.payload or {}
        local = self.hours.describe
        if kind in FIRST_RESPONSE and case.first_response_at is None:
            due = case.first_response_due_at or now
            if kind.endswith("reminder"):
                await self.notify(
                    tx,
                    case,
                    "sla_reminder",
                    f"Case #{case.id}: first response due {local(due)} ({self._owner(case)}).",
                    now,
                )
            else:
                case.first_response_breached = True
                tx.add_case_event(case.id, "bot", "sla_breached", now, clock="first_response")
                await self.notify(
                    tx,
                    case,
                    "supervisor_alert",
                    f"SLA breached: case #{case.id} "
                    f"has had no first response ({self._owner(case)}).",
                    now,
                )
        elif kind in RESOLUTION and case.paused_at is None and case.resolution_due_at is not None:
            if payload.get("due") != case.resolution_due_at.isoformat():
                return  # the clock moved (a pause); a newer timer covers it
            if kind.endswith("reminder"):
                await self.notify(
                    tx,
                    case,
                    "sla_reminder",
                    f"Case #{case.id}: resolution due "
                    f"{local(case.resolution_due_at)} ({self._owner(case)}).",
                    now,
                )
            else:
                case.resolution_breached = True
                tx.add_case_event(case.id, "bot", "sla_breached", now, clock="resolution")
                await self.notify(
                    tx,
                    case,
                    "supervisor_alert",
                    f"SLA breached: case #{case.id} is not resolved in time ({self._owner(case)}).",
                    now,
                )
        elif kind == "offer_next_group" and case.status == "open":
            await self._offer_next(tx, case, now)
        elif kind == "unclaimed_escalation" and case.status == "open":
            await self.notify(
                tx,
                case,
                "supervisor_alert",
                f"Case #{case.id} ({case.category}, {case.priority}) is still unclaimed.",
                now,
            )

    async def _offer_next(self, tx: Tx, case: Case, now: datetime) -> None:
        following = self._next_group(case.group)
        if following is None:
            return
        previous, case.group = case.group, following.name
        tx.add_case_event(case.id, "bot", "rerouted", now, source=previous, target=case.group)
        add_audit(tx, "bot", "reassigned", now, case_id=case.id, customer_id=case.customer_id,
                  source=previous, target=case.group)  # fmt: skip
        await self.notify(
            tx,
            case,
            "case_routed",
            f"Case #{case.id} was not claimed in {previous}; offered to {case.group}.",
            now,
            group=case.group,
        )
        if self._next_group(case.group) is not None:
            delay = timedelta(minutes=self.settings.routing.offer_next_group_after_minutes)
            q.schedule(tx, case, "offer_next_group", self.hours.add(now, delay), now)

    def _owner(self, case: Case) -> str:
        return case.assigned_agent or f"unclaimed, group {case.group}"

    async def notify(
        self, tx: Tx, case: Case | None, kind: str, text: str, now: datetime, **extra: object
    ) -> None:
        number = case.id if case is not None else None
        notice = Reply(text, extra={"kind": kind, "case": number, **extra})
        await tx.add_desk_notice(self.settings.desk, number, notice, now)
