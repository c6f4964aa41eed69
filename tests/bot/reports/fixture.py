"""A small support week, small enough to compute every KPI by hand (see the tests).

Time zone America/New_York; the period is 2026-03-02 00:00 EST (05:00 UTC) up to
2026-03-11 00:00 EDT (04:00 UTC): daylight saving starts inside it, on 2026-03-08.
All times below are UTC, as stored.

Contacts (c = contact, K = case):
  c0   telegram account   bot_resolved 03-02 04:00  outside: 03-01 23:00 in New York
  c1   telegram shipping  bot_resolved 03-02 10:00-10:04   (same chat as c0 and c11)
  c2   telegram shipping  bot_resolved 03-03 03:30-03:36   local day 03-02
  c3   slack    technical bot_resolved 03-09 04:30-04:32   local day 03-09 (EDT)
  c4   telegram billing   K1 bob  resolved once       03-04 14:00-16:00
  c5   slack    billing   K2 bob  resolved, reopened  03-05 14:00-15:00
  c6   slack    technical K3 eve  resolved            03-06 14:00-14:30
  c7   telegram technical K4 nobody, open (legal)     03-10 14:00-
  c8   telegram technical abandoned                   03-07 12:00-12:31
  c9   slack    (none)    open                        03-10 20:00-
  c10  telegram billing   K5 eve, closed unresolved, outcome abandoned 03-08 15:00-16:00
  c11  telegram account   bot_resolved 03-11 05:00     outside: after the period
  c12  slack    technical K6 bob, created 03-01 (outside), resolution due in the period,
                                                       flagged breached
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import open_repository
from bot.settings import HoursSettings, Settings
from bot.storage.models import Case, Contact, Conversation, Customer, Feedback, KbQuery
from tests.conftest import make_settings
from tests.databases import Database

ZONE = "America/New_York"
SINCE, UNTIL = "2026-03-02", "2026-03-11"


def at(text: str) -> datetime:
    """``"03-04 14:00"`` -> 2026-03-04 14:00 UTC."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def fixture_settings(path: Path, database: Database | None = None, **overrides: Any) -> Settings:
    return make_settings(path, database, hours=HoursSettings(timezone=ZONE), **overrides)


CHATS = {  # chat -> channel
    "a": "telegram", "b": "telegram", "c": "slack", "d": "telegram", "e": "slack",
    "f": "slack", "g": "telegram", "h": "telegram", "i": "slack", "j": "telegram",
    "k": "slack",
}  # fmt: skip

# name: chat, category, outcome, started, ended, case
CONTACTS: dict[str, tuple[str, str | None, str, str, str | None, str | None]] = {
    "c0": ("a", "account", "bot_resolved", "03-02 04:00", "03-02 04:03", None),
    "c1": ("a", "shipping", "bot_resolved", "03-02 10:00", "03-02 10:04", None),
    "c2": ("b", "shipping", "bot_resolved", "03-03 03:30", "03-03 03:36", None),
    "c3": ("c", "technical", "bot_resolved", "03-09 04:30", "03-09 04:32", None),
    "c4": ("d", "billing", "escalated", "03-04 14:00", "03-04 16:00", "K1"),
    "c5": ("e", "billing", "escalated", "03-05 14:00", "03-05 15:00", "K2"),
    "c6": ("f", "technical", "escalated", "03-06 14:00", "03-06 14:30", "K3"),
    "c7": ("g", "technical", "escalated", "03-10 14:00", None, "K4"),
    "c8": ("h", "technical", "abandoned", "03-07 12:00", "03-07 12:31", None),
    "c9": ("i", None, "open", "03-10 20:00", None, None),
    "c10": ("j", "billing", "abandoned", "03-08 15:00", "03-08 16:00", "K5"),
    "c11": ("a", "account", "bot_resolved", "03-11 05:00", "03-11 05:02", None),
    "c12": ("k", "technical", "escalated", "03-01 10:00", "03-02 12:00", "K6"),
}

CASES: dict[str, dict[str, Any]] = {
    "K1": dict(chat="d", category="billing", reason="failed_resolution", agent="bob",
               status="closed", created="03-04 14:00", claimed="03-04 14:10",
               first_response="03-04 14:20", resolved="03-04 16:00",
               first_response_due="03-04 16:00", resolution_due="03-05 14:00"),
    "K2": dict(chat="e", category="billing", reason="requested", agent="bob",
               status="resolved", created="03-05 14:00", claimed="03-05 14:05",
               first_response="03-05 14:30", resolved="03-06 11:00", reopened="03-06 10:00",
               reopen_count=1, first_response_due="03-05 16:00",
               resolution_due="03-07 11:00"),
    "K3": dict(chat="f", category="technical", reason="failed_resolution", agent="eve",
               status="closed", created="03-06 14:00", claimed="03-06 14:20",
               first_response="03-06 14:25", resolved="03-06 14:30",
               first_response_due="03-06 16:00", resolution_due="03-07 14:00"),
    "K4": dict(chat="g", category="technical", reason="legal", agent=None, status="open",
               created="03-10 14:00", first_response_due="03-10 16:00",
               first_response_breached=True, resolution_due="03-11 14:00"),
    "K5": dict(chat="j", category="billing", reason="no_answer", agent="eve", status="closed",
               created="03-08 15:00", claimed="03-08 15:30", first_response="03-08 15:45",
               first_response_due="03-08 17:00", resolution_due="03-09 15:00"),
    "K6": dict(chat="k", category="technical", reason="requested", agent="bob",
               status="closed", created="03-01 10:00", claimed="03-01 10:05",
               first_response="03-01 10:30", resolved="03-02 12:00",
               first_response_due="03-01 12:00", resolution_due="03-02 10:00",
               resolution_breached=True),
}  # fmt: skip

