"""All the SQL of the KPI report (definitions in docs/kpis.md), in SQLAlchemy Core.

The database aggregates the stored records, so the report stays fast on a year of data;
Python only adds up and divides the counts and sums it gets back. The same statements
run on SQLite and PostgreSQL (``SPELLING`` holds what differs). Percentiles use window
functions with linear interpolation (PostgreSQL's ``percentile_cont``). Each function
returns named statements (``Query``) that ``kpi_snapshot.run`` executes side by side;
they take an optional breakdown (agent, category, channel) and key their rows by group
(``ALL`` without one). Every column of the grouped statistics is a count or a sum, so
the whole period's figures are the sum of its groups' and need no second scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Float, String, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.storage.kpi_snapshot import Query
from bot.storage.models import Case, Contact, Conversation, Feedback, KbQuery

GroupBy = Literal["agent", "category", "channel"]
Spans = Sequence[tuple[datetime | None, int]]  # (end of span in UTC, UTC offset in seconds)
ALL, BOT, UNASSIGNED, NONE = "(all)", "(bot)", "(unassigned)", "(none)"


class Window(NamedTuple):  # the period in UTC, and the moment its SLA clocks are judged at
    since: datetime
    until: datetime
    as_of: datetime


SPELLING = {  # what SQLite and PostgreSQL spell differently ({0}, {1}: the arguments)
    "seconds_between": ("((julianday({0}) - julianday({1})) * 86400.0)",
                        "CAST(EXTRACT(EPOCH FROM ({0} - {1})) AS DOUBLE PRECISION)"),
    "shifted_day": ("date({0}, '{1} seconds')",
                    "to_char({0} + INTERVAL '{1} seconds', 'YYYY-MM-DD')"),
    "unindexed": ("+{0}", "{0}"),
}  # fmt: skip


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds (a float; SQLite leaves sub-ms noise, the report rounds)."""

    type, inherit_cache = Float(), True


class shifted_day(FunctionElement[str]):
    """The ``YYYY-MM-DD`` day of a UTC timestamp moved by a signed literal of seconds."""

    type, inherit_cache = String(), True


class unindexed(FunctionElement[Any]):
    """The column, written ``+column`` on SQLite so that its planner scans the table: walking
    a time index over most of a table is ten times slower (PostgreSQL has statistics)."""

    inherit_cache = True


@compiles(seconds_between)
@compiles(shifted_day)
@compiles(unindexed)
def _spell(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    sqlite, postgres = SPELLING[type(element).__name__]
    args = [compiler.process(c, **kw) for c in element.clauses]
    return (postgres if compiler.dialect.name == "postgresql" else sqlite).format(*args)


def local_day(column: Any, spans: Spans) -> Any:
    """The local day of ``column`` by each span's UTC offset (daylight saving lands right)."""
    *bounded, last = (shifted_day(column, literal_column(f"{int(o):+d}")) for _, o in spans)
    whens = [(column < end, day) for (end, _), day in zip(spans, bounded, strict=False) if end]
    return case(*whens, else_=last) if whens else last


def _const(text: str) -> Any:
    return literal_column(f"'{text}'", String)  # our own constants only, never input


def _within(column: Any, w: Window) -> Any:
    plain = sa.type_coerce(unindexed(column), column.type)  # keeps the UTC bind conversion
    return and_(plain >= w.since, plain < w.until)


def _count(condition: Any) -> Any:
    return func.count(case((condition, 1)))


def _key(by: GroupBy | None, of: Any) -> Any:
    """The breakdown of a contact, case or feedback row: a row without a case belongs to
    the bot, a case nobody claimed is unassigned, a bot-only rating takes the category of
    the latest contact started before it in its conversation."""
    if by is None:
        return _const(ALL)
    if by == "channel":
        return Contact.channel if of is Contact else Conversation.channel
    if by == "agent":
        agent = func.coalesce(Case.assigned_agent, UNASSIGNED)
        return agent if of is Case else case((of.case_id.is_(None), BOT), else_=agent)
    if of is not Feedback:
        return func.coalesce(of.category, NONE)
    latest = (
        select(Contact.category)
        .where(Contact.conversation_id == Feedback.conversation_id,
               Contact.started_at <= Feedback.created_at)
        .order_by(Contact.started_at.desc(), Contact.id.desc()).limit(1).scalar_subquery()
    )  # fmt: skip
    return func.coalesce(Case.category, latest, NONE)


def _by(by: GroupBy | None) -> list[Any]:
    """GROUP BY the output column ``key`` (portable), not at all without a breakdown."""
    return [literal_column("key")] if by else []


def _from(by: GroupBy | None, of: Any) -> Any:
    """The rows of ``of`` with only the joins its breakdown needs (a lookup per row each)."""
    rows = of.__table__
    if by == "channel":
        rows = rows.join(Conversation.__table__, Conversation.id == of.conversation_id)
    if by in ("agent", "category") and of is Feedback:
        rows = rows.outerjoin(Case.__table__, Case.id == Feedback.case_id)
    return rows


def contact_stats(w: Window, by: GroupBy | None) -> dict[str, Query]:
    """Contacts started in the period: outcomes, first-contact resolution, handling time."""
    escalated = Contact.case_id.is_not(None)
    bot = and_(Contact.outcome == "bot_resolved", Contact.case_id.is_(None))
    resolved = or_(bot, and_(escalated, or_(Case.resolved_at.is_not(None), Case.reopen_count > 0)))
    first = or_(bot, and_(escalated, Case.resolved_at.is_not(None), Case.reopen_count == 0))
    handled = and_(resolved, Contact.ended_at.is_not(None))
    stmt = (
        select(_key(by, Contact).label("key"), func.count().label("contacts"),
               _count(bot).label("bot_resolved"), _count(escalated).label("escalated"),
               _count(resolved).label("resolved"), _count(first).label("first_contact"),
               _count(handled).label("handled"),
               func.sum(case((handled, seconds_between(Contact.ended_at, Contact.started_at))))
               .label("handling_seconds"))
        .select_from(Contact).outerjoin(Case, Case.id == Contact.case_id)
        .where(_within(Contact.started_at, w)).group_by(*_by(by))
    )  # fmt: skip
    return {"contacts": Query(stmt, ("key",))}


def _percentile(d: Any, rn: Any, n: Any, p: int) -> Any:
    """Interpolated between ranks lo, lo + 1 (1-based), lo = 1 + floor((n - 1) * p / 100)."""
    lo = ((n - 1) * p) // 100 + 1
    frac = cast((n - 1) * p % 100, Float) / 100.0
    return func.sum(case((rn == lo, d * (1.0 - frac)), (rn == lo + 1, d * frac), else_=0.0))


DURATION_ENDS = (("acknowledge", Case.claimed_at), ("first_response", Case.first_response_at),
                 ("resolution", Case.resolved_at))  # fmt: skip


def case_durations(w: Window, by: GroupBy | None, *, native: bool = False) -> dict[str, Query]:
    """Median and 90th percentile of the seconds to claim, first response and resolution of
    the period's cases that got there (three statements: on SQLite 5x faster than one).

    ``native``: PostgreSQL's own ``percentile_cont`` (the same definition, about six times
    faster than window functions there); with a breakdown the whole period's figures are
    then three more statements (``overall_durations.*``). Otherwise, window functions; with
    a breakdown each row also carries its rank in the whole period, and each group sums
    its rows' shares of the overall percentiles (``all_p50``, ``all_p90``): added up over
    the groups they give the period's figures from the same scan."""
    out: dict[str, Query] = {}
    for metric, end in DURATION_ENDS:
        if native:
            out[f"durations.{metric}"] = _native_percentiles(w, by, metric, end)
            if by:
                out[f"overall_durations.{metric}"] = _native_percentiles(w, None, metric, end)
            continue
        base = (
            select(_key(by, Case).label("key"), seconds_between(end, Case.created_at).label("d"))
            .select_from(_from(by, Case)).where(_within(Case.created_at, w), end.is_not(None))
        ).subquery()  # fmt: skip
        part = base.c.key if by else None
        ranks = [func.count().over().label("n_all"),
                 func.row_number().over(order_by=base.c.d).label("rn_all")]  # fmt: skip
        overall = ranks if by else []
        r = select(base.c.key, base.c.d, func.count().over(partition_by=part).label("n"),
                   func.row_number().over(partition_by=part, order_by=base.c.d).label("rn"),
                   *overall).subquery().c  # fmt: skip
        key = r.key if by else _const(ALL).label("key")  # not grouped: no column allowed
        shares = [_percentile(r.d, r.rn_all, r.n_all, p).label(f"all_p{p}")
                  for p in (50, 90)] if by else []  # fmt: skip
        stmt = select(key, _const(metric).label("metric"), func.max(r.n).label("n"),
                      _percentile(r.d, r.rn, r.n, 50).label("p50"),
                      _percentile(r.d, r.rn, r.n, 90).label("p90"),
                      *shares).group_by(*_by(by))  # fmt: skip
        out[f"durations.{metric}"] = Query(stmt, ("key", "metric"))
    return out


def _native_percentiles(w: Window, by: GroupBy | None, metric: str, end: Any) -> Query:
    d = seconds_between(end, Case.created_at)
    stmt = (
        select(_key(by, Case).label("key"), _const(metric).label("metric"),
               func.count().label("n"),
               func.percentile_cont(0.5).within_group(d).label("p50"),
               func.percentile_cont(0.9).within_group(d).label("p90"))
        .select_from(_from(by, Case)).where(_within(Case.created_at, w), end.is_not(None))
        .group_by(*_by(by))
    )  # fmt: skip
    return Query(stmt, ("key", "metric"))


def _clock(due: Any, done: Any, breached: Any, as_of: datetime) -> tuple[Any, Any]:
    """(counted, met) of an SLA clock: met if unflagged and done by due; counted once decided."""
    counted = or_(breached, done.is_not(None), due <= as_of)
    return counted, and_(sa.not_(breached), done.is_not(None), done <= due)


def case_stats(w: Window, by: GroupBy | None) -> dict[str, Query]:
    """Cases created in the period (reopen rate) and SLA clocks falling due in it."""
    created = _within(Case.created_at, w)
    fr_in, res_in = _within(Case.first_response_due_at, w), _within(Case.resolution_due_at, w)
    fr_counted, fr_met = _clock(Case.first_response_due_at, Case.first_response_at,
                                Case.first_response_breached, w.as_of)  # fmt: skip
    res_counted, res_met = _clock(Case.resolution_due_at, Case.resolved_at,
                                  Case.resolution_breached, w.as_of)  # fmt: skip
    resolved_once = or_(Case.resolved_at.is_not(None), Case.reopen_count > 0)
    stmt = (
        select(_key(by, Case).label("key"), _count(created).label("cases"),
               _count(and_(created, resolved_once)).label("resolved_once"),
               _count(and_(created, Case.reopen_count > 0)).label("reopened"),
               _count(and_(fr_in, fr_counted)).label("fr_counted"),
               _count(and_(fr_in, fr_met)).label("fr_met"),
               _count(and_(res_in, res_counted)).label("res_counted"),
               _count(and_(res_in, res_met)).label("res_met"))
        .select_from(_from(by, Case)).where(or_(created, fr_in, res_in)).group_by(*_by(by))
    )  # fmt: skip
    return {"cases": Query(stmt, ("key",))}


def feedback_stats(w: Window, by: GroupBy | None) -> dict[str, Query]:
    """CSAT (mean, share of 4-5, distribution) and NPS counts of the period's answers."""
    csat, nps, score = Feedback.kind == "csat", Feedback.kind == "nps", Feedback.score
    stmt = (
        select(_key(by, Feedback).label("key"), _count(csat).label("csat_n"),
               func.sum(case((csat, cast(score, Float)))).label("csat_sum"),
               _count(and_(csat, score >= 4)).label("csat_top"),
               *(_count(and_(csat, score == s)).label(f"csat_{s}") for s in range(1, 6)),
               _count(nps).label("nps_n"), _count(and_(nps, score >= 9)).label("promoters"),
               _count(and_(nps, score <= 6)).label("detractors"))
        .select_from(_from(by, Feedback)).where(_within(Feedback.created_at, w))
        .group_by(*_by(by))
    )  # fmt: skip
    return {"feedback": Query(stmt, ("key",))}


def recurring(w: Window, limit: int) -> dict[str, Query]:
    """Escalation reasons; the most frequent contact categories; knowledge-base gaps
    (questions unanswered or whose answer was rejected, grouped case-insensitively)."""
    reason = (
        select(Case.reason, func.count().label("contacts"))
        .select_from(Contact).join(Case, Case.id == Contact.case_id)
        .where(_within(Contact.started_at, w)).group_by(Case.reason)
        .order_by(func.count().desc(), Case.reason)
    )  # fmt: skip
    category = func.coalesce(Contact.category, NONE).label("category")
    categories = (
        select(category, func.count().label("contacts"),
               _count(Contact.case_id.is_not(None)).label("escalated"))
        .where(_within(Contact.started_at, w)).group_by(category)
        .order_by(func.count().desc(), category).limit(limit)
    )  # fmt: skip
    question = func.lower(func.trim(KbQuery.query)).label("question")
    gaps = (
        select(question, func.count().label("asked"),
               _count(KbQuery.outcome == "unanswered").label("unanswered"),
               _count(KbQuery.outcome == "rejected").label("rejected"),
               func.max(KbQuery.created_at).label("last_asked"))
        .where(_within(KbQuery.created_at, w), KbQuery.outcome.in_(("unanswered", "rejected")))
        .group_by(question).order_by(func.count().desc(), question).limit(limit)
    )  # fmt: skip
    return {"reasons": Query(reason, ("reason",)), "categories": Query(categories, ("category",)),
            "kb_gaps": Query(gaps, ("question",))}  # fmt: skip


def daily(w: Window, spans: Spans) -> dict[str, Query]:
    """Per local day: contacts by outcome, and CSAT answers with their mean."""
    contacts = (
        select(local_day(Contact.started_at, spans).label("day"), func.count().label("contacts"),
               _count(and_(Contact.outcome == "bot_resolved", Contact.case_id.is_(None)))
               .label("bot_resolved"), _count(Contact.case_id.is_not(None)).label("escalated"))
        .where(_within(Contact.started_at, w)).group_by(literal_column("day"))
    )  # fmt: skip
    csat = (
        select(local_day(Feedback.created_at, spans).label("day"), func.count().label("csat_n"),
               func.avg(cast(Feedback.score, Float)).label("csat_mean"))
        .where(_within(Feedback.created_at, w), Feedback.kind == "csat")
        .group_by(literal_column("day"))
    )  # fmt: skip
    return {"days.contacts": Query(contacts, ("day",)), "days.csat": Query(csat, ("day",))}
