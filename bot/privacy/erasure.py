"""Erasure: every personal field and message text of one customer, in every table the
data map names, is deleted or irreversibly overwritten in one transaction.

What the KPIs need survives without identity: the bare case (dates, category, outcome,
SLA flags), contacts, feedback scores, knowledge-base outcomes. The customer's channel
identities are deleted and their chats renamed, so the same platform user writing again
starts as a new customer. Open cases are closed (nothing can reach the customer any
more) and pending follow-ups cancelled. The erasure is recorded in the audit trail with
who, when, why and how many records, never with the erased data; then, after the commit,
no deleted bytes are left where the database keeps its data: on SQLite the file and its
WAL are rewritten, on PostgreSQL the affected tables are vacuumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot import loggers
from bot.privacy.datamap import BY_TABLE, DATA_MAP, ERASED, Entry, Scope
from bot.privacy.redaction import RULES, Redactor
from bot.privacy.refs import resolve
from bot.storage import privacy_queries as q
from bot.storage.models import Customer
from bot.storage.repository import Repository, Tx

# Rows that point at others go first (outbox rows at messages, links at cases).
_FIRST = ("outbox", "message_links", "desk_threads", "messages")
ORDER: tuple[Entry, ...] = (
    *(BY_TABLE[t] for t in _FIRST),
    *(e for e in DATA_MAP if e.table not in _FIRST and e.erase != "keep" and e.owner),
)
TABLES = tuple(e.table for e in ORDER)  # where an erasure deletes or overwrites rows


@dataclass
class ErasureReport:
    customer_id: int
    counts: dict[str, int]  # table -> records deleted or anonymised
    closed_cases: list[int]
    already_erased: bool
    file_scrubbed: bool = field(default=True)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def erase(
    repo: Repository, ref: str | None, *, by: str, reason: str, now: datetime,
    case: int | None = None,
) -> ErasureReport:  # fmt: skip
    """Erase the customer ``ref`` (or of case ``case``); harmless to run twice."""
    async with repo.transaction() as tx:
        customer_id = await resolve(tx, ref, case=case)
        report = await erase_customer(tx, customer_id, by=by, reason=reason, now=now)
    report.file_scrubbed = await q.scrub_freed_space(repo.engine, TABLES)
    loggers.privacy.info(
        "customer %s erased by %s: %s records in %s tables%s", customer_id, by, report.total,
        sum(1 for n in report.counts.values() if n), "" if report.file_scrubbed
        else " (the freed space is overwritten later: see the warning above, if any)",
    )  # fmt: skip
    return report


async def erase_customer(
    tx: Tx, customer_id: int, *, by: str, reason: str, now: datetime
) -> ErasureReport:
    """The erasure itself, inside the caller's transaction (retention uses it too)."""
    customer = await q.profile(tx, customer_id)
    assert customer is not None
    already = customer.erased_at is not None
    where = await q.scope(tx, customer_id)
    secrets = await _their_words(tx, customer, where)
    closed = await q.close_open_cases(tx, where, now)
    counts = {entry.table: await q.erase_rows(tx, entry, where) for entry in ORDER}
    await q.mark_erased(tx, customer_id, now)
    for number in closed:
        tx.add_case_event(number, by, "erased", now)
    q.add_audit(
        tx, by, "erased", now, customer_id=customer_id, reason=scrub(reason, secrets),
        records={t: n for t, n in counts.items() if n}, closed_cases=closed,
        repeated=already,
    )  # fmt: skip
    return ErasureReport(customer_id, counts, closed, already)


async def _their_words(tx: Tx, customer: Customer, where: Scope) -> list[str]:
    """The customer's name, emails and platform ids, to keep them out of the reason."""
    found = [customer.display_name or "", customer.email or ""]
    for row in await q.rows(tx, BY_TABLE["identities"], where):
        found.append(str(row["external_id"]))
    for row in await q.rows(tx, BY_TABLE["conversations"], where):
        found += [str(row["chat_id"]), str((row["data"] or {}).get("email") or "")]
    return sorted({w for w in found if len(w) >= 3}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """The operator's reason, without the erased person's details in it."""
    for secret in secrets:
        text = re.sub(re.escape(secret), ERASED, text, flags=re.IGNORECASE)
    return Redactor(list(RULES))(text)[:500]


async def preview(
    repo: Repository, ref: str | None, *, case: int | None = None
) -> tuple[int, str | None, dict[str, int]]:
    """Who would be erased and how many records each table holds of them (to confirm)."""
    async with repo.transaction() as tx:
        customer_id = await resolve(tx, ref, case=case)
        customer = await q.profile(tx, customer_id)
        where = await q.scope(tx, customer_id)
        counts = {e.table: await q.count(tx, e, where) for e in ORDER}
    return customer_id, customer.display_name if customer else None, counts
