"""The SQL of customers' data: finding a customer, their footprint (``Scope``), the audit
trail, the retention purges and overwriting the space deleted rows leave behind (the
SQLite file, PostgreSQL's table pages) (part of the repository layer).

The same statements run on SQLite and PostgreSQL; JSON fields are read with SQLAlchemy's
JSON paths, which compile to ``json_extract`` and ``->`` respectively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, inspect, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import loggers
from bot.privacy.datamap import Entry, Scope
from bot.storage.models import (
    OPEN_STATUSES,
    AuditEvent,
    Case,
    Conversation,
    Customer,
    FollowUp,
    Identity,
    MessageRecord,
)
from bot.storage.repository import Tx

# customers -------------------------------------------------------------------


async def find_customer(tx: Tx, ref: str) -> int | None:
    """A customer by ``channel:user`` (``telegram:123``), email, or id (``42``, ``customer:42``)."""
    ref = ref.strip()
    number = ref.removeprefix("customer:")
    if number.isdigit():
        return await tx.session.scalar(select(Customer.id).where(Customer.id == int(number)))
    if "@" in ref and ":" not in ref:
        return await _by_email(tx, ref.lower())
    channel, _, external = ref.partition(":")
    stmt = select(Identity.customer_id).where(
        Identity.channel == channel, Identity.external_id == external
    )
    return await tx.session.scalar(stmt)


async def _by_email(tx: Tx, email: str) -> int | None:
    """The profile's email, else one a conversation or a case recorded at verification."""
    for stmt in (
        select(Customer.id).where(func.lower(Customer.email) == email),
        select(Conversation.customer_id).where(
            func.lower(Conversation.data["email"].as_string()) == email
        ),
        select(Case.customer_id).where(func.lower(Case.details["email"].as_string()) == email),
    ):
        found = await tx.session.scalar(stmt.order_by(stmt.selected_columns[0].desc()).limit(1))
        if found is not None:
            return int(found)
    return None


async def customer_of_case(tx: Tx, number: int) -> int | None:
    return await tx.session.scalar(select(Case.customer_id).where(Case.id == number))


async def scope(tx: Tx, customer_id: int) -> Scope:
    conversations = (
        await tx.session.execute(
            select(Conversation.id, Conversation.channel, Conversation.chat_id)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.id)
        )
    ).all()
    ids = tuple(c.id for c in conversations)
    cases = await tx.session.scalars(
        select(Case.id)
        .where(or_(Case.customer_id == customer_id, Case.conversation_id.in_(ids)))
        .order_by(Case.id)
    )
    messages = await tx.session.scalars(
        select(MessageRecord.id).where(MessageRecord.conversation_id.in_(ids))
    )
    return Scope(customer_id, ids, tuple(cases), tuple(messages),
                 tuple((c.channel, c.chat_id) for c in conversations))  # fmt: skip


async def rows(tx: Tx, entry: Entry, where: Scope) -> list[dict[str, Any]]:
    """Every column of the entry's rows that belong to the customer, oldest first."""
    assert entry.owner is not None
    await tx.write_pending()  # rows deferred in this transaction
    table = entry.model.__table__
    stmt = select(table).where(entry.owner(where)).order_by(*inspect(entry.model).primary_key)
    return [dict(r._mapping) for r in await tx.session.execute(stmt)]


async def count(tx: Tx, entry: Entry, where: Scope) -> int:
    assert entry.owner is not None
    await tx.write_pending()  # rows deferred in this transaction
    stmt = select(func.count()).select_from(entry.model).where(entry.owner(where))
    return int((await tx.session.execute(stmt)).scalar_one())


async def erase_rows(tx: Tx, entry: Entry, where: Scope) -> int:
    """Delete or anonymise the customer's rows of one table, as the data map says."""
    assert entry.owner is not None
    await tx.write_pending()  # rows deferred in this transaction
    if entry.erase == "delete":
        result = await tx.session.execute(delete(entry.model).where(entry.owner(where)))
    else:
        stmt = update(entry.model).where(entry.owner(where)).values(**entry.anonymise)
        result = await tx.session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def close_open_cases(tx: Tx, where: Scope, now: datetime) -> list[int]:
    """Open cases of an erased customer are closed: nothing can reach them any more."""
    await tx.write_pending()  # rows deferred in this transaction
    stmt = select(Case.id).where(Case.id.in_(where.cases), Case.status.in_(OPEN_STATUSES))
    numbers = list(await tx.session.scalars(stmt))
    if numbers:
        await tx.session.execute(
            update(Case).where(Case.id.in_(numbers)).values(status="closed", closed_at=now)
        )
        await tx.session.execute(
            update(FollowUp)
            .where(FollowUp.case_id.in_(numbers), FollowUp.status == "pending")
            .values(status="cancelled")
        )
    await tx.session.execute(
        update(FollowUp)
        .where(FollowUp.conversation_id.in_(where.conversations), FollowUp.status == "pending")
        .values(status="cancelled")
    )
    return numbers


