"""The KPI report (issue 6): ``supportbot report`` in the terminal, as CSV and as HTML.

``compute`` turns the SQL aggregates of ``bot.storage.kpi_queries`` into a ``Report``;
``table``, ``spreadsheet`` and ``html_page`` render that same object, so every output
shows the same numbers. Definitions: docs/kpis.md.
"""

from bot.reports.compute import build_report
from bot.reports.model import Report
from bot.reports.period import Period, ReportError, parse_period

__all__ = ["Period", "Report", "ReportError", "build_report", "parse_period"]
