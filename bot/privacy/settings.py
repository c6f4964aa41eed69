"""Settings of customers' data: request deadline, retention, redaction rules, abuse limits.

Kept beside the code that uses them; ``bot.settings.Settings`` includes them as the
``[privacy]``, ``[retention]``, ``[redaction]`` and ``[abuse]`` sections.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.privacy.redaction import RULES as REDACTION_RULES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivacySettings(_Section):
    """Customers' data-protection requests made in the chat."""

    # The GDPR's deadline to answer an access or erasure request (Art. 12(3): one month).
    request_deadline_months: int = Field(1, ge=1, le=3)
    # Where the terminal chat saves the copy of their data an agent sends a customer
    # (Telegram and Slack customers get it as a file in their chat).
    export_folder: Path = Path("data/exports")


class RetentionSettings(_Section):
    """How long each kind of record is kept, in days (0: keep until erased). A daily job
    purges what has expired; records of open cases are never purged."""

    messages_days: int = Field(365, ge=0)  # transcripts, delivered messages, chat memory
    closed_cases_days: int = Field(730, ge=0)  # a closed case's texts; the bare record stays
    feedback_comments_days: int = Field(365, ge=0)  # comments; the scores stay
    kb_queries_days: int = Field(90, ge=0)  # the words of knowledge-base lookups
    logs_days: int = Field(30, ge=0)  # delivery, dedup and timer records
    audit_days: int = Field(1095, ge=0)  # the audit trail
    inactive_customers_days: int = Field(1095, ge=0)  # then the profile is erased
    run_every_hours: float = Field(24, gt=0)


class RedactionSettings(_Section):
    """Named rules masking secrets before a customer's message is stored, shown or logged
    (``chat_rules``) and, in logs only, personal data too (``log_rules``). Built-in rules:
    card_number, security_code, iban, password, email, phone, order_number; add your own
    as ``custom = {name = "regex"}`` and list the name."""

    chat_rules: list[str] = Field(
        default_factory=lambda: ["card_number", "security_code", "iban", "password"]
    )
    log_rules: list[str] = Field(
        default_factory=lambda: [
            "card_number", "security_code", "iban", "password", "email", "phone", "order_number",
        ]
    )  # fmt: skip
    custom: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_rules(self) -> RedactionSettings:
        for name, regex in self.custom.items():
            try:
                re.compile(regex)
            except re.error as exc:
                msg = f"custom rule {name!r} is not a valid regular expression: {exc}"
                raise ValueError(msg) from None
        known = [*REDACTION_RULES, *self.custom]
        for name in [*self.chat_rules, *self.log_rules]:
            if name not in known:
                msg = f"unknown redaction rule {name!r}; known: {', '.join(known)}"
                raise ValueError(msg)
        return self


class AbuseSettings(_Section):
    """A customer flooding the bot is slowed down; other customers never wait for them."""

    messages_per_minute: int = Field(20, ge=1)  # beyond this, messages are kept unanswered
    cases_per_hour: int = Field(3, ge=1)  # cases one customer may open in an hour
