"""The statements the repository runs most, built once: a statement object that is
reused skips its construction and keeps its cache key, so each execution costs less
(see ``bot.storage.repository``), and the rows it writes in bulk."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, literal, select, true, tuple_
from sqlalchemy.dialects import sqlite

from bot.storage.models import (
    Case,
    Conversation,
    Customer,
    DeskThread,
    Identity,
    MessageRecord,
    OutboxItem,
)


@functools.cache
def returning_id(table: Any) -> Any:
    """``INSERT INTO table ... RETURNING id``, built once: a statement object that is
    reused skips its construction and keeps its cache key, so each execution costs less."""
    return table.insert().returning(table.c.id)


def locked_conversations(criterion: Any) -> Any:
    """Conversations with their customers, locked for the transaction."""
    return (
        select(Conversation, Customer)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(criterion)
        .with_for_update(of=Conversation)
    )


def pairs_in(first: Any, second: Any, name: str) -> Any:
    """``(first, second) IN :name``, put so that SQLite searches the two columns' index.
    Given only a list of pairs, SQLite (3.40) scans the whole table: every batch read
    every conversation and every identity, and a bot slowed down as its customers
    added up. Each column's own list lets it search the index; the pairs then decide.
    Bind it with ``pair_params``."""
    return (
        first.in_(bindparam(f"{name}_first", expanding=True))
        & second.in_(bindparam(f"{name}_second", expanding=True))
        & tuple_(first, second).in_(bindparam(name, expanding=True))
    )


def pair_params(name: str, pairs: Iterable[tuple[str, str]]) -> dict[str, list[Any]]:
    """The parameters of ``pairs_in(..., name)``."""
    unique = sorted(set(pairs))
    return {
        name: unique,
        f"{name}_first": sorted({first for first, _ in unique}),
        f"{name}_second": sorted({second for _, second in unique}),
    }


@functools.cache
def conversations_of_chats() -> Any:
    """A batch's conversations, by (channel, chat id) (built once: see above)."""
    return locked_conversations(pairs_in(Conversation.channel, Conversation.chat_id, "chats"))


@functools.cache
def conversation_by_id() -> Any:
    """One conversation by id (built once)."""
    return locked_conversations(Conversation.id == bindparam("id"))


@functools.cache
def customers_of_users() -> Any:
    """Customers by their channel's user ids (built once)."""
    return select(Identity.channel, Identity.external_id, Identity.customer_id).where(
        pairs_in(Identity.channel, Identity.external_id, "users")
    )


@functools.cache
def insert_rows(table: Any) -> Any:
    """A plain INSERT, for executemany (built once)."""
    return table.insert()


def dialect_insert(model: Any, postgres: bool) -> Any:
    """An INSERT that can say ON CONFLICT, in the database's own dialect."""
    if postgres:  # the dialect is imported only where it is used (2.7 MB)
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(model)
    return sqlite.insert(model)


@functools.cache
def open_conversation(postgres: bool) -> Any:
    """A first contact's conversation; one created meanwhile by another process stands."""
    insert = dialect_insert(Conversation, postgres)
    return insert.on_conflict_do_nothing(index_elements=["channel", "chat_id"])


@functools.cache
def case_on_desk() -> Any:
    """A case, its desk thread (if any) and its conversation's channel (built once)."""
    thread = (DeskThread.case_id == Case.id) & (DeskThread.desk == bindparam("desk"))
    return (
        select(Case, DeskThread.thread_ref, DeskThread.card_ref, Conversation.channel)
        .join(Conversation, Conversation.id == Case.conversation_id)
        .outerjoin(DeskThread, thread)
        .where(Case.id == bindparam("id"))
    )


@functools.cache
def locked_cases() -> Any:
    """Cases locked in a fixed order: a batch's, or one (built once)."""
    ids = Case.id.in_(bindparam("ids", expanding=True))
    return select(Case).where(ids).order_by(Case.id).with_for_update()


@functools.cache
def before_escalation() -> Any:
    """What an escalation reads before it opens a case, in one statement instead of
    three: how many cases the customer opened since ``since`` (the abuse limit) and how
    many of the conversation's messages carried files outside a case (the desk copies
    those to the new case), beside each of the conversation's last ``limit`` stored
    messages, newest first (with no message stored, one row whose message columns are
    NULL)."""
    opened = (
        select(func.count())
        .select_from(Case)
        .where(Case.customer_id == bindparam("customer"), Case.created_at >= bindparam("since"))
        .scalar_subquery()
    )
    m = MessageRecord
    files = (
        select(func.count())
        .select_from(m)
        .where(m.conversation_id == bindparam("conversation"), m.direction == "in",
               m.attachments.is_not(None), m.case_id.is_(None))
        .scalar_subquery()
    )  # fmt: skip
    last = (
        select(m.id, m.author, m.sender, m.text, m.internal)
        .where(m.conversation_id == bindparam("conversation"))
        .order_by(m.id.desc())
        .limit(bindparam("limit"))
        .subquery()
    )
    columns = (last.c.author, last.c.sender, last.c.text, last.c.internal)
    return (
        select(opened.label("opened"), files.label("files"), *columns)
        .select_from(or_one_null_row(last))
        .order_by(last.c.id.desc())
    )


def or_one_null_row(rows: Any) -> Any:
    """``rows`` (a subquery) to select from beside a scalar subquery: one row of NULLs
    when it has none, so the scalar is still answered in the same statement."""
    one = select(literal(1).label("one")).subquery()
    return one.outerjoin(rows, true())


@functools.cache
def stored_dedupe_keys() -> Any:
    """Which of a batch's platform message ids are stored already (built once)."""
    key = MessageRecord.dedupe_key
    return select(key).where(key.in_(bindparam("keys", expanding=True)))


@functools.cache
def mark_sent() -> Any:
    """Rows the channels accepted (built once)."""
    outbox: Any = OutboxItem.__table__
    return (
        outbox.update()
        .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
        .values(status="sent", sent_at=bindparam("now"))
    )


def message_row(**values: Any) -> dict[str, Any]:
    """A messages row with every column given (a multi-row INSERT needs the same keys)."""
    row: dict[str, Any] = dict(case_id=None, author=None, buttons=None, internal=False,
                               attachments=None, dedupe_key=None)  # fmt: skip
    row.update(values)
    return row


def outbox_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(message_id=None, status="pending", attempts=0, last_error=None,
                               sent_at=None)  # fmt: skip
    row.update(values)
    return row
