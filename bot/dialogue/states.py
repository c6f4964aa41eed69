"""The dialogue's states, what can move it, and what it remembers between turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class State(StrEnum):
    START = "start"  # nobody has written yet
    AWAIT_ISSUE = "await_issue"  # greeted; waiting for the customer's question
    VERIFY_EMAIL = "verify_email"  # account/billing help needs identity: email first
    VERIFY_ORDER = "verify_order"  # ... then the order number
    CONFIRM_SOLVED = "confirm_solved"  # an article was given: "Did this solve your issue?"
    CHOOSE_ARTICLE = "choose_article"  # several articles fit: the customer picks one
    OFFER_HUMAN = "offer_human"  # no confident answer: a human is offered
    COMPLAINT_OPTIONS = "complaint_options"  # apologised; refund / exchange / support offered
    WAITING_AGENT = "waiting_agent"  # case open, no agent yet: the bot relays, says nothing
    WITH_AGENT = "with_agent"  # an agent owns the case: the bot relays, says nothing
    CSAT = "csat"  # asking for a 1-5 rating
    CSAT_COMMENT = "csat_comment"  # asking for an optional comment
    NPS = "nps"  # some customers: "how likely to recommend us, 0-10?"
    FOLLOWUP_CHECK = "followup_check"  # "Is everything still working?"
    CLOSED = "closed"  # finished; the next message starts afresh


# States in which the bot owns the chat (an agent owns the two handoff states).
BOT_STATES = frozenset(State) - {State.WAITING_AGENT, State.WITH_AGENT}
HANDOFF_STATES = frozenset({State.WAITING_AGENT, State.WITH_AGENT})
# States a quiet customer is timed out of.
IDLE_STATES = BOT_STATES - {State.START, State.CLOSED}


class Trigger(StrEnum):
    TEXT = "text"
    YES = "yes"
    NO = "no"
    CHOICE = "choice"
    RATING = "rating"
    SKIP = "skip"
    HUMAN = "human"  # explicit request for a person (words or /human)
    LEGAL = "legal"  # legal or regulatory matter: escalate at once
    AUTHORITY = "authority"  # asks for what only a person may grant
    PRIVACY = "privacy"  # a data-protection request (a copy or erasure of their data)
    AGENT_CLAIM = "agent_claim"
    AGENT_REPLY = "agent_reply"
    AGENT_RESOLVE = "agent_resolve"
    IDLE = "idle"
    FOLLOWUP = "followup"


@dataclass(frozen=True)
class CustomerSaid:
    text: str
    payload: str | None = None


@dataclass(frozen=True)
class AgentDid:
    action: Literal["claim", "reply", "resolve"]
    agent: str
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # passed through to the channel


@dataclass(frozen=True)
class TimerFired:
    kind: Literal["idle", "followup"]
    case_number: int | None = None


Event = CustomerSaid | AgentDid | TimerFired


class ConversationData(BaseModel):
    """What the bot keeps between turns of one conversation (stored as JSON)."""

    contact_id: int | None = None
    category: str | None = None
    verified: bool = False
    email: str | None = None
    order_number: str | None = None  # given before the email was asked for, kept for it
    verification_attempts: int = 0
    pending_query: str | None = None
    after_verify: Literal["answer", "refund", "privacy"] | None = None
    first_question: str | None = None
    last_query: str | None = None
    tried_articles: list[str] = Field(default_factory=list)
    offered_articles: list[str] = Field(default_factory=list)
    kb_query_id: int | None = None
    failed_answers: int = 0
    complaint: bool = False
    case_number: int | None = None
    agent: str | None = None
    feedback_id: int | None = None
    csat: int | None = None
    resolution: str | None = None
    secrets_warned: bool = False  # told not to send card numbers or passwords here
    privacy: Literal["access", "erasure", "request"] | None = None  # a data-protection request
