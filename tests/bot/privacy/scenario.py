"""A database filled through real conversations on the local channel: Zelda (whose data
is exported and erased in the tests) and Omar (who must stay exactly as he was), each with
verification, a handoff, an agent's reply and note, a resolution, CSAT with a comment and
the next day's follow-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.app import App, running_app
from bot.messages import Message, Reply
from bot.settings import Settings, VerificationSettings
from bot.storage.models import Base, Case, Contact, Feedback, KbQuery
from tests.conftest import Clock, Recorder
from tests.databases import Database

ZELDA_NAME = "Zelda Quillfeather"
ZELDA_EMAIL = "zelda.quill@example.org"
ZELDA_ORDER = "ZQ-778899"
ZELDA_PHONE = "+44 20 7946 0958"
# What Zelda types in her own words (button presses like "No" are not hers alone).
ZELDA_TEXTS = [
    "Hello from the lighthouse keeper",
    "My espresso grinder order was charged twice on my account",
    "I would like a human to untangle this billing mess",
    "Call me on +44 20 7946 0958 after the tide turns",
    "The refund arrived, the lighthouse is happy",
]
ZELDA_SECRETS = [ZELDA_NAME, "Quillfeather", ZELDA_EMAIL, ZELDA_ORDER, "778899",
                 "lighthouse", "espresso grinder", "untangle", "tide turns"]  # fmt: skip
OMAR = ("omar", "Omar Bright", "omar.bright@example.net", "OB-445566")


async def two_cases_on_a_platform(zelda: Any, anna: Any, bob: Any) -> None:
    """Zelda and Anna on Telegram or Slack (the harnesses' customers and agent share
    ``says`` and ``taps``): both ask for a human; Bob claims, answers, notes and resolves
    both cases; Zelda rates low (the supervisor is alerted, with her name), Anna 5."""
    await zelda.says("hi")
    await zelda.says("Hello from the lighthouse keeper, I want a human")
    await anna.says("hi")
    await anna.says("Can I talk to a human, please?")
    await bob.taps(1, "Claim")
    await bob.says(1, "Hi Zelda, checking order ZQ-778899")
    await zelda.says("my email is zelda.quill@example.org, the lighthouse one")
    await bob.says(1, f"/note {ZELDA_NAME} is a VIP")
    await bob.says(1, "/resolve Refunded ZQ-778899")
    await zelda.taps("2")
    await zelda.says("The lighthouse is happy now")
    await bob.taps(2, "Claim")
    await bob.says(2, "Hello Anna")
    await bob.says(2, "/resolve Done")
    await anna.taps("5")


def orders_file(folder: Path) -> Path:
    path = folder / "orders.csv"
    path.write_text(
        "email,order_number,name\n"
        f"{ZELDA_EMAIL},{ZELDA_ORDER},{ZELDA_NAME}\n{OMAR[2]},{OMAR[3]},{OMAR[1]}\n"
    )
    return path


def scenario_settings(
    tmp_path: Path, database: Database | None = None, **overrides: Any
) -> Settings:
    """The scenario's orders file in tmp_path; the ``database`` fixture's database, else a
    SQLite file there."""
    url = database.url if database else f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    values: dict[str, Any] = {
        "database_url": url,
        "verification": VerificationSettings(orders_file=orders_file(tmp_path)),
    }
    return Settings(**{**values, **overrides})


@dataclass
class Bench:
    app: App
    clock: Clock
    local: Recorder
    desk: Recorder

    async def say(self, user: str, name: str, text: str, payload: str | None = None) -> None:
        await self.app.engine.handle_message(
            Message("local", user, user, text, user_name=name, payload=payload)
        )

    async def press(self, user: str, name: str, label: str) -> None:
        for address, reply in reversed(self.local.sent):
            if address == user and any(b.label == label for b in reply.buttons):
                payload = next(b.payload for b in reply.buttons if b.label == label)
                return await self.say(user, name, label, payload)
        raise AssertionError(f"no button {label!r} for {user}")

    def seen_by(self, user: str) -> list[Reply]:
        return [r for address, r in self.local.sent if address == user]


@asynccontextmanager
async def bench(settings: Settings, clock: Clock) -> AsyncIterator[Bench]:
    local, desk = Recorder(), Recorder()
    async with running_app(settings, senders={"local": local, "desk": desk}, now=clock) as app:
        yield Bench(app, clock, local, desk)


async def zelda_and_omar(b: Bench) -> None:
    """Both customers, interleaved, from greeting to the follow-up a day later."""
    z, zn = "zelda", ZELDA_NAME
    o, on, oe, oo = OMAR
    await b.say(z, zn, ZELDA_TEXTS[0])
    await b.say(o, on, "Hi there")
    await b.say(z, zn, ZELDA_TEXTS[1])
    await b.say(o, on, "I was charged twice for my kettle")
    await b.say(z, zn, ZELDA_EMAIL)
    await b.say(o, on, oe)
    await b.say(z, zn, ZELDA_ORDER)
    await b.say(o, on, oo)
    await b.say(z, zn, ZELDA_TEXTS[2])
    await b.say(o, on, "Please let me talk to a human agent")
    desk = b.app.desk
    await desk.claim(1, "Bob")
    await desk.claim(2, "Carol")
    await desk.reply(1, "Bob", f"Hi Zelda, I can see order {ZELDA_ORDER}; checking now.")
    await desk.reply(2, "Carol", "Hello Omar, looking into the kettle charge.")
    await b.say(z, zn, ZELDA_TEXTS[3])
    await desk.note(1, "Bob", f"{ZELDA_NAME} ({ZELDA_EMAIL}) is a lighthouse keeper, VIP")
    await desk.note(2, "Carol", "Omar: duplicate authorisation only")
    await desk.show(1, by="Bob")
    await desk.resolve(1, "Bob", f"Refunded the double charge on {ZELDA_ORDER}")
    await desk.resolve(2, "Carol", "Explained the pending authorisation")
    await b.press(z, zn, "2")  # a low score alerts the supervisor, with her name
    await b.say(z, zn, ZELDA_TEXTS[4])
    await b.press(o, on, "5")
    await b.say(o, on, "Carol was great")
    b.clock.advance(hours=24, minutes=1)
    await b.app.engine.fire_due_timers()  # the follow-ups
    await b.press(z, zn, "Yes, all good")
    await b.press(o, on, "Yes, all good")
    await b.app.engine.deliver()  # sent and marked sent (marks wait a moment for company)


async def kpi_totals(b: Bench) -> dict[str, Any]:
    """What the KPI report counts: cases, contacts by outcome, feedback scores, lookups."""
    async with b.app.repo.transaction() as tx:
        s = tx.session

        async def rows(stmt: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in (await s.execute(stmt)).all()]

        return {
            "cases": await rows(select(Case.status, Case.reason, Case.category, Case.created_at,
                                       Case.resolved_at, Case.assigned_agent).order_by(Case.id)),
            "contacts": await rows(select(Contact.outcome, func.count()).group_by(Contact.outcome)
                                   .order_by(Contact.outcome)),
            "feedback": await rows(select(Feedback.kind, Feedback.score).order_by(Feedback.id)),
            "kb": await rows(select(KbQuery.article_id, KbQuery.outcome).order_by(KbQuery.id)),
        }  # fmt: skip


async def every_value(b: Bench) -> list[tuple[str, str]]:
    """(table, value) for every column of every row of every table, as text."""
    found: list[tuple[str, str]] = []
    async with b.app.repo.transaction() as tx:
        for table in Base.metadata.sorted_tables:
            for row in (await tx.session.execute(text(f'SELECT * FROM "{table.name}"'))).all():
                found += [(table.name, str(v)) for v in row if v is not None]
    return found
