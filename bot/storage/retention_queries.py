"""The SQL of retention: each kind of record's purge, as statements that either count
(a dry run) or delete/overwrite what is past its time. Records of open cases are never
touched (part of the repository layer, beside ``privacy_queries``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.privacy.datamap import ERASED
from bot.storage.models import (
    OPEN_STATUSES,
    AuditEvent,
    Case,
    CaseEvent,
    Conversation,
    Customer,
    DeskThread,
    Feedback,
    FollowUp,
    KbQuery,
    MessageLink,
    MessageRecord,
    OutboxItem,
    ProcessedEvent,
)
from bot.storage.repository import Tx


def _open_case_conversations() -> Select[Any]:
    return select(Case.conversation_id).where(Case.status.in_(OPEN_STATUSES))


def _closed_before(cutoff: datetime) -> Select[Any]:
    ended = func.coalesce(Case.closed_at, Case.resolved_at)
    return select(Case.id).where(Case.status.not_in(OPEN_STATUSES), ended < cutoff)


def _old_messages(cutoff: datetime, cases: Select[Any]) -> Select[Any]:
    """Messages past their time: outside a case, or of a case closed before the cutoff;
    never while their conversation has an open case."""
    return select(MessageRecord.id).where(
        MessageRecord.conversation_id.not_in(_open_case_conversations()),
        or_(
            (MessageRecord.case_id.is_(None)) & (MessageRecord.created_at < cutoff),
            MessageRecord.case_id.in_(cases),
        ),
    )


@dataclass(frozen=True)
class Purge:
    """One retention step: rows of ``model`` matching ``where`` are deleted, or updated
    with ``values``."""

    kind: str
    table: str
    model: Any
    where: ColumnElement[bool]
    values: dict[str, Any] | None = None


def purges(kind: str, cutoff: datetime) -> list[Purge]:
    """The steps of one kind of record; dependants come before what they point to."""
    if kind == "messages_days":
        old = _old_messages(cutoff, _closed_before(cutoff))
        idle = Conversation.last_activity_at < cutoff
        quiet = idle & Conversation.id.not_in(_open_case_conversations())
        return [
            Purge(kind, "outbox", OutboxItem, OutboxItem.message_id.in_(old)),
            Purge(kind, "messages", MessageRecord, MessageRecord.id.in_(old)),
            Purge(kind, "conversations", Conversation,
                  quiet & (cast(Conversation.data, String) != "{}"), {"data": {}}),
        ]  # fmt: skip
    if kind == "closed_cases_days":
        cases = _closed_before(cutoff)
        texts = Case.id.in_(cases) & (Case.summary != ERASED)
        events = CaseEvent.case_id.in_(cases) & (cast(CaseEvent.detail, String) != "{}")
        return [
            Purge(kind, "outbox", OutboxItem, OutboxItem.case_id.in_(cases)),
            Purge(kind, "messages", MessageRecord, MessageRecord.case_id.in_(cases)),
            Purge(kind, "desk_threads", DeskThread, DeskThread.case_id.in_(cases)),
            Purge(kind, "message_links", MessageLink, MessageLink.case_id.in_(cases)),
            Purge(kind, "case_events", CaseEvent, events, {"detail": {}}),
            Purge(kind, "cases", Case, texts,
                  {"summary": ERASED, "details": {}, "resolution": None}),
        ]  # fmt: skip
    if kind == "feedback_comments_days":
        where = (Feedback.created_at < cutoff) & Feedback.comment.is_not(None)
        return [Purge(kind, "feedback", Feedback, where, {"comment": None})]
    if kind == "kb_queries_days":
        where = (
            (KbQuery.created_at < cutoff)
            & (KbQuery.query != ERASED)
            & (KbQuery.conversation_id.not_in(_open_case_conversations()))
        )
        return [Purge(kind, "kb_queries", KbQuery, where, {"query": ERASED})]
    if kind == "logs_days":
        return [
            Purge(kind, "outbox", OutboxItem,
                  OutboxItem.status.in_(("sent", "uncertain"))
                  & (OutboxItem.created_at < cutoff)),
            Purge(kind, "processed_events", ProcessedEvent, ProcessedEvent.at < cutoff),
            Purge(kind, "followups", FollowUp,
                  (FollowUp.status != "pending") & (FollowUp.created_at < cutoff)),
        ]  # fmt: skip
    if kind == "audit_days":
        return [Purge(kind, "audit_events", AuditEvent, AuditEvent.at < cutoff)]
    msg = f"no purge for {kind}"
    raise ValueError(msg)


async def run_purge(tx: Tx, purge: Purge, *, dry_run: bool) -> int:
    await tx.write_pending()  # rows deferred in this transaction
    if dry_run:
        counted = select(func.count()).select_from(purge.model).where(purge.where)
        return int((await tx.session.execute(counted)).scalar_one())
    if purge.values is None:
        result = await tx.session.execute(delete(purge.model).where(purge.where))
    else:
        stmt = update(purge.model).where(purge.where).values(**purge.values)
        result = await tx.session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def inactive_customers(tx: Tx, cutoff: datetime) -> list[int]:
    """Customers not erased yet, silent since before the cutoff, with no open case."""
    last = (
        select(Conversation.customer_id, func.max(Conversation.last_activity_at).label("last"))
        .group_by(Conversation.customer_id)
        .subquery()
    )
    stmt = (
        select(Customer.id)
        .outerjoin(last, last.c.customer_id == Customer.id)
        .where(
            Customer.erased_at.is_(None),
            func.coalesce(last.c.last, Customer.created_at) < cutoff,
            Customer.id.not_in(select(Case.customer_id).where(Case.status.in_(OPEN_STATUSES))),
        )
        .order_by(Customer.id)
    )
    return list(await tx.session.scalars(stmt))