# chat, case, kind, score, at
FEEDBACK: list[tuple[str, str | None, str, int, str]] = [
    ("a", None, "csat", 1, "03-02 04:30"),  # outside the period (03-01 local)
    ("a", None, "csat", 5, "03-02 10:05"),
    ("b", None, "csat", 4, "03-03 03:40"),  # local day 03-02
    ("d", "K1", "csat", 2, "03-04 16:05"),
    ("f", "K3", "csat", 5, "03-06 14:35"),
    ("e", "K2", "csat", 3, "03-05 15:05"),
    ("a", None, "nps", 10, "03-02 10:06"),
    ("f", "K3", "nps", 9, "03-06 14:36"),
    ("d", "K1", "nps", 7, "03-04 16:06"),
    ("e", "K2", "nps", 3, "03-05 15:06"),
]

# chat, query, outcome, at
KB_QUERIES: list[tuple[str, str, str, str]] = [
    ("a", "Where is my parcel?", "unanswered", "03-01 10:00"),  # outside the period
    ("h", "Where is my parcel?", "unanswered", "03-07 12:01"),
    ("b", "  where is my PARCEL? ", "unanswered", "03-03 03:31"),
    ("c", "where is my parcel?", "rejected", "03-09 04:31"),
    ("e", "Can I pay with crypto?", "rejected", "03-05 13:59"),
    ("g", "can i pay with crypto?", "rejected", "03-10 13:58"),
    ("i", "<script>alert(1)</script>", "unanswered", "03-10 20:01"),
    ("c", "How do I reset my password", "accepted", "03-09 04:30"),
]


async def seed(settings: Settings) -> None:
    """Insert the week above through the real models into a migrated database."""
    repo = await open_repository(settings)
    try:
        async with repo.transaction() as tx:
            s = tx.session
            chats: dict[str, Conversation] = {}
            for chat, channel in CHATS.items():
                customer = Customer(display_name=chat, created_at=at("03-01 00:00"))
                s.add(customer)
                await s.flush()
                chats[chat] = Conversation(
                    customer_id=customer.id, channel=channel, chat_id=chat, state="closed",
                    data={}, version=0, started_at=at("03-01 00:00"),
                    last_activity_at=at("03-01 00:00"),
                )  # fmt: skip
                s.add(chats[chat])
            await s.flush()
            cases: dict[str, Case] = {}
            for name, c in CASES.items():
                conversation = chats[c["chat"]]
                cases[name] = Case(
                    conversation_id=conversation.id, customer_id=conversation.customer_id,
                    status=c["status"], category=c["category"], priority="normal",
                    reason=c["reason"], assigned_agent=c["agent"], summary=name, details={},
                    created_at=at(c["created"]), claimed_at=_at(c.get("claimed")),
                    first_response_at=_at(c.get("first_response")),
                    resolved_at=_at(c.get("resolved")), reopened_at=_at(c.get("reopened")),
                    reopen_count=c.get("reopen_count", 0),
                    first_response_due_at=_at(c.get("first_response_due")),
                    resolution_due_at=_at(c.get("resolution_due")),
                    first_response_breached=c.get("first_response_breached", False),
                    resolution_breached=c.get("resolution_breached", False),
                )  # fmt: skip
                s.add(cases[name])
            await s.flush()
            for chat, category, outcome, started, ended, case in CONTACTS.values():
                s.add(Contact(
                    conversation_id=chats[chat].id, channel=CHATS[chat], category=category,
                    outcome=outcome, started_at=at(started), ended_at=_at(ended),
                    case_id=cases[case].id if case else None,
                ))  # fmt: skip
            for chat, case, kind, score, when in FEEDBACK:
                s.add(Feedback(
                    conversation_id=chats[chat].id, case_id=cases[case].id if case else None,
                    kind=kind, score=score, created_at=at(when),
                ))  # fmt: skip
            for chat, query, outcome, when in KB_QUERIES:
                s.add(KbQuery(
                    conversation_id=chats[chat].id, query=query, article_id=None, score=None,
                    decision="none", outcome=outcome, created_at=at(when),
                ))  # fmt: skip
    finally:
        await repo.close()


def _at(text: str | None) -> datetime | None:
    return at(text) if text else None
