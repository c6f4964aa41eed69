"""What a dialogue handler works with: the conversation's data, the replies it builds,
and a narrow port to the records it may create. The port is implemented by the
storage layer; the dialogue never sees SQL or a platform."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from bot.dialogue.intents import the_question
from bot.dialogue.states import ConversationData, State
from bot.messages import Button, Reply
from bot.settings import Settings
from bot.verification import Verifier
from handoff.hours import BusinessHours
from knowledge_base import KnowledgeBase, SearchResult


@dataclass(frozen=True)
class CaseDraft:
    """Everything an agent needs to pick up a case without asking again."""

    reason: str
    category: str
    priority: str
    summary: str
    details: dict[str, object]


@dataclass(frozen=True)
class CaseOpened:
    """What the customer is told when their case opens."""

    number: int
    group: str
    position: int  # in the group's queue, 1 = next
    typical_wait: timedelta | None  # from recent history; None without any
    answer_from: datetime | None  # set when nobody can answer now: when someone will


class History(NamedTuple):
    """The customer's recent past, as an escalation sees it."""

    cases_since: int  # cases the customer opened since the time asked (the abuse limit)
    transcript: list[tuple[str, str]]  # the conversation's last messages, (who, text)


class Port(Protocol):
    """Records the dialogue creates, all inside the turn's transaction."""

    async def open_case(self, draft: CaseDraft) -> CaseOpened: ...

    async def reopen_case(self, case_number: int) -> bool: ...

    async def alert_supervisor(self, text: str, case_number: int | None) -> None: ...

    async def notify_desk(self, case_number: int, text: str) -> None: ...

    async def log_kb_query(
        self, query: str, article_id: str | None, score: float | None, decision: str, outcome: str
    ) -> int: ...

    async def set_kb_outcome(self, query_id: int, outcome: str) -> None: ...

    async def record_feedback(
        self, score: int, case_number: int | None, kind: str = "csat"
    ) -> int: ...

    async def add_feedback_comment(self, feedback_id: int, comment: str) -> None: ...

    async def schedule_followup(self, due_at: datetime, case_number: int | None) -> None: ...

    async def close_case(self, case_number: int) -> None: ...

    async def history(self, since: datetime, limit: int) -> History:
        """What an escalation needs before it opens a case (one read)."""
        ...

    async def start_contact(self) -> int: ...

    async def update_contact(
        self,
        contact_id: int,
        *,
        outcome: str | None = None,
        category: str | None = None,
        case_number: int | None = None,
        ended: bool = False,
    ) -> None: ...


@dataclass
class Context:
    """The long-lived collaborators of the dialogue, built once at start-up."""

    settings: Settings
    kb: KnowledgeBase
    verifier: Verifier
    now: Callable[[], datetime]
    random: Callable[[], float] = random.random  # e.g. who is asked for NPS

    @functools.cached_property
    def hours(self) -> BusinessHours:
        """Built once: the dialogue and supervision share the same calendar."""
        return BusinessHours(self.settings.hours)


@dataclass
class Turn:
    """One event's worth of dialogue work."""

    ctx: Context
    port: Port
    state: State
    data: ConversationData
    customer_name: str | None
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        self.replies.append(Reply(text=text, buttons=buttons))

    def look_up(self, text: str, *, exclude: Collection[str] = ()) -> SearchResult:
        """The knowledge base's verdict on the question in the customer's ``text``: its
        greeting, their name and any email or order number left out (``the_question``)."""
        rules = self.ctx.settings.verification
        question = the_question(text, (rules.email_pattern, rules.order_pattern))
        return self.ctx.kb.search(question, exclude=exclude)

    def relay(self, text: str, author: str, extra: dict[str, Any] | None = None) -> None:
        """An agent's words, shown to the customer as theirs, not the bot's."""
        self.replies.append(Reply(text=text, sender="agent", author=author, extra=extra or {}))
