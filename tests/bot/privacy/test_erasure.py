"""Erasure end to end: a database filled through real conversations, one customer erased;
their name, email, order number and words are then nowhere (tables, the logs and, on
SQLite, the file and its WAL), while the other customer and the KPI totals are exactly as
before. Runs on SQLite and PostgreSQL (whose files are not read: docs/privacy.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.privacy import erasure, export
from bot.privacy.refs import NoSuchCustomer
from bot.storage.models import AuditEvent, Customer, Identity
from tests.bot.privacy.scenario import (
    OMAR,
    ZELDA_EMAIL,
    ZELDA_NAME,
    ZELDA_SECRETS,
    ZELDA_TEXTS,
    bench,
    every_value,
    kpi_totals,
    scenario_settings,
    zelda_and_omar,
)
from tests.conftest import Clock
from tests.databases import Database


def file_bytes(folder: Path) -> bytes:
    """The database file and, if there is one, its WAL."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("support.db*")) if p.is_file())


def leaks(haystack: str) -> list[str]:
    low = haystack.lower()
    return [s for s in ZELDA_SECRETS if s.lower() in low]


async def test_an_erased_customer_is_nowhere_and_everyone_else_is_untouched(
    tmp_path: Path, database: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await zelda_and_omar(b)
        values = " ".join(v for _, v in await every_value(b))
        assert set(leaks(values)) == set(ZELDA_SECRETS)  # the scenario stored them all
        if database.is_sqlite:  # the file itself (PostgreSQL's files: docs/privacy.md)
            assert leaks(file_bytes(tmp_path).decode("utf-8", "replace"))
        omar_before = await export.export(b.app.repo, "local:omar", by="t", now=clock())
        kpis_before = await kpi_totals(b)

        reason = f"case 1: {ZELDA_NAME} asked by mail"
        report = await erasure.erase(b.app.repo, "local:zelda", by="Dora", reason=reason,
                                     now=clock())  # fmt: skip

        assert report.file_scrubbed and not report.already_erased
        assert report.counts["messages"] > 10 and report.counts["identities"] == 1
        leaked = [(t, v[:60]) for t, v in await every_value(b) if leaks(v)]
        assert leaked == []
        if database.is_sqlite:
            assert leaks(file_bytes(tmp_path).decode("utf-8", "replace")) == []
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert leaks(logged) == [] and ZELDA_EMAIL not in logged
        assert all(text not in logged for text in ZELDA_TEXTS)

        # Everyone else, and every number the KPI report counts, is as it was.
        assert await kpi_totals(b) == kpis_before
        omar_after = await export.export(b.app.repo, "local:omar", by="t", now=clock())
        for table, rows in omar_before["records"].items():
            if table != "audit_events":
                assert omar_after["records"][table] == rows, table
        assert omar_after["transcript"] == omar_before["transcript"]

        # The audit trail says who, when, why and how much, without the erased data.
        async with b.app.repo.transaction() as tx:
            event = (await tx.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "erased"))).one()  # fmt: skip
            customer = await tx.session.get(Customer, report.customer_id)
        assert (event.actor, event.customer_id, event.at) == ("Dora", report.customer_id, clock())
        assert event.detail["reason"] == "case 1: [erased] asked by mail"
        assert event.detail["records"]["messages"] == report.counts["messages"]
        assert customer is not None and customer.erased_at == clock()
        assert (customer.display_name, customer.email) == (None, None)


async def test_erasing_twice_is_harmless_and_the_same_user_comes_back_as_new(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await zelda_and_omar(b)
        first = await erasure.erase(b.app.repo, ZELDA_EMAIL, by="Dora", reason="r", now=clock())
        with pytest.raises(NoSuchCustomer):  # her identities are gone
            await erasure.erase(b.app.repo, "local:zelda", by="Dora", reason="r", now=clock())
        again = await erasure.erase(b.app.repo, str(first.customer_id), by="Dora", reason="r",
                                    now=clock())  # fmt: skip
        assert again.already_erased and again.counts["messages"] == 0
        assert [leaks(v) for _, v in await every_value(b) if leaks(v)] == []

        await b.say("zelda", "Zelda", "hi")
        assert b.seen_by("zelda")[-1].text.startswith("Hello Zelda, thank you for contacting")
        async with b.app.repo.transaction() as tx:
            identity = (await tx.session.scalars(
                select(Identity).where(Identity.external_id == "zelda"))).one()  # fmt: skip
            actions = list(await tx.session.scalars(select(AuditEvent.action)))
        assert identity.customer_id not in {first.customer_id, 2}
        assert actions.count("erased") == 2


async def test_an_open_case_is_closed_by_the_erasure_and_its_timers_cancelled(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await b.say(OMAR[0], OMAR[1], "I want to talk to a human")
        report = await erasure.erase(b.app.repo, "local:omar", by="Dora", reason="r",
                                     now=clock())  # fmt: skip
        assert report.closed_cases == [1]
        async with b.app.repo.transaction() as tx:
            case = await tx.case(1)
            events = [e.kind for e in await tx.case_events(1)]
            due = await tx.due_followups(clock.current.replace(year=2030))
        assert case is not None and case.status == "closed" and case.summary == "[erased]"
        assert events[-1] == "erased" and due == []
