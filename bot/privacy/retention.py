"""Retention: how long each kind of record is kept (``[retention]`` settings).

A daily job (``run_if_due``, called from the background loop every running bot has)
purges what has expired and records the counts in the audit trail; ``supportbot privacy
retention --dry-run`` shows the same counts without changing anything. Records of open
cases are never purged. Customers silent for ``inactive_customers_days`` are erased
like on request (with the actor ``retention``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import loggers
from bot.privacy.erasure import TABLES, erase_customer
from bot.privacy.settings import RetentionSettings
from bot.storage import privacy_queries as q
from bot.storage import retention_queries as r
from bot.storage.repository import Repository, Tx

KINDS = (
    "messages_days",
    "closed_cases_days",
    "feedback_comments_days",
    "kb_queries_days",
    "logs_days",
    "audit_days",
)
ACTOR = "retention"
CURSOR = "privacy.retention.last_run"


@dataclass
class RetentionReport:
    at: datetime
    dry_run: bool
    rows: list[tuple[str, str, int]] = field(default_factory=list)  # kind, table, count
    customers: list[int] = field(default_factory=list)  # erased for inactivity

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.rows) + len(self.customers)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, table, n in self.rows:
            key = f"{kind.removesuffix('_days')}.{table}"
            out[key] = out.get(key, 0) + n
        out["inactive_customers.customers"] = len(self.customers)
        return out


async def apply(
    repo: Repository, settings: RetentionSettings, now: datetime, *, dry_run: bool = False
) -> RetentionReport:
    """Purge (or with ``dry_run`` count) everything past its retention time."""
    report = RetentionReport(now, dry_run)
    async with repo.transaction() as tx:
        await _purge(tx, settings, report)
        if not dry_run:
            if report.total:  # a quiet day leaves no trace
                q.add_audit(tx, ACTOR, "purged", now, records=report.counts())
            await tx.set_cursor(CURSOR, now.isoformat(), now)
    if not dry_run and report.total:
        # Daily, on a running bot: PostgreSQL tables are vacuumed, not rewritten (their
        # freed space is reused; see vacuum_tables). SQLite's file is rewritten.
        touched = [table for _, table, n in report.rows if n]
        await q.scrub_freed_space(repo.engine, [*touched, *(TABLES if report.customers else ())],
                                  rewrite=False)  # fmt: skip
    if not dry_run:
        erased = len(report.customers)
        loggers.privacy.info(
            "retention: %s records purged or anonymised, %s customers erased",
            report.total - erased, erased,
        )  # fmt: skip
    return report


async def _purge(tx: Tx, settings: RetentionSettings, report: RetentionReport) -> None:
    for kind in KINDS:
        days = getattr(settings, kind)
        if days:
            cutoff = report.at - timedelta(days=days)
            for purge in r.purges(kind, cutoff):
                count = await r.run_purge(tx, purge, dry_run=report.dry_run)
                report.rows.append((kind, purge.table, count))
    if settings.inactive_customers_days:
        cutoff = report.at - timedelta(days=settings.inactive_customers_days)
        report.customers = await r.inactive_customers(tx, cutoff)
        if not report.dry_run:
            reason = f"inactive for {settings.inactive_customers_days} days"
            for customer in report.customers:
                await erase_customer(tx, customer, by=ACTOR, reason=reason, now=report.at)


async def run_if_due(
    repo: Repository, settings: RetentionSettings, now: datetime
) -> RetentionReport | None:
    """Run the purge when ``run_every_hours`` have passed since the last run (kept in the
    database, so restarts and several processes do not multiply it)."""
    async with repo.transaction() as tx:
        last = await tx.cursor(CURSOR)
    every = timedelta(hours=settings.run_every_hours)
    if last is not None and now - datetime.fromisoformat(last) < every:
        return None
    return await apply(repo, settings, now)
