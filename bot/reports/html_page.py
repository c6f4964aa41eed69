"""The report as one self-contained HTML page: tables and inline SVG charts.

Nothing is fetched: styles are inline, charts are SVG in the page, there is no script,
and a Content-Security-Policy forbids loading anything, so the page looks the same
offline, in a mail attachment or in an archive. Every piece of text from the data is
escaped; the questions are customers' own words.
"""

from __future__ import annotations

from html import escape

from bot.reports import charts
from bot.reports.model import Kpi, Report, Value, fmt

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:62rem;
color:#222;padding:0 1rem}h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .6rem;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}td.num{text-align:right}.met{color:#2e7d32}
.missed{color:#c62828}.basis,.note{color:#777;font-size:.85em}figure{margin:1rem 0}
figcaption{font-weight:600;margin-bottom:.3rem}
"""


def to_html(report: Report) -> str:
    p = report.period
    title = f"{report.company} support KPIs"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="period">{escape(p.describe())}</p>',
        "<h2>KPIs against targets</h2>",
        _kpi_table(report),
        "<h2>Trends</h2>",
        _trend(report),
        "<h2>Customer satisfaction</h2>",
        _figure("CSAT distribution (number of ratings per score)", charts.bars(
            "chart-csat", "CSAT distribution",
            [(f"{s}", n) for s, n in sorted(report.csat_distribution.items())], "#1565c0")),
        "<h2>Escalation reasons</h2>",
        _figure("Escalated contacts by reason", charts.hbars(
            "chart-reasons", "Escalation reasons", report.reasons, "#c62828"))
        if report.reasons else _none(),
        "<h2>Recurring issues</h2>",
        _figure("Top unanswered or rejected questions (times asked)", charts.hbars(
            "chart-questions", "Top unanswered questions",
            [(g.question, g.asked) for g in report.kb_gaps], "#ef6c00"))
        if report.kb_gaps else _none(),
        _gap_table(report),
        _category_table(report),
        '<p class="note">Every KPI is defined in docs/kpis.md. Times are shown in '
        f"{escape(p.zone.key)}.</p>",
    ]  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def _none() -> str:
    return '<p class="note">None in this period.</p>'


def _cell(kpi: Kpi, value: Value) -> str:
    met = kpi.met(value.value)
    css = {True: ' class="num met"', False: ' class="num missed"', None: ' class="num"'}[met]
    mark = {True: " ✓", False: " ✗", None: ""}[met]
    rests_on = f"{value.part}/{value.basis}" if value.part is not None else f"n={value.basis}"
    quiet = kpi.kind == "count" or value.value is None
    basis = "" if quiet else f' <span class="basis">({rests_on})</span>'
    return f"<td{css}>{escape(fmt(kpi.kind, value.value))}{mark}{basis}</td>"


def _kpi_table(report: Report) -> str:
    groups = list(report.groups)
    head = "".join(f"<th>{escape(g)}</th>" for g in groups)
    rows = []
    for kpi in report.kpis:
        cells = _cell(kpi, report.overall[kpi.key])
        cells += "".join(_cell(kpi, report.groups[g][kpi.key]) for g in groups)
        rows.append(f"<tr><th>{escape(kpi.label)}</th><td>{escape(kpi.target_text())}</td>"
                    f"{cells}</tr>")  # fmt: skip
    per = f'<p class="note">Per {escape(report.by)}.</p>' if report.by else ""
    return (
        f'<table id="kpis"><thead><tr><th>KPI</th><th>Target</th><th>All</th>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>{per}"
    )


def _trend(report: Report) -> str:
    days = [d.day.isoformat() for d in report.days]
    outcome = charts.stacked_days("chart-trend", "Contacts per day by outcome", days, [
        ("resolved by the bot", [d.bot_resolved for d in report.days], charts.COLORS["bot"]),
        ("escalated", [d.escalated for d in report.days], charts.COLORS["escalated"]),
        ("other (open, abandoned)", [d.contacts - d.bot_resolved - d.escalated
                                     for d in report.days], charts.COLORS["other"]),
    ])  # fmt: skip
    csat = charts.line_days("chart-csat-trend", "CSAT mean per day", days,
                            [d.csat_mean for d in report.days], 0, 5)  # fmt: skip
    trend = _figure("Contacts per day, by outcome (local days)", outcome)
    return trend + _figure("CSAT mean per day (1-5; days without ratings are left out)", csat)


def _gap_table(report: Report) -> str:
    rows = "".join(
        f"<tr><td>{escape(g.question)}</td><td class=num>{g.asked}</td>"
        f"<td class=num>{g.unanswered}</td><td class=num>{g.rejected}</td>"
        f"<td>{escape(report.period.show(g.last_asked))}</td></tr>"
        for g in report.kb_gaps
    )
    return (
        '<table id="kb-gaps"><thead><tr><th>Question</th><th>Asked</th><th>Unanswered</th>'
        f"<th>Rejected</th><th>Last asked</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows else ""
    )  # fmt: skip


def _category_table(report: Report) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class=num>{contacts}</td><td class=num>{escalated}</td>"
        "</tr>"
        for name, contacts, escalated in report.categories
    )
    return (
        '<h3>Most frequent categories</h3><table id="categories"><thead><tr><th>Category</th>'
        f"<th>Contacts</th><th>Escalated</th></tr></thead><tbody>{rows}</tbody></table>"
    )
