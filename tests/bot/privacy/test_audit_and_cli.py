"""The audit trail (append-only, every agent action on a case or a customer's data) and
the data-protection officer's commands, run as the real ``supportbot`` processes."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.privacy import audit
from bot.storage.db import create_engine
from bot.storage.privacy_queries import AuditFilter
from tests.bot.channels.test_local_cli import supportbot
from tests.bot.privacy.scenario import (
    ZELDA_EMAIL,
    ZELDA_NAME,
    ZELDA_ORDER,
    bench,
    orders_file,
    scenario_settings,
    zelda_and_omar,
)
from tests.conftest import Clock
from tests.databases import Database


async def test_agent_actions_are_audited_and_the_trail_is_append_only(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await zelda_and_omar(b)
        await b.say("ivy", "Ivy", "I want a human")
        await b.app.desk.reassign(3, "Sue", "Bob")
        events = await audit.events(b.app.repo, AuditFilter(case_id=1))
        assert [(e.actor, e.action) for e in events] == [
            ("Bob", "claimed"), ("Bob", "replied"), ("Bob", "noted"), ("Bob", "viewed"),
            ("Bob", "resolved"),
        ]  # fmt: skip
        assert {e.customer_id for e in events} == {1}
        [moved] = await audit.events(b.app.repo, AuditFilter(actor="sue"))
        assert (moved.action, moved.case_id, moved.detail) == (
            "reassigned", 3, {"source": None, "target": "Bob"})  # fmt: skip
        everything = json.dumps([audit.as_json(e) for e in await audit.events(
            b.app.repo, AuditFilter())])  # fmt: skip
        assert ZELDA_NAME not in everything and ZELDA_ORDER not in everything
        # SQLite's RAISE(ABORT) is an IntegrityError, PostgreSQL's RAISE EXCEPTION is not
        with pytest.raises(DBAPIError, match="append-only"):
            async with b.app.repo.transaction() as tx:
                await tx.session.execute(text("UPDATE audit_events SET actor = 'nobody'"))


def test_since_accepts_spans_and_dates(clock: Clock) -> None:
    now = clock()
    assert audit.parse_since("7d", now, now.tzinfo) == now - timedelta(days=7)  # type: ignore[arg-type]
    assert audit.parse_since("2026-03-01", now, now.tzinfo).day == 1  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="use 7d"):
        audit.parse_since("last week", now, now.tzinfo)  # type: ignore[arg-type]


@pytest.fixture
def env(tmp_path: Path, database: Database) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    values["SUPPORTBOT_DATABASE_URL"] = database.url
    values["SUPPORTBOT_VERIFICATION__ORDERS_FILE"] = str(orders_file(tmp_path))
    return values


def names_and_emails(url: str) -> list[tuple[str | None, str | None]]:
    async def read() -> list[tuple[str | None, str | None]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT display_name, email FROM customers"))
                return [(r[0], r[1]) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_export_erase_retention_and_audit_from_the_command_line(
    env: dict[str, str], tmp_path: Path, database: Database
) -> None:
    chat = f"hi\nI was charged twice\n{ZELDA_EMAIL}\n{ZELDA_ORDER}\nI want a human\n"
    assert supportbot(env, "chat", "--user", "zelda", "--name", ZELDA_NAME,
                      stdin=chat).returncode == 0  # fmt: skip
    assert supportbot(env, "cases", "note", "1", "--agent", "Bob", "VIP").returncode == 0

    out = tmp_path / "zelda.json"
    done = supportbot(env, "privacy", "export", "--customer", ZELDA_EMAIL, "--out", str(out),
                      "--by", "Dora")  # fmt: skip
    assert done.returncode == 0 and "Exported customer 1" in done.stdout
    document = json.loads(out.read_text())
    assert document["records"]["identities"][0]["external_id"] == "zelda"
    assert any(ZELDA_ORDER in line for line in document["transcript"])

    refused = supportbot(env, "privacy", "erase", "--customer", "local:zelda", "--by", "Dora",
                         "--reason", "case 1", stdin="n\n")  # fmt: skip
    assert refused.returncode == 1 and "Erase them for good?" in refused.stdout
    no_reason = supportbot(env, "privacy", "erase", "--case", "1", "--by", "Dora", "--yes")
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
    erased = supportbot(env, "privacy", "erase", "--case", "1", "--by", "Dora",
                        "--reason", "request on case 1", "--yes")  # fmt: skip
    assert erased.returncode == 0, erased.stderr
    assert "Erased customer 1" in erased.stdout and "Closed their open cases: 1" in erased.stdout
    assert names_and_emails(database.url) == [(None, None)]
    if database.is_sqlite:  # and not in the file (PostgreSQL's files: docs/privacy.md)
        assert ZELDA_NAME.encode() not in (tmp_path / "support.db").read_bytes()

    dry = supportbot(env, "privacy", "retention", "--dry-run")
    assert dry.returncode == 0 and "Would purge" in dry.stdout

    listed = supportbot(env, "audit", "--since", "1d", "--json")
    assert [e["action"] for e in json.loads(listed.stdout)] == [
        "noted", "exported", "erased"]  # fmt: skip
    table = supportbot(env, "audit", "--actor", "Dora", "--case", "1")
    assert table.returncode == 0 and "No audit events match." in table.stdout
    bob = supportbot(env, "audit", "--actor", "bob")
    assert "noted" in bob.stdout and "case #1" in bob.stdout
    bad = supportbot(env, "audit", "--since", "yesterday")
    assert bad.returncode == 1 and "use 7d" in bad.stderr
