"""The report as CSV for spreadsheets: one long table, one value per row.

A long table (section, group, metric, value) pivots in any spreadsheet and keeps its
columns when KPIs or groups are added. Numbers are bare, in the unit the ``unit`` column
names (shares in percent); times are local, with their UTC offset. Text that customers
wrote (questions) could start a formula in a spreadsheet, so such cells are defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from bot.reports.model import UNITS, Report, plain

COLUMNS = [
    "section", "group", "metric", "label", "value", "unit", "target", "meets_target",
    "part", "basis", "period_start", "period_end", "timezone",
]  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    p = report.period
    period = [p.local(p.since).isoformat(), p.local(p.until).isoformat(), p.zone.key]
    width = len(COLUMNS) - len(period)
    for row in _rows(report):
        row[1] = _safe(row[1])  # the group: agent, category or a customer's question
        writer.writerow(row + [""] * (width - len(row)) + period)
    return out.getvalue()


def _rows(report: Report) -> Iterator[list[str]]:
    groups = {"(all)": report.overall, **report.groups}
    for group, values in groups.items():
        for kpi in report.kpis:
            v = values[kpi.key]
            met = kpi.met(v.value)
            target = plain(kpi.kind, kpi.target) if kpi.better else ""
            yield ["kpi", group, kpi.key, kpi.label, plain(kpi.kind, v.value), UNITS[kpi.kind],
                   target, "" if met is None else ("yes" if met else "no"),
                   "" if v.part is None else str(v.part), str(v.basis)]  # fmt: skip
    escalated = sum(count for _, count in report.reasons)
    for reason, count in report.reasons:
        yield ["escalation_reason", "(all)", reason, "", str(count), "count", "", "",
               str(count), str(escalated)]  # fmt: skip
    for score, count in report.csat_distribution.items():
        yield ["csat_distribution", "(all)", f"score_{score}", "", str(count), "count"]
    for category, contacts, escalations in report.categories:
        yield ["top_category", category, "contacts", "", str(contacts), "count"]
        yield ["top_category", category, "escalated", "", str(escalations), "count"]
    for gap in report.kb_gaps:
        for metric in ("asked", "unanswered", "rejected"):
            yield ["kb_gap", gap.question, metric, "", str(getattr(gap, metric)), "count"]
        asked = report.period.local(gap.last_asked).isoformat(timespec="seconds")
        yield ["kb_gap", gap.question, "last_asked", "", asked, "local time"]
    for day in report.days:
        name = day.day.isoformat()
        for metric in ("contacts", "bot_resolved", "escalated", "csat_n"):
            yield ["daily", name, metric, "", str(getattr(day, metric)), "count"]
        yield ["daily", name, "csat_mean", "", plain("score", day.csat_mean), UNITS["score"]]


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell
