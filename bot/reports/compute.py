"""Turning the database's aggregates into the report's values.

The SQL (``bot.storage.kpi_queries``) counts, sums and ranks; this module only adds the
groups' counts up into the period's, divides counts into rates and means, converts
seconds into minutes and fills the days that had no activity, so that every number can
be traced to a query and to docs/kpis.md. All queries of one report read the same
snapshot of the database, on two connections side by side (``kpi_snapshot``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.reports.model import Day, Gap, Report, Value, catalogue, ratio
from bot.reports.period import Period
from bot.settings import Settings
from bot.storage import kpi_queries as kq
from bot.storage.kpi_snapshot import Row, run, snapshot

TOP = 10  # rows in the recurring-issues lists
DURATIONS = ("acknowledge", "first_response", "resolution")
Raw = tuple[dict[Any, Row], ...]


async def build_report(
    engine: AsyncEngine, settings: Settings, period: Period, by: kq.GroupBy | None = None
) -> Report:
    """Every KPI of the period, overall and (with ``by``) per agent, category or channel."""
    window = kq.Window(period.since, period.until, period.as_of)
    queries = {  # the costliest first, so that the two readers finish together
        **kq.case_durations(window, by, native=engine.dialect.name == "postgresql"),
        **kq.contact_stats(window, by),
        **kq.daily(window, period.offset_spans()),
        **kq.feedback_stats(window, by),
        **kq.recurring(window, TOP),
        **kq.case_stats(window, by),
    }
    async with snapshot(engine) as readers:
        got = await run(readers, queries)
    durations, whole = ({k: r for name, rows in got.items() if name.startswith(prefix)
                         for k, r in rows.items()}
                        for prefix in ("durations.", "overall_durations."))  # fmt: skip
    raw = (got["contacts"], durations, got["cases"], got["feedback"])
    overall, grouped = (_overall(raw, whole), raw) if by else (raw, None)
    recurring = {name: list(got[name].values()) for name in ("reasons", "categories", "kb_gaps")}
    per_day = got["days.contacts"], got["days.csat"]
    contacts, _, cases, feedback = (rows.get(kq.ALL, {}) for rows in overall)
    return Report(
        company=settings.company.name,
        period=period,
        by=by,
        kpis=catalogue(settings),
        overall=_values(kq.ALL, overall),
        groups={g: _values(g, grouped) for g in _groups(grouped)} if grouped else {},
        reasons=[(r["reason"], r["contacts"]) for r in recurring["reasons"]],
        categories=[
            (r["category"], r["contacts"], r["escalated"]) for r in recurring["categories"]
        ],
        kb_gaps=[Gap(**r) for r in recurring["kb_gaps"]],
        days=_days(period.days(), *per_day),
        csat_distribution={s: int(feedback.get(f"csat_{s}", 0)) for s in range(1, 6)},
        totals={
            "contacts": int(contacts.get("contacts", 0)),
            "cases": int(cases.get("cases", 0)),
            "ratings": int(feedback.get("csat_n", 0)) + int(feedback.get("nps_n", 0)),
        },
    )


def _overall(raw: Raw, whole: dict[Any, Row]) -> Raw:
    """The whole period from its groups: every statistic is a count or a sum, and each
    group holds its rows' shares of the overall percentiles (``all_p50``, ``all_p90``),
    unless the database computed those itself (``whole``)."""
    contacts, durations, cases, feedback = raw
    if whole:
        return _totals(contacts), whole, _totals(cases), _totals(feedback)
    metrics = {metric for _, metric in durations}
    whole = {
        (kq.ALL, m): {"n": _sum(r["n"] for (_, mm), r in durations.items() if mm == m),
                      **{p: _sum(r[f"all_{p}"] for (_, mm), r in durations.items() if mm == m)
                         for p in ("p50", "p90")}}
        for m in metrics
    }  # fmt: skip
    return _totals(contacts), whole, _totals(cases), _totals(feedback)


def _totals(groups: dict[Any, Row]) -> dict[Any, Row]:
    columns = {c for row in groups.values() for c in row if c != "key"}
    return {kq.ALL: {c: _sum(row.get(c) for row in groups.values()) for c in columns}}


def _sum(values: Iterable[Any]) -> Any:
    """SQL's SUM: None when there is nothing to add."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _groups(raw: Raw) -> list[str]:
    """Every group seen in any query; named groups first, then (bot), (none) and the like."""
    contacts, durations, cases, feedback = raw
    names = {*contacts, *cases, *feedback, *(key for key, _ in durations)}
    return sorted(names, key=lambda name: (name.startswith("("), name.lower()))


def _values(group: str, raw: Raw) -> dict[str, Value]:
    contacts, durations, cases, feedback = raw
    c, s, f = contacts.get(group, {}), cases.get(group, {}), feedback.get(group, {})

    def n(row: Row, name: str) -> int:
        return int(row.get(name) or 0)

    def minutes(metric: str, column: str) -> Value:
        row = durations.get((group, metric)) or {}
        return Value(_minutes(row[column]), int(row["n"])) if row.get("n") else Value(None, 0)

    nps_n, handled, csat_n = n(f, "nps_n"), n(c, "handled"), n(f, "csat_n")
    handling = c["handling_seconds"] / handled if handled else None
    values = {
        "contacts": Value(n(c, "contacts"), n(c, "contacts")),
        "first_contact_resolution": ratio(n(c, "first_contact"), n(c, "resolved")),
        "bot_resolution_rate": ratio(n(c, "bot_resolved"), n(c, "contacts")),
        "escalation_rate": ratio(n(c, "escalated"), n(c, "contacts")),
        "csat": Value(float(f["csat_sum"]) / csat_n if csat_n else None, csat_n),
        "csat_satisfied": ratio(n(f, "csat_top"), n(f, "csat_n")),
        "nps": Value(
            (n(f, "promoters") - n(f, "detractors")) * 100 / nps_n if nps_n else None, nps_n
        ),
        "average_handling": Value(_minutes(handling), handled),
        "sla_first_response": ratio(n(s, "fr_met"), n(s, "fr_counted")),
        "sla_resolution": ratio(n(s, "res_met"), n(s, "res_counted")),
        "reopen_rate": ratio(n(s, "reopened"), n(s, "resolved_once")),
    }
    for metric in DURATIONS:
        values[f"{metric}_median"] = minutes(metric, "p50")
        values[f"{metric}_p90"] = minutes(metric, "p90")
    return values


def _minutes(seconds: Any) -> float | None:
    """Seconds from SQL to minutes, to the millisecond (SQLite's julianday arithmetic
    leaves float noise below that, which must not tip a value over its target)."""
    return None if seconds is None else round(float(seconds), 3) / 60


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _days(days: list[date], contacts: dict[str, Row], csat: dict[str, Row]) -> list[Day]:
    """One entry per local day of the period, zeros where nothing happened."""
    out = []
    for day in days:
        c, f = contacts.get(day.isoformat(), {}), csat.get(day.isoformat(), {})
        out.append(
            Day(day, int(c.get("contacts", 0)), int(c.get("bot_resolved", 0)),
                int(c.get("escalated", 0)), int(f.get("csat_n", 0)), _float(f.get("csat_mean")))
        )  # fmt: skip
    return out
