"""The data map: which tables and columns hold personal data, of what kind, how a row is
tied to one customer, what an erasure does to it and which retention setting governs it.

Export, erasure and retention all read this one map, and a test fails when a text, JSON
or identity column appears in the models without an entry here, so a new place where
personal data could hide cannot be forgotten by any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import String, and_, cast, false, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from bot.storage import models as m

ERASED = "[erased]"


class Kind(StrEnum):
    """Kinds of personal data, as the data-protection officer's records name them."""

    NAME = "name"
    EMAIL = "email"
    PLATFORM_ID = "platform identifier"  # a Telegram/Slack/local user or chat id
    MESSAGE_TEXT = "message text"  # what the customer, the bot or an agent wrote
    FREE_TEXT = "free text about the customer"  # case summaries, resolutions, comments
    RECORD = "structured record"  # JSON that may hold any of the above
    FILE_REF = "file reference"  # attachments: platform file ids and names


@dataclass(frozen=True)
class Scope:
    """One customer's footprint, found once and handed to every selector."""

    customer_id: int
    conversations: tuple[int, ...] = ()
    cases: tuple[int, ...] = ()
    messages: tuple[int, ...] = ()
    chats: tuple[tuple[str, str], ...] = ()  # (channel, chat_id) of their conversations


Selector = Callable[[Scope], ColumnElement[bool]]
Erase = Literal["delete", "anonymise", "keep"]


@dataclass(frozen=True)
class Entry:
    """One table. ``personal`` maps columns to kinds; ``other`` names the text, JSON and
    identity columns that hold none (staff names, statuses, ids), so every such column is
    accounted for. ``erase`` is "delete" (rows go), "anonymise" (``anonymise`` gives each
    column its new value, a constant or an SQL expression) or "keep"."""

    model: type[m.Base]
    purpose: str
    owner: Selector | None
    personal: Mapping[str, Kind] = field(default_factory=dict)
    other: frozenset[str] = frozenset()
    erase: Erase = "keep"
    anonymise: Mapping[str, Any] = field(default_factory=dict)
    retention: str | None = None  # the RetentionSettings field that governs it

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


def _in(column: Any, ids: tuple[int, ...]) -> ColumnElement[bool]:
    return column.in_(ids) if ids else false()


def _chat_of(channel: Any, chat: Any, scope: Scope) -> ColumnElement[bool]:
    return or_(false(), *(and_(channel == c, chat == a) for c, a in scope.chats))


def _outbox(s: Scope) -> ColumnElement[bool]:
    o = m.OutboxItem
    about = o.payload[("extra", "conversation")].as_integer()
    return or_(_in(o.message_id, s.messages), _in(o.case_id, s.cases),
               _chat_of(o.channel, o.address, s), _in(about, s.conversations))  # fmt: skip


def _links(s: Scope) -> ColumnElement[bool]:
    k = m.MessageLink
    return or_(_in(k.case_id, s.cases), _chat_of(k.src_channel, k.src_chat, s),
               _chat_of(k.dst_channel, k.dst_chat, s))  # fmt: skip


def _audit(s: Scope) -> ColumnElement[bool]:
    return or_(m.AuditEvent.customer_id == s.customer_id, _in(m.AuditEvent.case_id, s.cases))


_ERASED_CHAT = literal("erased:") + cast(m.Conversation.id, String)

