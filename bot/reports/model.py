"""What the report says: each KPI with its target, the measured values, the sections.

One catalogue drives the terminal table, the CSV and the HTML page, so the three always
show the same KPIs, in the same order, judged against the same targets. Definitions are
in docs/kpis.md; the keys here are the ``metric`` column of the CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from bot.reports.period import Period
from bot.settings import Settings

Kind = Literal["count", "minutes", "share", "score", "nps"]
UNITS: dict[Kind, str] = {
    "count": "count",
    "minutes": "minutes",
    "share": "percent",
    "score": "score 1-5",
    "nps": "score -100..100",
}


@dataclass(frozen=True)
class Kpi:
    """A KPI and its target; ``better`` says which way is good ("below" is strict)."""

    key: str
    label: str
    kind: Kind
    target: float | None = None
    better: Literal["higher", "lower", "below"] | None = None

    def met(self, value: float | None) -> bool | None:
        if value is None or self.target is None or self.better is None:
            return None
        if self.better == "higher":
            return value >= self.target
        return value <= self.target if self.better == "lower" else value < self.target

    def target_text(self) -> str:
        if self.target is None or self.better is None:
            return ""
        sign = {"higher": "≥", "lower": "≤", "below": "<"}[self.better]
        return f"{sign} {fmt(self.kind, self.target)}"


@dataclass(frozen=True)
class Value:
    """A measured value and what it rests on: ``part`` of ``basis`` records for a ratio,
    ``basis`` records for a mean or percentile. None when there is nothing to measure."""

    value: float | None
    basis: int
    part: int | None = None


def ratio(part: int, whole: int) -> Value:
    return Value(part / whole if whole else None, whole, part)


def catalogue(settings: Settings) -> list[Kpi]:
    """The KPIs in report order, with the targets of these settings."""
    t, sla = settings.targets, settings.sla
    ack, first, resolve = t.acknowledge_minutes, sla.first_response_minutes, sla.resolution_hours
    fcr, aht = t.first_contact_resolution, t.average_handling_minutes
    return [
        Kpi("contacts", "Contacts", "count"),
        Kpi("acknowledge_median", "Time to acknowledge, median", "minutes", ack, "lower"),
        Kpi("acknowledge_p90", "Time to acknowledge, 90th pct", "minutes", ack, "lower"),
        Kpi("first_response_median", "First response time, median", "minutes", first, "lower"),
        Kpi("first_response_p90", "First response time, 90th pct", "minutes", first, "lower"),
        Kpi("resolution_median", "Resolution time, median", "minutes", resolve * 60, "lower"),
        Kpi("resolution_p90", "Resolution time, 90th pct", "minutes", resolve * 60, "lower"),
        Kpi("first_contact_resolution", "First contact resolution", "share", fcr, "higher"),
        Kpi("bot_resolution_rate", "Bot resolution rate", "share"),
        Kpi("escalation_rate", "Escalation rate", "share", t.escalation_rate_below, "below"),
        Kpi("csat", "CSAT, mean", "score", t.csat, "higher"),
        Kpi("csat_satisfied", "CSAT, share of 4-5", "share"),
        Kpi("nps", "NPS", "nps"),
        Kpi("average_handling", "Average handling time", "minutes", aht, "lower"),
        Kpi("sla_first_response", "SLA met, first response", "share"),
        Kpi("sla_resolution", "SLA met, resolution", "share"),
        Kpi("reopen_rate", "Reopen rate", "share"),
    ]


def fmt(kind: Kind, value: float | None) -> str:
    """A value as a person reads it: minutes grow into hours and days."""
    if value is None:
        return "–"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{value * 100:.1f}%"
    if kind == "score":
        return f"{value:.2f}"
    if kind == "nps":
        return f"{value:+.0f}"
    if value < 90:
        return f"{value:.1f} min"
    return f"{value / 60:.1f} h" if value < 48 * 60 else f"{value / 1440:.1f} d"


def plain(kind: Kind, value: float | None) -> str:
    """A value for a spreadsheet: a bare number in the KPI's unit (percent for shares)."""
    if value is None:
        return ""
    number = f"{value * 100 if kind == 'share' else value:.2f}"
    return number.rstrip("0").rstrip(".") if "." in number else number


@dataclass(frozen=True)
class Day:
    day: date
    contacts: int = 0
    bot_resolved: int = 0
    escalated: int = 0
    csat_n: int = 0
    csat_mean: float | None = None


@dataclass(frozen=True)
class Gap:
    """A knowledge-base question that went unanswered or whose answer was rejected."""

    question: str
    asked: int
    unanswered: int
    rejected: int
    last_asked: datetime


@dataclass(frozen=True)
class Report:
    """Everything one run of ``supportbot report`` shows, whatever the output format."""

    company: str
    period: Period
    by: str | None
    kpis: list[Kpi]
    overall: dict[str, Value]
    groups: dict[str, dict[str, Value]] = field(default_factory=dict)
    reasons: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int, int]] = field(default_factory=list)  # name, contacts, esc.
    kb_gaps: list[Gap] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    csat_distribution: dict[int, int] = field(default_factory=dict)

    totals: dict[str, int] = field(default_factory=dict)  # contacts, cases, ratings

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: no contact, no case, no rating."""
        return not any(self.totals.values())