async def mark_erased(tx: Tx, customer_id: int, now: datetime) -> None:
    await tx.session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.erased_at.is_(None))
        .values(erased_at=now)
    )


async def profile(tx: Tx, customer_id: int) -> Customer | None:
    return await tx.session.get(Customer, customer_id)


# audit trail -------------------------------------------------------------------


def add_audit(
    tx: Tx, actor: str, action: str, now: datetime, *, case_id: int | None = None,
    customer_id: int | None = None, **detail: Any,
) -> None:  # fmt: skip
    """Append an audit event; ``detail`` holds counts and ids, never customers' data."""
    tx.deferred.insert(AuditEvent, at=now, actor=actor[:200], action=action, case_id=case_id,
                       customer_id=customer_id, detail=detail)  # fmt: skip


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    case_id: int | None = None
    actor: str | None = None
    customer_id: int | None = None


async def audit_events(tx: Tx, where: AuditFilter, limit: int = 10_000) -> list[AuditEvent]:
    await tx.write_pending()  # rows deferred in this transaction
    stmt: Select[Any] = select(AuditEvent)
    if where.since is not None:
        stmt = stmt.where(AuditEvent.at >= where.since)
    if where.case_id is not None:
        stmt = stmt.where(AuditEvent.case_id == where.case_id)
    if where.actor is not None:
        stmt = stmt.where(func.lower(AuditEvent.actor) == where.actor.lower())
    if where.customer_id is not None:
        stmt = stmt.where(AuditEvent.customer_id == where.customer_id)
    stmt = stmt.order_by(AuditEvent.at, AuditEvent.id).limit(limit)
    return list(await tx.session.scalars(stmt))


# the space deleted rows leave behind -------------------------------------------


async def scrub_freed_space(
    engine: AsyncEngine, tables: Sequence[str], *, rewrite: bool = True
) -> bool:
    """After an erasure or a purge has committed: leave none of the deleted or overwritten
    rows' bytes where the database keeps its data. On SQLite the file and its WAL are
    rewritten (``scrub_sqlite_file``); on PostgreSQL the ``tables`` are vacuumed
    (``vacuum_tables``; ``rewrite`` as there). True when that was done."""
    if engine.dialect.name == "postgresql":
        return await vacuum_tables(engine, tables, rewrite=rewrite)
    return await scrub_sqlite_file(engine)


async def vacuum_tables(engine: AsyncEngine, tables: Sequence[str], *, rewrite: bool) -> bool:
    """VACUUM the tables (with their TOAST tables and indexes) on an autocommit
    connection: VACUUM cannot run inside a transaction.

    An UPDATE or DELETE leaves the old row versions in the table pages. Plain VACUUM
    (``rewrite=False``) prunes them, so their space is reused, but it does not clear that
    space: the bytes stay in the page until new rows overwrite them. Only a rewrite
    (``VACUUM FULL``, ``rewrite=True``) writes each table afresh without them, like
    SQLite's VACUUM; it locks each table while it is rewritten (the bot's statements on
    it wait), so the daily retention job uses plain VACUUM and the erasure the rewrite.
    False, and a warning, when it could not run: what was committed stands."""
    if not tables:
        return True
    names = ", ".join(f'"{name}"' for name in dict.fromkeys(tables))
    try:
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            denied = (await auto.execute(_NOT_OURS, {"names": list(tables)})).scalars().all()
            if denied:  # VACUUM would skip them with a mere notice
                loggers.privacy.warning("VACUUM skipped: this database user does not own %s",
                                        ", ".join(denied))  # fmt: skip
                return False
            await auto.exec_driver_sql(f"VACUUM {'FULL ' if rewrite else ''}{names}")
    except DBAPIError as exc:
        loggers.privacy.warning("VACUUM of %s failed (autovacuum will prune them): %s", names,
                                type(exc.orig).__name__ if exc.orig else exc)  # fmt: skip
        return False
    return True


# Tables VACUUM would skip: only their owner, the database's owner or a superuser may.
_NOT_OURS = text("""
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relname = ANY(:names)
      AND NOT pg_has_role(c.relowner, 'USAGE')
      AND NOT pg_has_role((SELECT datdba FROM pg_database
                           WHERE datname = current_database()), 'USAGE')
      AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
""")


async def scrub_sqlite_file(engine: AsyncEngine) -> bool:
    """Rewrite the SQLite file so deleted rows leave no bytes behind: checkpoint the WAL
    into the file, VACUUM (which rebuilds it without free pages), checkpoint and truncate
    the WAL again. True when the WAL could be emptied (no other reader held it)."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection  # aiosqlite, outside any transaction
        await (await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")).fetchall()
        await driver.execute("VACUUM")
        row = await (await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")).fetchone()
    return row is not None and row[0] == 0


def table_names(entries: Sequence[Entry]) -> list[str]:
    return [e.table for e in entries]