DATA_MAP: tuple[Entry, ...] = (
    Entry(m.Customer, "the customer's profile", lambda s: m.Customer.id == s.customer_id,
          {"display_name": Kind.NAME, "email": Kind.EMAIL},
          erase="anonymise", anonymise={"display_name": None, "email": None},
          retention="inactive_customers_days"),
    Entry(m.Identity, "the customer's address on each channel",
          lambda s: m.Identity.customer_id == s.customer_id,
          {"external_id": Kind.PLATFORM_ID}, frozenset({"channel"}), erase="delete",
          retention="inactive_customers_days"),
    Entry(m.Conversation, "the chat and the bot's memory of the current issue",
          lambda s: m.Conversation.customer_id == s.customer_id,
          {"chat_id": Kind.PLATFORM_ID, "data": Kind.RECORD}, frozenset({"channel", "state"}),
          erase="anonymise", anonymise={"chat_id": _ERASED_CHAT, "data": {}, "state": "closed"},
          retention="messages_days"),
    Entry(m.Case, "escalated cases (KPIs need the bare record)",
          lambda s: m.Case.customer_id == s.customer_id,
          {"summary": Kind.MESSAGE_TEXT, "details": Kind.RECORD, "resolution": Kind.FREE_TEXT},
          frozenset({"status", "category", "priority", "reason", "assigned_agent", "group"}),
          erase="anonymise", anonymise={"summary": ERASED, "details": {}, "resolution": None},
          retention="closed_cases_days"),
    Entry(m.CaseEvent, "each case's timeline", lambda s: _in(m.CaseEvent.case_id, s.cases),
          {"detail": Kind.RECORD}, frozenset({"actor", "kind"}),
          erase="anonymise", anonymise={"detail": {}}, retention="closed_cases_days"),
    Entry(m.MessageRecord, "every message in and out, agents' notes included",
          lambda s: _in(m.MessageRecord.conversation_id, s.conversations),
          {"text": Kind.MESSAGE_TEXT, "buttons": Kind.MESSAGE_TEXT,
           "attachments": Kind.FILE_REF, "dedupe_key": Kind.PLATFORM_ID},
          frozenset({"direction", "sender", "author"}), erase="delete",
          retention="messages_days"),
    Entry(m.Feedback, "CSAT and NPS answers", lambda s: _in(m.Feedback.conversation_id,
          s.conversations), {"comment": Kind.FREE_TEXT}, frozenset({"kind"}),
          erase="anonymise", anonymise={"comment": None}, retention="feedback_comments_days"),
    Entry(m.KbQuery, "knowledge-base lookups", lambda s: _in(m.KbQuery.conversation_id,
          s.conversations), {"query": Kind.MESSAGE_TEXT},
          frozenset({"article_id", "decision", "outcome"}),
          erase="anonymise", anonymise={"query": ERASED}, retention="kb_queries_days"),
    Entry(m.FollowUp, "follow-ups and SLA timers", lambda s: _in(m.FollowUp.conversation_id,
          s.conversations), {}, frozenset({"kind", "status", "payload"}),
          erase="anonymise", anonymise={"payload": None}, retention="logs_days"),
    Entry(m.Contact, "one issue from greeting to end (KPIs)",
          lambda s: _in(m.Contact.conversation_id, s.conversations), {},
          frozenset({"channel", "category", "outcome"})),
    Entry(m.OutboxItem, "messages queued for and delivered to the customer and the desk",
          _outbox, {"address": Kind.PLATFORM_ID, "payload": Kind.MESSAGE_TEXT,
                    "last_error": Kind.FREE_TEXT},
          frozenset({"channel", "status"}), erase="delete", retention="logs_days"),
    Entry(m.DeskThread, "where a case lives on the agents' desk",
          lambda s: _in(m.DeskThread.case_id, s.cases), {},
          frozenset({"desk", "thread_ref", "card_ref"}), erase="delete",
          retention="closed_cases_days"),
    Entry(m.MessageLink, "a relayed message's copy on the other side", _links,
          {"src_chat": Kind.PLATFORM_ID, "dst_chat": Kind.PLATFORM_ID},
          frozenset({"src_channel", "dst_channel", "src_message", "dst_message"}),
          erase="delete", retention="closed_cases_days"),
    Entry(m.AuditEvent, "who did what to a case or a customer's data (no data itself)",
          _audit, {}, frozenset({"actor", "action", "detail"}), retention="audit_days"),
    Entry(m.InboxItem, "messages received and waiting for a worker (seconds, normally)",
          lambda s: _chat_of(m.InboxItem.channel, m.InboxItem.chat_id, s),
          {"chat_id": Kind.PLATFORM_ID, "message": Kind.MESSAGE_TEXT,
           "dedupe_key": Kind.PLATFORM_ID}, frozenset({"channel"}), erase="delete",
          retention="messages_days"),
    Entry(m.RateLimit, "deployment-wide pacing of the platforms' APIs", None, {},
          frozenset({"key"})),
    Entry(m.ProcessedEvent, "platform event ids already handled", None, {},
          frozenset({"key"}), retention="logs_days"),
    Entry(m.Cursor, "polling positions, schedules, heartbeats", None, {},
          frozenset({"name", "value"})),
    Entry(m.Agent, "agents' availability (staff, not customers)", None, {},
          frozenset({"name", "status", "groups"})),
)  # fmt: skip

BY_TABLE: dict[str, Entry] = {e.table: e for e in DATA_MAP}
