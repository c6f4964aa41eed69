"""The report in the terminal: KPIs against targets, escalation reasons, recurring issues.

Each value carries what it rests on (``5/6`` for a ratio, ``n=4`` for a median), so a
supervisor can tell a bad rate from a small sample without opening the database.
Names that come from the data (agents, questions) are printed as plain text, never as
rich markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.reports.model import Kpi, Report, Value, fmt

MARKS = {True: ("✓", "green"), False: ("✗", "red"), None: ("", "")}


def render(report: Report, console: Console) -> None:
    console.print(Text(f"{report.company} support KPIs", style="bold"))
    console.print(f"{report.period.describe()}", highlight=False)
    console.print(_kpi_table(report))
    if report.reasons:
        console.print(_reasons(report))
    console.print(Text("Recurring issues", style="bold"))
    console.print(_categories(report))
    console.print(_gaps(report))
    console.print(Text("Definitions of every KPI: docs/kpis.md", style="dim"))


def _cell(kpi: Kpi, value: Value, *, basis: bool) -> Text:
    mark, style = MARKS[kpi.met(value.value)]
    text = Text(fmt(kpi.kind, value.value), style=style)
    if mark:
        text.append(f" {mark}", style=style)
    if basis and kpi.kind != "count" and value.value is not None:
        rests_on = f"{value.part}/{value.basis}" if value.part is not None else f"n={value.basis}"
        text.append(f" ({rests_on})", style="dim")
    return text


def _kpi_table(report: Report) -> Table:
    groups = list(report.groups)
    table = Table(title="KPIs against targets", title_justify="left", show_lines=False)
    table.add_column("KPI", overflow="fold")
    table.add_column("Target", overflow="fold")
    table.add_column("All" if groups else "Value", overflow="fold")
    for group in groups:
        table.add_column(Text(group), overflow="fold")
    for kpi in report.kpis:
        cells = [_cell(kpi, report.overall[kpi.key], basis=not groups)]
        cells += [_cell(kpi, report.groups[g][kpi.key], basis=False) for g in groups]
        table.add_row(kpi.label, kpi.target_text(), *cells)
    if groups:
        table.caption = f"Per {report.by}; (bot) = without a case, (unassigned) = unclaimed."
    return table


def _reasons(report: Report) -> Table:
    total = sum(count for _, count in report.reasons)
    table = Table(title="Escalation reasons", title_justify="left")
    table.add_column("Reason")
    table.add_column("Contacts", justify="right")
    table.add_column("Share", justify="right")
    for reason, count in report.reasons:
        table.add_row(Text(reason), str(count), f"{count / total * 100:.1f}%")
    return table


def _categories(report: Report) -> Table:
    table = Table(title="Most frequent categories", title_justify="left")
    table.add_column("Category")
    table.add_column("Contacts", justify="right")
    table.add_column("Escalated", justify="right")
    for category, contacts, escalated in report.categories:
        table.add_row(Text(category), str(contacts), str(escalated))
    if not report.categories:
        table.add_row("no contacts in this period", "", "")
    return table


def _gaps(report: Report) -> Table:
    table = Table(title="Knowledge-base gaps (unanswered or rejected)", title_justify="left")
    table.add_column("Question", overflow="fold")
    table.add_column("Asked", justify="right")
    table.add_column("Unanswered", justify="right")
    table.add_column("Rejected", justify="right")
    table.add_column("Last asked")
    for gap in report.kb_gaps:
        table.add_row(Text(gap.question), str(gap.asked), str(gap.unanswered),
                      str(gap.rejected), report.period.show(gap.last_asked))  # fmt: skip
    if not report.kb_gaps:
        table.add_row("none in this period", "", "", "", "")
    return table
