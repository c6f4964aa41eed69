"""How fast is ``supportbot report`` on a year of data? (issue 6: under 2 seconds)

Generates 100,000 cases over the last 365 days into a fresh SQLite file, with the
contact of each case, bot-only contacts (resolved or abandoned), CSAT and NPS answers and
knowledge-base lookups, then times the report the way the command produces it: open
the database, run every KPI query in one snapshot, render the table, the CSV and the
HTML page. Prints the figures; asserts nothing (the test suite checks correctness).

    .venv/bin/python benchmarks/report_100k.py                # 100,000 cases, temp file
    .venv/bin/python benchmarks/report_100k.py --db /tmp/kpi.db
    .venv/bin/python benchmarks/report_100k.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/kpi
      (an empty PostgreSQL database that the benchmark may fill; it is not dropped)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import insert

from bot.app import open_repository
from bot.report_cli import produce
from bot.reports import parse_period
from bot.reports.html_page import to_html
from bot.reports.spreadsheet import to_csv
from bot.reports.table import render
from bot.settings import HoursSettings, Settings
from bot.storage.kpi_queries import GroupBy
from bot.storage.models import Case, Contact, Conversation, Customer, Feedback, KbQuery

YEAR = timedelta(days=365)
Row = dict[str, Any]
CATEGORIES = ["billing", "shipping", "technical", "account", "returns_refunds",
              "product_malfunction", "legal", "other"]  # fmt: skip
REASONS = ["failed_resolution", "requested", "no_answer", "beyond_authority", "legal",
           "verification_failed"]  # fmt: skip
AGENTS = [f"agent{i:02d}" for i in range(12)]
CHANNELS = ["telegram", "slack", "local"]
QUESTIONS = [f"question number {i} about {c}" for i in range(150) for c in CATEGORIES[:2]]


def generate(cases: int, bot_contacts: int, now: datetime, seed: int) -> dict[Any, list[Row]]:
    """Rows per table; ids are given so that foreign keys need no round trip."""
    rnd = random.Random(seed)
    tables = (Customer, Conversation, Case, Contact, Feedback, KbQuery)
    rows: dict[Any, list[Row]] = {table: [] for table in tables}
    customers = max(1, (cases + bot_contacts) // 5)
    rows[Customer] = [{"id": i, "display_name": f"c{i}", "email": None,
                       "created_at": now - YEAR} for i in range(1, customers + 1)]  # fmt: skip

    def conversation(started: datetime) -> int:
        cid = len(rows[Conversation]) + 1
        rows[Conversation].append({
            "id": cid, "customer_id": rnd.randint(1, customers), "channel": rnd.choice(CHANNELS),
            "chat_id": str(cid), "state": "closed", "data": {}, "version": 0,
            "started_at": started, "last_activity_at": started,
        })  # fmt: skip
        return cid

    def minutes(mean: float) -> timedelta:
        return timedelta(minutes=rnd.expovariate(1 / mean))

    def feedback(conv: int, case: int | None, at: datetime, good: bool) -> None:
        if rnd.random() < 0.6:
            score = rnd.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 9] if good else [4, 3, 3, 2, 1])[0]
            rows[Feedback].append({"conversation_id": conv, "case_id": case, "kind": "csat",
                                   "score": score, "comment": None, "created_at": at})  # fmt: skip
        if rnd.random() < 0.2:
            rows[Feedback].append({"conversation_id": conv, "case_id": case, "kind": "nps",
                                   "score": rnd.randint(0, 10), "comment": None,
                                   "created_at": at + timedelta(seconds=30)})  # fmt: skip

    def kb(conv: int, at: datetime, outcome: str) -> None:
        rows[KbQuery].append({
            "conversation_id": conv, "query": rnd.choice(QUESTIONS), "article_id": None,
            "score": rnd.uniform(20, 95), "decision": "answer", "outcome": outcome,
            "created_at": at,
        })  # fmt: skip

    for case_id in range(1, cases + 1):
        created = now - YEAR + (YEAR - timedelta(days=2)) * rnd.random()
        conv = conversation(created - timedelta(minutes=3))
        claimed = created + minutes(12)
        first = claimed + minutes(20)
        resolved: datetime | None = first + timedelta(hours=rnd.lognormvariate(1.2, 1.0))
        reopened = rnd.random() < 0.05
        if rnd.random() < 0.03:
            resolved = None
        fr_due, res_due = created + timedelta(hours=2), created + timedelta(hours=24)
        category = rnd.choice(CATEGORIES)
        rows[Case].append({
            "id": case_id, "conversation_id": conv, "customer_id": 1,
            "status": "closed", "category": category, "priority": "normal",
            "reason": rnd.choice(REASONS), "assigned_agent": rnd.choice(AGENTS),
            "summary": "", "details": {}, "resolution": None, "group": "general",
            "created_at": created, "claimed_at": claimed, "first_response_at": first,
            "resolved_at": resolved, "closed_at": resolved, "first_response_due_at": fr_due,
            "resolution_due_at": res_due, "paused_at": None,
            "first_response_breached": first > fr_due,
            "resolution_breached": resolved is None or resolved > res_due,
            "reopen_count": int(reopened), "reopened_at": resolved if reopened else None,
        })  # fmt: skip
        rows[Contact].append({
            "conversation_id": conv, "channel": "telegram", "category": category,
            "case_id": case_id, "outcome": "escalated",
            "started_at": created - timedelta(minutes=3), "ended_at": resolved,
        })  # fmt: skip
        kb(conv, created - timedelta(minutes=2), rnd.choice(["rejected", "unanswered"]))
        if resolved:
            feedback(conv, case_id, resolved + timedelta(minutes=1), good=not reopened)
    for _ in range(bot_contacts):
        started = now - YEAR + YEAR * rnd.random()
        conv = conversation(started)
        solved = rnd.random() < 0.85
        ended = started + (minutes(4) if solved else timedelta(minutes=31))
        rows[Contact].append({
            "conversation_id": conv, "channel": "slack", "category": rnd.choice(CATEGORIES),
            "case_id": None, "outcome": "bot_resolved" if solved else "abandoned",
            "started_at": started, "ended_at": ended,
        })  # fmt: skip
        kb(conv, started + timedelta(seconds=40), "accepted" if solved else "unanswered")
        if solved:
            feedback(conv, None, ended + timedelta(seconds=20), good=True)
    return rows


async def fill(settings: Settings, rows: dict[Any, list[Row]]) -> None:
    repo = await open_repository(settings)
    try:
        async with repo.engine.begin() as conn:
            for model, table_rows in rows.items():
                for chunk in _chunks(table_rows, 20_000):
                    await conn.execute(insert(model.__table__), chunk)
        if repo.engine.dialect.name == "postgresql":  # statistics for the planner, as in use
            async with repo.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await repo.close()


def _chunks(items: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def timed_report(
    settings: Settings, since: str, by: GroupBy | None, out: Path
) -> tuple[float, float]:
    """Wall and CPU seconds (all threads of this process: the SQLite work runs in the
    driver's thread) for one report as ``supportbot report --since .. --html --csv``."""
    wall, cpu = time.perf_counter(), time.process_time()
    period = parse_period(since, None, now=datetime.now(UTC), timezone=settings.hours.timezone)
    report = await produce(settings, period, by)
    render(report, Console(file=io.StringIO(), width=160))
    (out / "report.html").write_text(to_html(report), encoding="utf-8")
    (out / "report.csv").write_text(to_csv(report), encoding="utf-8-sig")
    return time.perf_counter() - wall, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--bot-contacts", type=int, default=150_000)
    parser.add_argument("--db", type=Path, help="SQLite file to create (default: a temp dir)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of SQLite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    db = args.db or folder / "bench.db"
    if db.exists():
        parser.error(f"{db} exists; the benchmark needs a fresh file")
    url = args.database_url or f"sqlite+aiosqlite:///{db}"
    settings = Settings(database_url=url, sqlite_synchronous="NORMAL",
                        hours=HoursSettings(timezone="Europe/Berlin"))  # fmt: skip
    began = time.perf_counter()
    rows = generate(args.cases, args.bot_contacts, datetime.now(UTC), seed=6)
    await fill(settings, rows)
    counts = ", ".join(f"{len(v):,} {m.__tablename__}" for m, v in rows.items())
    print(f"generated {counts} in {time.perf_counter() - began:.1f} s")
    where = f"{db} ({db.stat().st_size / 1e6:.0f} MB), SQLite" if db.exists() else "PostgreSQL"
    print(f"database: {where}, time zone Europe/Berlin")
    print(f"report (--html --csv too), {args.runs} runs each: wall seconds median (best-worst),"
          " CPU seconds median; target < 2 s")  # fmt: skip
    cases: list[tuple[str, GroupBy | None]] = [
        ("365d", None), ("365d", "agent"), ("365d", "category"), ("365d", "channel"), ("30d", None)
    ]  # fmt: skip
    for since, by in cases:
        runs = [await timed_report(settings, since, by, folder) for _ in range(args.runs)]
        wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
        label = f"--since {since}" + (f" --by {by}" if by else "")
        print(f"  {label:<28} wall {statistics.median(wall):.2f} s ({min(wall):.2f}-"
              f"{max(wall):.2f}), CPU {statistics.median(cpu):.2f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
