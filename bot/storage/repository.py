"""The one door to the database. The engine opens a ``Tx`` per event; everything a
turn changes (state, messages, outbox, case records) commits or rolls back together.

Statement budget matters (each statement costs SQLAlchemy a few hundred microseconds of
CPU, a round trip on PostgreSQL, and on SQLite a transaction's BEGIN and COMMIT are a
thread hop each: ``bot.storage.sqlite_driver``), so the common path of a customer
message is: lock/load the conversation, insert the inbound message (a repeated platform
id is recognised here), insert replies and their outbox rows, update the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import DatabaseError, IntegrityError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bot.errors import DatabaseUnavailable
from bot.messages import Attachment, Reply
from bot.storage import statements as sql
from bot.storage.case_records import CaseRecords
from bot.storage.db import describe_operational_error
from bot.storage.deferred import Deferred
from bot.storage.models import (
    Agent,
    Case,
    Conversation,
    Customer,
    Identity,
    MessageRecord,
    OutboxItem,
)
from bot.storage.outbox_rows import COLUMNS as OUTBOX_COLUMNS
from bot.storage.outbox_rows import OutboxRow

Chat = tuple[str, str]  # (channel, chat id)
DESK_CHANNEL = "desk"  # the outbox's channel for notices to the agents' desks


class Rider(Protocol):
    """Small writes that wait for company (the outbox's "sent" marks): at the end of any
    transaction, ``ride`` may add statements to it instead of paying for a transaction
    of its own (a BEGIN, a COMMIT and on SQLite an fsync holding the only writer's lock).
    It returns what to call once the transaction is over (True: committed; False: rolled
    back, so the rider keeps its work for the next one), or None if it added nothing."""

    async def ride(self, tx: Tx) -> Callable[[bool], None] | None: ...


class Repository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time. Queueing our own transactions here, instead of
        # letting connections race for the file lock, avoids SQLite's busy-wait sleeps
        # (tens of milliseconds each) under load; other processes still wait via
        # busy_timeout.
        self._writer = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self.riders: list[Rider] = []
        self._open = 0  # transactions in progress

    @property
    def busy(self) -> bool:
        """Whether a transaction is in progress or queued (a rider's work could join it)."""
        return self._open > 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work; driver failures become ``DatabaseUnavailable`` with a clear text."""
        self._open += 1
        try:
            async with (
                self._writer or contextlib.nullcontext(),
                self._errors(),
                self._session() as tx,
            ):
                yield tx
        finally:
            self._open -= 1

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Tx]:
        landed: list[Callable[[bool], None]] = []
        try:
            async with self._sessions() as session, session.begin():
                tx = Tx(session)
                yield tx
                await tx.write_pending()
                for rider in self.riders:
                    if (done := await rider.ride(tx)) is not None:
                        landed.append(done)
        except BaseException:
            for done in landed:
                done(False)
            raise
        else:
            for done in landed:
                done(True)

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except IntegrityError:
            raise  # a bug, not an outage: let it surface
        except (DatabaseError, InterfaceError, OSError) as exc:  # a lost server, a locked file
            raise DatabaseUnavailable(describe_operational_error(exc, self.engine)) from exc

    async def close(self) -> None:
        await self.engine.dispose()


class Escalating(NamedTuple):
    """What an escalation reads before it opens a case (``Tx.before_escalation``)."""

    cases_since: int  # the customer's cases since the time asked (the abuse limit)
    files: int  # the conversation's customer messages with files, outside any case
    transcript: list[tuple[str, str]]  # its last messages, (who, text), oldest first


class Tx(CaseRecords):
    """Operations inside one transaction: conversations, messages and the outbox here,
    cases and the desks' records in ``CaseRecords`` (``bot.storage.case_records``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self.queued: list[OutboxRow] = []  # outbox rows added here, to hand over after commit
        # Messages and their outbox rows are written together, one INSERT per table for a
        # whole batch (see ``write_pending``), instead of one per row as the ORM would.
        self._messages: list[dict[str, Any]] = []
        self._outbox: list[tuple[dict[str, Any], int | None]] = []  # row, index in _messages
        self.deferred = Deferred()  # rows and updates written at the end (bot.storage.deferred)
        self._conversations: dict[tuple[str, str], tuple[Conversation, Customer]] = {}
        self._absent: set[tuple[str, str]] = set()  # chats ``prefetch`` found no conversation for
        self._dedupe_checked: set[str] = set()  # keys looked up in the database already
        self._dedupe_taken: set[str] = set()  # ...and of those, the ones already stored
        self._events_checked: set[str] = set()  # (see CaseRecords)
        self._events_claimed: set[str] = set()
        self.agents: list[Agent] | None = None  # read once (``supervision_queries.agents``)
        self._locked_cases: dict[int, Case] = {}
        # Inside a savepoint: each saved conversation attribute's value before it, so a
        # rollback puts the objects back as the database has them again.
        self._undo: dict[tuple[int, str], tuple[Conversation, Any]] | None = None

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the transaction that can fail alone; what it buffered goes with it,
        and the conversations it saved are as they were before it (a worker replays the
        messages one by one from there)."""
        await self.write_pending()
        taken, queued = set(self._dedupe_taken), len(self.queued)
        outer, self._undo = self._undo, {}
        try:
            async with self.session.begin_nested():
                yield
                await self.write_pending()
        except BaseException:
            self._messages.clear()
            self._outbox.clear()
            self.deferred.clear()
            self._dedupe_taken = taken
            self.agents = None
            self._locked_cases.clear()  # those it changed are expired: read them again
            del self.queued[queued:]
            for (_, name), (conversation, value) in self._undo.items():
                set_committed_value(conversation, name, value)
            raise
        finally:
            undone, self._undo = self._undo, outer
        if outer is not None:  # nested: the outer savepoint may still undo these
            for key, entry in undone.items():
                outer.setdefault(key, entry)

    # conversations ---------------------------------------------------------

    async def prefetch(
        self, chats: Sequence[Chat], dedupe_keys: Sequence[str], *,
        users: Mapping[Chat, tuple[str, str | None]] | None = None, now: datetime | None = None,
    ) -> None:  # fmt: skip
        """Load (and lock) a batch's conversations and look up its platform message ids
        in two statements, instead of two per message. Given each chat's user (id and
        name) and ``now``, first contacts' customers and conversations are created here
        too, in five statements however many there are (five each, one by one): an outage
        brings many new customers at once. The batch's conversations are then at hand
        (``loaded``, ``conversation_by_id``)."""
        rows = await self.session.execute(
            sql.conversations_of_chats(), sql.pair_params("chats", chats)
        )
        for conv, customer in rows.all():
            self._conversations[(conv.channel, conv.chat_id)] = (conv, customer)
        self._absent.update(chat for chat in chats if chat not in self._conversations)
        if users and now is not None:
            first = {chat: users[chat] for chat in chats if chat in self._absent and chat in users}
            if first:
                await self._open_conversations(first, now)
        if dedupe_keys:
            keys = set(dedupe_keys)
            found = await self.session.execute(sql.stored_dedupe_keys(), {"keys": list(keys)})
            self._dedupe_taken.update(k for k in found.scalars() if k)
            self._dedupe_checked.update(keys)

    def loaded(self) -> list[Conversation]:
        """The conversations this transaction has loaded and locked."""
        return [conversation for conversation, _ in self._conversations.values()]

    async def _open_conversations(
        self, first: Mapping[Chat, tuple[str, str | None]], now: datetime
    ) -> None:
        """Conversations for chats seen for the first time, with their customers (found by
        the channel's user id, else created), then loaded and locked like the others."""
        names: dict[tuple[str, str], str | None] = {}
        for (channel, _), (user_id, name) in first.items():
            names.setdefault((channel, user_id), name)
        found = await self.session.execute(
            sql.customers_of_users(), sql.pair_params("users", names)
        )
        customers: dict[tuple[str, str], int] = {(c, u): cid for c, u, cid in found.all()}
        new = [user for user in names if user not in customers]
        connection = await self.session.connection()
        if new:
            people = [{"display_name": names[user], "created_at": now} for user in new]
            customers.update(zip(new, await self._insert_many(Customer.__table__, people),
                                 strict=True))  # fmt: skip
            await connection.execute(sql.insert_rows(Identity.__table__), [
                {"customer_id": customers[user], "channel": user[0], "external_id": user[1],
                 "created_at": now}
                for user in new
            ])  # fmt: skip
        await connection.execute(sql.open_conversation(self._postgres), [
            {"customer_id": customers[(channel, user_id)], "channel": channel, "chat_id": chat_id,
             "state": "start", "data": {}, "version": 0, "started_at": now,
             "last_activity_at": now}
            for (channel, chat_id), (user_id, _) in first.items()
        ])  # fmt: skip
        rows = await self.session.execute(
            sql.conversations_of_chats(), sql.pair_params("chats", first)
        )
        for conv, customer in rows.all():
            self._conversations[(conv.channel, conv.chat_id)] = (conv, customer)
            self._absent.discard((conv.channel, conv.chat_id))

    async def conversation(
        self, channel: str, chat_id: str, *, user_id: str, user_name: str | None, now: datetime
    ) -> tuple[Conversation, Customer]:
        """The chat's conversation, locked for this transaction; created on first contact."""
        row = self._conversations.get((channel, chat_id))
        if row is None and (channel, chat_id) not in self._absent:
            row = await self._locked_conversation(channel, chat_id)
        if row is None:  # first contact (or created meanwhile by another process)
            await self._open_conversations({(channel, chat_id): (user_id, user_name)}, now)
            row = self._conversations[(channel, chat_id)]
        self._conversations[(channel, chat_id)] = row
        conversation, customer = row
        if user_name and customer.display_name != user_name:
            customer.display_name = user_name
        return conversation, customer

    async def _locked_conversation(
        self, channel: str, chat_id: str
    ) -> tuple[Conversation, Customer] | None:
        chats = sql.pair_params("chats", [(channel, chat_id)])
        result = (await self.session.execute(sql.conversations_of_chats(), chats)).one_or_none()
        return None if result is None else (result[0], result[1])

    async def conversation_by_id(self, conversation_id: int) -> tuple[Conversation, Customer]:
        """The conversation, locked; one the batch loaded already costs no statement."""
        for row in self._conversations.values():
            if row[0].id == conversation_id:
                return row
        row = (await self.session.execute(sql.conversation_by_id(), {"id": conversation_id})).one()
        return row[0], row[1]

    async def idle_conversations(self, states: Sequence[str], before: datetime) -> list[int]:
        stmt = select(Conversation.id).where(
            Conversation.state.in_(states), Conversation.last_activity_at < before
        )
        return list((await self.session.execute(stmt)).scalars())

    # messages and outbox ---------------------------------------------------

    async def record_inbound(
        self, conversation_id: int, case_id: int | None, text: str, *,
        dedupe_key: str | None, sender: str, author: str | None, internal: bool, now: datetime,
        attachments: Sequence[Attachment] = (),
    ) -> bool:  # fmt: skip
        """Store an inbound message; False when its platform id was already stored.

        The row is written with the transaction's next flush (with the batch's other
        rows); the id is checked here, against the database and this transaction."""
        if dedupe_key is not None:
            if dedupe_key not in self._dedupe_checked:
                await self.prefetch((), [dedupe_key])
            if dedupe_key in self._dedupe_taken:
                return False
            self._dedupe_taken.add(dedupe_key)
        self._messages.append(sql.message_row(
            conversation_id=conversation_id, case_id=case_id, direction="in", sender=sender,
            author=author, text=text, internal=internal, dedupe_key=dedupe_key, created_at=now,
            attachments=[a.to_json() for a in attachments] or None,
        ))  # fmt: skip
        return True

    async def add_replies(
        self, conversation: Conversation, case_id: int | None, replies: Sequence[Reply],
        now: datetime,
    ) -> None:  # fmt: skip
        """Store what the bot or an agent says and queue it for delivery, in order."""
        if not replies:
            return
        for r in replies:
            self._messages.append(sql.message_row(
                conversation_id=conversation.id, case_id=case_id, direction="out",
                sender=r.sender, author=r.author, text=r.text,
                buttons=r.to_json() if r.buttons else None, created_at=now,
            ))  # fmt: skip
            self._outbox.append((sql.outbox_row(
                channel=conversation.channel, address=conversation.chat_id,
                payload=r.to_json(), case_id=case_id, created_at=now,
            ), len(self._messages) - 1))  # fmt: skip

    def save_conversation(self, conversation: Conversation, **values: Any) -> None:
        """The conversation's new state: on the object at once (a later message of the
        same batch reads it there), in the database with the batch's others."""
        for name, value in values.items():
            if self._undo is not None:
                self._undo.setdefault((id(conversation), name),
                                      (conversation, getattr(conversation, name)))  # fmt: skip
            set_committed_value(conversation, name, value)
        self.deferred.update(Conversation, conversation.id, **values)

    async def write_pending(self) -> None:
        """Write everything buffered: messages and outbox rows (``write_messages``), then
        the deferred rows and updates (``deferred``, ``save_conversation``); whoever reads
        the deferred tables calls this first."""
        await self.write_messages()
        if self.deferred:
            await self.deferred.write(await self.session.connection())

    async def write_messages(self) -> None:
        """Write the buffered messages and outbox rows, before something reads them: one
        multi-row INSERT each. Ids are given in row order (SQLite and PostgreSQL number a
        multi-row INSERT's rows in order), so sorting the returned ids pairs them with the
        rows. The other buffers wait for the end of the transaction (or their readers), so
        that a batch writes them together."""
        if self._messages:
            rows, self._messages = self._messages, []
            ids = await self._insert_many(MessageRecord.__table__, rows)
            outbox, self._outbox = self._outbox, []
            for row, index in outbox:
                if index is not None:
                    row["message_id"] = ids[index]
            self._outbox = outbox
        if self._outbox:
            rows = [row for row, _ in self._outbox]
            self._outbox = []
            ids = await self._insert_many(OutboxItem.__table__, rows)
            for item_id, row in zip(ids, rows, strict=True):
                self.queued.append(OutboxRow(id=item_id, **row))

    async def _insert_many(self, table: Any, rows: list[dict[str, Any]]) -> list[int]:
        # Core, not the ORM's bulk insert: the ORM splits rows whose JSON values are None
        # into separate statements.
        connection = await self.session.connection()
        result = await connection.execute(sql.returning_id(table), rows)
        return sorted(result.scalars())

    async def add_desk_notice(
        self, desk: str, case_id: int | None, notice: Reply, now: datetime
    ) -> None:
        """Queue a notice for the agents' desk (see ``Reply`` for the ``extra`` fields)."""
        row = sql.outbox_row(
            channel=DESK_CHANNEL,
            address=desk,
            payload=notice.to_json(),
            case_id=case_id,
            created_at=now,
        )
        self._outbox.append((row, None))

    async def pending_outbox(
        self, channels: Sequence[str], address: str | None = None, limit: int = 100,
        *, known: Collection[int] = (),
    ) -> list[OutboxRow]:  # fmt: skip
        """The oldest pending rows, but those in ``known``: rows the caller is sending
        already. Under load most pending rows are in flight; their ids alone are read
        (1,000 whole rows as ORM objects cost 18 ms of CPU on SQLite)."""
        await self.write_messages()
        where = [OutboxItem.status == "pending", OutboxItem.channel.in_(channels)]
        if address is not None:
            where.append(OutboxItem.address == address)
        if known:
            ids = select(OutboxItem.id).where(*where).order_by(OutboxItem.id).limit(limit)
            fresh = [i for i in (await self.session.execute(ids)).scalars() if i not in known]
            if not fresh:
                return []
            where = [OutboxItem.id.in_(fresh)]
        columns = [getattr(OutboxItem, name) for name in OUTBOX_COLUMNS]
        stmt = select(*columns).where(*where).order_by(OutboxItem.id).limit(limit)
        return [OutboxRow(*row) for row in await self.session.execute(stmt)]

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        connection = await self.session.connection()  # Core: no ORM objects to keep in step
        await connection.execute(sql.mark_sent(), {"ids": list(ids), "now": now})

    async def mark_failed(self, item_id: int, error: str, *, uncertain: bool = False) -> None:
        """Count a failed send. ``uncertain``: given up after a second send whose outcome
        is unknown (``bot.delivery.DeliveryUncertain``), so it is never sent again."""
        values: dict[str, Any] = {"attempts": OutboxItem.attempts + 1, "last_error": error[:1000]}
        if uncertain:
            values["status"] = "uncertain"
        stmt = update(OutboxItem).where(OutboxItem.id == item_id).values(values)
        await self.session.execute(stmt)

    async def messages(self, conversation_id: int, limit: int) -> list[MessageRecord]:
        await self.write_messages()
        stmt = (
            select(MessageRecord)
            .where(MessageRecord.conversation_id == conversation_id)
            .order_by(MessageRecord.id.desc())
            .limit(limit)
        )
        return list(reversed((await self.session.execute(stmt)).scalars().all()))

    async def before_escalation(
        self, conversation_id: int, customer_id: int, since: datetime, limit: int
    ) -> Escalating:
        """How many cases the customer opened since ``since``, how many of the
        conversation's messages brought files outside a case, and its last ``limit``
        messages as (who, text), oldest first, internal notes left out: one statement,
        and this batch's messages not written yet are read where they wait (writing them
        now would split the batch's INSERT in two)."""
        params = {"customer": customer_id, "since": since, "conversation": conversation_id,
                  "limit": limit}  # fmt: skip
        rows = (await self.session.execute(sql.before_escalation(), params)).all()
        waiting = [r for r in self._messages if r["conversation_id"] == conversation_id]
        lines = [(r.author, r.sender, r.text, r.internal) for r in reversed(rows) if r.sender]
        lines += [(r["author"], r["sender"], r["text"], r["internal"]) for r in waiting]
        transcript = [(author or sender, text) for author, sender, text, internal
                      in lines[-limit:] if not internal]  # fmt: skip
        files = int(rows[0].files) + sum(
            1 for r in waiting
            if r["direction"] == "in" and r["attachments"] and r["case_id"] is None
        )  # fmt: skip
        return Escalating(int(rows[0].opened), files, transcript)

    async def last_reply_with_buttons(self, channel: str, chat_id: str) -> Reply | None:
        """The newest outgoing message that offered quick replies (to restore them)."""
        await self.write_messages()
        stmt = (
            select(MessageRecord.buttons)
            .join(Conversation, Conversation.id == MessageRecord.conversation_id)
            .where(Conversation.channel == channel, Conversation.chat_id == chat_id,
                   MessageRecord.direction == "out", MessageRecord.buttons.is_not(None))
            .order_by(MessageRecord.id.desc())
            .limit(1)
        )  # fmt: skip
        payload = (await self.session.execute(stmt)).scalar_one_or_none()
        return Reply.from_json(payload) if payload else None

    async def case_messages(self, case_id: int) -> list[MessageRecord]:
        await self.write_messages()
        stmt = select(MessageRecord).where(MessageRecord.case_id == case_id)
        return list((await self.session.execute(stmt.order_by(MessageRecord.id))).scalars())

    async def conversation_attachments(self, conversation_id: int) -> list[MessageRecord]:
        """Customer messages with files, oldest first (to hand them to the agent)."""
        await self.write_messages()
        stmt = (
            select(MessageRecord)
            .where(MessageRecord.conversation_id == conversation_id,
                   MessageRecord.direction == "in", MessageRecord.attachments.is_not(None))
            .order_by(MessageRecord.id)
        )  # fmt: skip
        return list((await self.session.execute(stmt)).scalars())
