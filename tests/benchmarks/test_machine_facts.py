"""The machine-speed script does the work it claims to time, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

from benchmarks import durable_work, machine_facts
from benchmarks.platform_dispatch import aiogram_feed, bolt_dispatch
from tests.databases import Database


def stored(path: Path) -> tuple[int, int, int, int]:
    """Inbox entries, stored messages, queued replies and replies marked sent."""
    db = sqlite3.connect(path)
    try:
        return (
            db.execute("SELECT count(*) FROM inbox").fetchone()[0],
            db.execute("SELECT count(*) FROM messages").fetchone()[0],
            db.execute("SELECT count(*) FROM outbox").fetchone()[0],
            db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0],
        )
    finally:
        db.close()


async def test_every_message_is_stored_answered_and_marked_sent(
    database: Database, tmp_path: Path
) -> None:
    if database.is_sqlite:
        for run, name in (
            (durable_work.sqlite3_rate(tmp_path, 0.05, 50), "sqlite3-50"),
            (durable_work.core_rate(tmp_path, 0.05, 100), "core-100"),
            (durable_work.core_rate(tmp_path, 0.05, 1), "core-1"),
        ):
            assert await run > 0
            inbox, messages, queued, sent = stored(tmp_path / f"{name}.sqlite")
            assert inbox > 0
            assert (messages, queued, sent) == (2 * inbox, inbox, inbox)
    else:
        assert await durable_work.asyncpg_rate(database.url, 0.1, 4) > 0
        conn = await asyncpg.connect(database.url.replace("postgresql+asyncpg", "postgresql"))
        try:  # the run's own schema is gone
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'machine_facts_%'"
            )
        finally:
            await conn.close()
        assert left == 0


async def test_platform_dispatch_reaches_the_handlers() -> None:
    # Each raises unless every update or event reached its handler.
    assert await aiogram_feed(0.05, raw=True) > 0
    assert await aiogram_feed(0.05, raw=False) > 0
    assert await bolt_dispatch(0.05) > 0


async def test_the_table_puts_each_figure_beside_the_issues(tmp_path: Path) -> None:
    results = await machine_facts.measure(0.02, None)
    table = machine_facts.table(results)

    rows = {str(r["row"]): r for r in results}
    assert "asyncpg, 16 connections, 1 per transaction" not in rows  # no server given
    for name, figure in machine_facts.ISSUE.items():
        if name in rows:
            assert rows[name]["issue"] == figure
            assert f"| {figure:,} |" in table
    assert all(float(str(r["per_second"])) > 0 for r in results)
