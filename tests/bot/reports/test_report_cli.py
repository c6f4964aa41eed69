"""``supportbot report`` as a supervisor runs it: the table, ``--by``, ``--csv``, and
what happens with bad input (one line, never a traceback)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import open_repository
from bot.reports import Period
from bot.reports.model import Gap, Report
from bot.reports.spreadsheet import COLUMNS, to_csv
from tests.bot.reports.conftest import run_report, settings_file
from tests.bot.reports.fixture import SINCE, UNTIL, fixture_settings
from tests.databases import Database

WEEK = ("--since", SINCE, "--until", UNTIL)


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of rich tables in the output: first cell -> the other cells."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split("[│┃]", line.strip("│┃ "))]
        if len(cells) > 1:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def config(week_database: Database, tmp_path: Path) -> Path:
    return settings_file(tmp_path, week_database)


def test_the_table_shows_every_kpi_against_its_target(config: Path) -> None:
    result = run_report(config, *WEEK)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows["Contacts"] == ["", "10"]
    assert rows["Time to acknowledge, median"] == ["≤ 15.0 min", "15.0 min ✓ (n=4)"]
    assert rows["First response time, 90th pct"] == ["≤ 2.0 h", "40.5 min ✓ (n=4)"]
    assert rows["Resolution time, 90th pct"] == ["≤ 24.0 h", "17.2 h ✓ (n=3)"]
    assert rows["First contact resolution"] == ["≥ 80.0%", "83.3% ✓ (5/6)"]
    assert rows["Bot resolution rate"] == ["", "30.0% (3/10)"]
    assert rows["Escalation rate"] == ["< 10.0%", "50.0% ✗ (5/10)"]
    assert rows["CSAT, mean"] == ["≥ 4.50", "3.80 ✗ (n=5)"]
    assert rows["NPS"] == ["", "+25 (n=4)"]
    assert rows["Average handling time"] == ["≤ 5.0 min", "37.0 min ✗ (n=6)"]
    assert rows["SLA met, first response"] == ["", "80.0% (4/5)"]
    assert rows["SLA met, resolution"] == ["", "60.0% (3/5)"]
    assert rows["Reopen rate"] == ["", "33.3% (1/3)"]
    assert rows["failed_resolution"] == ["2", "40.0%"]  # escalation reasons
    assert rows["technical"] == ["4", "2"]  # most frequent categories
    assert rows["where is my parcel?"][:3] == ["3", "2", "1"]  # knowledge-base gaps
    assert rows["<script>alert(1)</script>"][:3] == ["1", "1", "0"]  # shown as text


def test_targets_are_the_configured_ones(week_database: Database, tmp_path: Path) -> None:
    targets = "[targets]\ncsat = 3.5\nescalation_rate_below = 0.6\n[sla]\nresolution_hours = 8\n"
    config = settings_file(tmp_path, week_database, targets)
    rows = table_rows(run_report(config, *WEEK).stdout)
    assert rows["CSAT, mean"] == ["≥ 3.50", "3.80 ✓ (n=5)"]
    assert rows["Escalation rate"] == ["< 60.0%", "50.0% ✓ (5/10)"]
    assert rows["Resolution time, 90th pct"] == ["≤ 8.0 h", "17.2 h ✗ (n=3)"]


def test_times_are_shown_in_the_configured_time_zone(config: Path) -> None:
    output = run_report(config, *WEEK).stdout
    assert "2026-03-02 00:00 EST to 2026-03-11 00:00 EDT (America/New_York)" in output
    assert table_rows(output)["where is my parcel?"][3] == "2026-03-09 00:31 EDT"  # 04:31 UTC


def test_the_same_dates_in_another_time_zone_are_another_period(
    week_database: Database, tmp_path: Path
) -> None:
    config = settings_file(tmp_path, week_database)
    config.write_text(config.read_text().replace("America/New_York", "UTC"))
    output = run_report(config, *WEEK).stdout
    assert "2026-03-02 00:00 UTC to 2026-03-11 00:00 UTC (UTC)" in output
    assert table_rows(output)["Contacts"] == ["", "11"]  # c0 at 04:00 UTC is in, now


@pytest.mark.parametrize(
    ("by", "columns", "fcr"),
    [
        ("agent", ["All", "bob", "eve", "(bot)", "(unassigned)"],
         ["83.3% ✓", "50.0% ✗", "100.0% ✓", "100.0% ✓", "–"]),
        ("category", ["All", "billing", "shipping", "technical", "(none)"],
         ["83.3% ✓", "50.0% ✗", "100.0% ✓", "100.0% ✓", "–"]),
        ("channel", ["All", "slack", "telegram"], ["83.3% ✓", "66.7% ✗", "100.0% ✓"]),
    ],
)  # fmt: skip
def test_by_adds_a_column_per_agent_category_or_channel(
    config: Path, by: str, columns: list[str], fcr: list[str]
) -> None:
    result = run_report(config, *WEEK, "--by", by)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows["KPI"] == ["Target", *columns]
    assert rows["First contact resolution"] == ["≥ 80.0%", *fcr]


def test_the_csv_is_one_value_per_row_with_its_unit_target_and_basis(
    config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kpis.csv"
    result = run_report(config, *WEEK, "--by", "agent", "--csv", str(path))
    assert result.exit_code == 0, result.output
    assert f"CSV written to {path}" in result.stdout
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == COLUMNS == [
        "section", "group", "metric", "label", "value", "unit", "target", "meets_target",
        "part", "basis", "period_start", "period_end", "timezone",
    ]  # fmt: skip
    at = {(r["section"], r["group"], r["metric"]): r for r in rows}
    fcr = at["kpi", "(all)", "first_contact_resolution"]
    assert (fcr["value"], fcr["unit"], fcr["target"], fcr["meets_target"]) == (
        "83.33", "percent", "80", "yes")  # fmt: skip
    assert (fcr["part"], fcr["basis"]) == ("5", "6")
    assert (fcr["period_start"], fcr["period_end"], fcr["timezone"]) == (
        "2026-03-02T00:00:00-05:00", "2026-03-11T00:00:00-04:00", "America/New_York")  # fmt: skip
    assert at["kpi", "bob", "resolution_median"]["value"] == "690"
    assert at["kpi", "bob", "nps"]["value"] == "-50"
    assert at["kpi", "(bot)", "sla_resolution"]["value"] == ""  # nothing to measure
    assert at["escalation_reason", "(all)", "legal"]["value"] == "1"
    assert at["csat_distribution", "(all)", "score_5"]["value"] == "2"
    assert at["top_category", "billing", "escalated"]["value"] == "3"
    assert at["kb_gap", "where is my parcel?", "last_asked"]["value"] == "2026-03-09T00:31:00-04:00"
    assert at["daily", "2026-03-02", "csat_mean"]["value"] == "4.5"
    assert len([r for r in rows if r["section"] == "daily"]) == 9 * 5


def test_csv_cells_with_customer_text_never_start_a_formula(
    week_database: Database, period: Period
) -> None:
    from tests.bot.reports.test_kpi_numbers import report_of

    report: Report = asyncio.run(report_of(week_database, period))
    moment = datetime(2026, 3, 3, tzinfo=UTC)
    evil = dataclasses.replace(report, kb_gaps=[Gap("=HYPERLINK(1)", 1, 1, 0, moment)])
    groups = {r["group"] for r in csv.DictReader(to_csv(evil).splitlines())}
    assert "'=HYPERLINK(1)" in groups and "=HYPERLINK(1)" not in groups


def one_line_refusal(result: object, status: int, text: str) -> None:
    exit_code, stdout, stderr = (getattr(result, n) for n in ("exit_code", "stdout", "stderr"))
    assert exit_code == status, (stdout, stderr)
    assert stderr.count("\n") == 1 and stderr.startswith("supportbot: "), stderr
    assert text in stderr
    assert "Traceback" not in stdout + stderr


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--since", "abc"), "--since: expected a duration like 30d, 12h or 2w, or a date"),
        (("--since", "30d", "--until", "yesterday"), "--until: expected a date"),
        (("--by", "team"), "--by: expected agent, category, channel, not 'team'"),
        (("--html", "/no/such/folder/report.html"), "--html: the folder /no/such/folder does"),
        (("--csv", "/tmp"), "--csv: /tmp is a folder; give a file name"),
    ],
)
def test_bad_input_is_refused_in_one_line(config: Path, args: tuple[str, ...], text: str) -> None:
    one_line_refusal(run_report(config, *args), 2, text)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_file_that_cannot_be_written_is_one_line(config: Path) -> None:
    one_line_refusal(run_report(config, *WEEK, "--html", "/dev/full"), 1,
                     "cannot write /dev/full: No space left on device")  # fmt: skip


def test_an_empty_database_says_there_is_nothing_to_report(
    tmp_path: Path, database: Database
) -> None:
    asyncio.run(_migrated_empty(tmp_path, database))
    config = settings_file(tmp_path, database)
    one_line_refusal(run_report(config), 1, "no contacts, cases or ratings from ")


def test_a_quiet_period_says_there_is_nothing_to_report(config: Path) -> None:
    result = run_report(config, "--since", "2025-01-01", "--until", "2025-02-01")
    one_line_refusal(result, 1, "from 2025-01-01 00:00 EST to 2025-02-01 00:00 EST")


def test_a_missing_database_is_named_and_not_created(tmp_path: Path) -> None:
    config = settings_file(tmp_path, tmp_path / "typo.db")
    one_line_refusal(run_report(config), 1, f"the database {tmp_path / 'typo.db'} does not exist")
    assert not (tmp_path / "typo.db").exists()


def test_an_unreachable_postgresql_server_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+asyncpg://bot:s3cret-Pass@127.0.0.1:{port}/support"
    result = run_report(settings_file(tmp_path, Database("postgresql", url)), *WEEK)
    one_line_refusal(result, 1, f"bot:***@127.0.0.1:{port}/support cannot be reached")
    assert "s3cret" not in result.stdout + result.stderr


async def _migrated_empty(folder: Path, database: Database) -> None:
    repo = await open_repository(fixture_settings(folder, database))
    await repo.close()
