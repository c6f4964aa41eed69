"""What one transaction reads and writes about cases and the desks' platforms: cases
and their events, follow-ups, platform event keys (idempotency), where a case lives on a
desk, cursors and links between copied messages.

``CaseRecords`` is a part of ``bot.storage.repository.Tx``, kept in its own module so
that each stays readable; it uses the transaction's session and buffers, which ``Tx``
sets up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import statements as sql
from bot.storage.deferred import Deferred
from bot.storage.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    Cursor,
    DeskThread,
    FollowUp,
    MessageLink,
    ProcessedEvent,
)


@dataclass(frozen=True)
class CaseOnDesk:
    """A case and where it lives on one agents' desk (``thread_ref`` None: nowhere yet)."""

    case: Case
    thread_ref: str | None
    card_ref: str | None
    channel: str  # the customer's channel


class CaseRecords:
    """Cases, follow-ups and the desks' platform records, inside one transaction."""

    session: AsyncSession
    deferred: Deferred
    # Cases loaded with their lock taken, held here: the session's identity map keeps
    # only weak references, so an object nobody holds would be loaded again.
    _locked_cases: dict[int, Case]
    _events_checked: set[str]  # platform event keys claimed or found taken
    _events_claimed: set[str]  # ...claimed by this transaction, not yet asked
    _postgres: bool

    if TYPE_CHECKING:

        async def write_pending(self) -> None: ...

    def _insert(self, model: Any) -> Any:
        return sql.dialect_insert(model, self._postgres)

    async def lock_cases(self, numbers: Collection[int]) -> None:
        """Load and lock these cases in one statement (a batch's: those its agents act on,
        those its customers' turns will touch); ``case`` then costs none for them."""
        wanted = sorted(set(numbers) - set(self._locked_cases))
        if wanted:
            found = await self.session.execute(sql.locked_cases(), {"ids": wanted})
            self._locked_cases.update((case.id, case) for case in found.scalars())

    # cases ------------------------------------------------------------------

    async def case(self, number: int, *, lock: bool = False) -> Case | None:
        """The case; one this transaction loaded already (and locked, if asked) costs no
        statement."""
        if lock:
            await self.lock_cases([number])
        if (case := self._locked_cases.get(number)) is not None:
            return case
        return None if lock else await self.session.get(Case, number)

    async def cases(self, statuses: Sequence[str] | None = None) -> list[Case]:
        stmt = select(Case).order_by(Case.id)
        if statuses:
            stmt = stmt.where(Case.status.in_(statuses))
        return list((await self.session.execute(stmt)).scalars())

    async def case_events(self, case_id: int) -> list[CaseEvent]:
        await self.write_pending()
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list((await self.session.execute(stmt)).scalars())

    async def claim(self, number: int, agent: str, now: datetime) -> bool:
        """Take an unclaimed case; exactly one of two racing agents gets True."""
        result = await self.session.execute(
            update(Case)
            .where(Case.id == number, Case.status == "open", Case.assigned_agent.is_(None))
            .values(status="assigned", assigned_agent=agent, claimed_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    def add_case_event(
        self, case_id: int, actor: str, kind: str, now: datetime, **detail: Any
    ) -> None:
        self.deferred.insert(
            CaseEvent, case_id=case_id, at=now, actor=actor, kind=kind, detail=detail
        )

    async def count_open_cases(self) -> int:
        stmt = select(func.count()).select_from(Case).where(Case.status.in_(OPEN_STATUSES))
        return int((await self.session.execute(stmt)).scalar_one())

    # follow-ups -------------------------------------------------------------

    async def due_followups(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        await self.write_pending()
        stmt = (
            select(FollowUp)
            .where(FollowUp.status == "pending", FollowUp.due_at <= now)
            .order_by(FollowUp.due_at)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def followup(self, followup_id: int) -> FollowUp | None:
        await self.write_pending()
        stmt = select(FollowUp).where(FollowUp.id == followup_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # platform support: idempotency, desk threads, cursors, message links ---

    async def claim_events(self, keys: Collection[str], now: datetime) -> None:
        """Record a batch's platform event keys in one statement; ``first_time`` then
        answers for them without one (agents' actions: one INSERT per batch, not each)."""
        wanted = {key[:300] for key in keys} - self._events_checked
        if not wanted:
            return
        stmt = (
            self._insert(ProcessedEvent)
            .values([{"key": key, "at": now} for key in sorted(wanted)])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(ProcessedEvent.key)
        )
        self._events_claimed.update((await self.session.execute(stmt)).scalars())
        self._events_checked.update(wanted)

    async def first_time(self, key: str, now: datetime) -> bool:
        """Record a platform event key; False if it was already processed (commit with
        effects). A key ``claim_events`` recorded is first only for its first asker."""
        key = key[:300]
        await self.claim_events([key], now)  # no statement when the batch claimed it already
        if key in self._events_claimed:
            self._events_claimed.discard(key)
            return True
        return False

    async def desk_thread(self, case_id: int, desk: str) -> DeskThread | None:
        return await self.session.get(DeskThread, (case_id, desk))

    async def case_on_desk(self, case_id: int, desk: str) -> CaseOnDesk | None:
        """A case with where it lives on ``desk`` and its conversation's channel, in one
        statement: all that a desk notice reads before it is posted."""
        params = {"id": case_id, "desk": desk}
        row = (await self.session.execute(sql.case_on_desk(), params)).one_or_none()
        return None if row is None else CaseOnDesk(row[0], row[1], row[2], row[3])

    async def set_desk_thread(
        self, case_id: int, desk: str, thread_ref: str, card_ref: str | None, now: datetime
    ) -> None:
        """Store (or move) the case's place on ``desk``: one statement, no read first."""
        values = {"thread_ref": thread_ref, "card_ref": card_ref}
        stmt = (
            self._insert(DeskThread)
            .values(case_id=case_id, desk=desk, created_at=now, **values)
            .on_conflict_do_update(index_elements=["case_id", "desk"], set_=values)
        )
        await self.session.execute(stmt)

    async def case_for_thread(self, desk: str, thread_ref: str) -> int | None:
        stmt = select(DeskThread.case_id).where(
            DeskThread.desk == desk, DeskThread.thread_ref == thread_ref
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def cursor(self, name: str) -> str | None:
        row = await self.session.get(Cursor, name)
        return row.value if row else None

    async def cursor_row(self, name: str) -> tuple[str, datetime] | None:
        """The value and when it was written."""
        row = await self.session.get(Cursor, name)
        return (row.value, row.updated_at) if row else None

    async def set_cursor(self, name: str, value: str, now: datetime) -> None:
        """One statement, and safe when several processes write the same name at once
        (two workers' first heartbeats, say): a read-then-insert would let both insert."""
        values = {"value": value, "updated_at": now}
        stmt = (
            self._insert(Cursor)
            .values(name=name, **values)
            .on_conflict_do_update(index_elements=["name"], set_=values)
        )
        await self.session.execute(stmt)

    def add_link(
        self, case_id: int | None, src: tuple[str, str, str], dst: tuple[str, str, str],
        now: datetime,
    ) -> None:  # fmt: skip
        """Remember that message ``src`` (channel, chat, id) was copied as ``dst``."""
        self.session.add(MessageLink(
            case_id=case_id, src_channel=src[0], src_chat=src[1], src_message=src[2],
            dst_channel=dst[0], dst_chat=dst[1], dst_message=dst[2], created_at=now,
        ))  # fmt: skip

    async def links_from(self, src: tuple[str, str, str]) -> list[MessageLink]:
        stmt = select(MessageLink).where(
            MessageLink.src_channel == src[0],
            MessageLink.src_chat == src[1],
            MessageLink.src_message == src[2],
        )
        return list((await self.session.execute(stmt)).scalars())
