"""The database schema. Alembic migrations in ``migrations/`` are generated from it.

Times are stored as naive UTC and handed back timezone-aware, so SQLite and
PostgreSQL behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class _SqliteDateTime(sqlite.DATETIME):
    """SQLite's DATETIME (the same DDL, the same text), written with ``isoformat``:
    ``2026-11-29 19:04:48.123456``, microseconds always, as DATETIME's own ``%`` format
    of seven fields writes it, in one call. Every message stores several times; under
    ``supportbot bench`` the ``%`` format and the call around it were 2-3% of the event
    loop's time. Reading is DATETIME's own (``fromisoformat``), and SQL text with the
    values filled in (``literal_binds``) goes through this as well."""

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], str | None]:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the engine stores."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteDateTime())  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to the database; use aware UTC times"
            raise ValueError(msg)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    # Set by an erasure: the row stays (cases still count) but holds no personal data.
    erased_at: Mapped[datetime | None]


class Identity(Base):
    """A customer's address on one channel (``telegram:123``, ``local:anna``)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Conversation(Base):
    """The bot's side of one customer chat: dialogue state and its working data."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime] = mapped_column(index=True)


#: A case in these states is waiting for or with an agent; at most one per conversation
#: (the partial unique index below, spelt from the same tuple).
OPEN_STATUSES = ("open", "assigned")
OPEN_CASE = "status IN ({})".format(", ".join(f"'{status}'" for status in OPEN_STATUSES))


class Case(Base):
    """An escalated case; its id is the case number customers and agents see."""

    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_one_open_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(OPEN_CASE),
            # postgresql_where: added by `with_postgresql_options()`, see there
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    assigned_agent: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    resolution: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str] = mapped_column(String(64), server_default="general")
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # SLA clocks: due times are in business time, pushed back while paused (waiting on
    # the customer); a breach is recorded once, when its timer fires.
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(Boolean, server_default="0")
    resolution_breached: Mapped[bool] = mapped_column(Boolean, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, server_default="0")
    reopened_at: Mapped[datetime | None]


class CaseEvent(Base):
    """The audit trail of a case: who did what, when."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]


class MessageRecord(Base):
    """Every message in and out; ``dedupe_key`` makes a redelivered inbound a no-op."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    sender: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime]


class Feedback(Base):
    """A CSAT rating (1-5) or an NPS answer (0-10), with an optional comment."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'csat' AND score BETWEEN 1 AND 5) "
            "OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name="score_range",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), server_default="csat")
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class KbQuery(Base):
    """A knowledge-base lookup and what came of it (for KPIs and the editors)."""

    __tablename__ = "kb_queries"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    article_id: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class FollowUp(Base):
    """Scheduled work, kept in the database so it survives restarts and fires once:
    follow-ups with customers and the SLA, routing and escalation timers of cases."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime]


class OutboxItem(Base):
    """A message waiting to be delivered; written in the same transaction as the state."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "channel", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DeskThread(Base):
    """Where a case lives on an agents' desk: a Telegram forum topic, a Slack thread."""

    __tablename__ = "desk_threads"
    __table_args__ = (UniqueConstraint("desk", "thread_ref"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    desk: Mapped[str] = mapped_column(String(32), primary_key=True)
    thread_ref: Mapped[str] = mapped_column(String(200))
    card_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class InboxItem(Base):
    """A customer's message received but not processed yet (only when separate workers
    process messages). The receiving process stores it before answering the platform; the
    worker that processes it deletes it in the same transaction as its effects."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_chat", "channel", "chat_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    message: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class RateLimit(Base):
    """A deployment-wide rate limit's state (``bot.shared_rate``): the next free slot of a
    key such as ``telegram:overall``, in seconds since the epoch (the server's clock)."""

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Double)


class ProcessedEvent(Base):
    """Platform events already handled (Slack event_id, Telegram update_id, button taps);
    written in the same transaction as the event's effects, so a redelivery is a no-op."""

    __tablename__ = "processed_events"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    at: Mapped[datetime]


class Cursor(Base):
    """A named position a channel keeps across restarts (e.g. a polling offset)."""

    __tablename__ = "cursors"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class MessageLink(Base):
    """A relayed message's copy on the other side (to map replies and edits)."""

    __tablename__ = "message_links"
    __table_args__ = (Index("ix_message_links_source", "src_channel", "src_chat", "src_message"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    src_channel: Mapped[str] = mapped_column(String(32))
    src_chat: Mapped[str] = mapped_column(String(200))
    src_message: Mapped[str] = mapped_column(String(200))
    dst_channel: Mapped[str] = mapped_column(String(32))
    dst_chat: Mapped[str] = mapped_column(String(200))
    dst_message: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Agent(Base):
    """An agent's availability and the routing groups they work in."""

    __tablename__ = "agents"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # available | away
    groups: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class Contact(Base):
    """One customer issue from greeting to its end: the unit of FCR, escalation rate,
    bot resolution rate and handling time."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # open | bot_resolved | escalated | abandoned
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]


class AuditEvent(Base):
    """What staff did to a case or to a customer's data (viewed, claimed, replied, noted,
    resolved, reassigned, exported, erased, purged): actor, time, target, never the data
    itself. Append-only (a trigger refuses updates); no foreign keys, so the trail
    outlives the records it names."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[dict[str, Any]]


def with_postgresql_options() -> None:
    """Give the schema its PostgreSQL-only options (the partial index's ``WHERE``).

    Validating a ``postgresql_*`` option imports SQLAlchemy's PostgreSQL dialect with
    all its drivers (2.7 MB of resident memory), which a bot on SQLite never uses, so
    the models leave them out and whoever talks to PostgreSQL adds them first:
    ``bot.storage.db.create_engine`` for a PostgreSQL URL, and the migrations'
    environment (autogenerate must see both dialects). Idempotent.
    """
    for index in Base.metadata.tables[Case.__tablename__].indexes:
        if index.name == "uq_cases_one_open_per_conversation":
            index.dialect_kwargs["postgresql_where"] = text(OPEN_CASE)
