"""The HTML report: one self-contained page whose charts a real browser renders.

The browser test needs Chromium (Debian: ``apt-get install -y chromium``). Without it the
test is skipped with the reason, unless SUPPORTBOT_REQUIRE_SERVICES=1 (as in CI), where
it fails. The variable is read here, at import: an autouse fixture in tests/conftest.py
removes every SUPPORTBOT_* variable before each test runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.bot.reports.conftest import run_report, settings_file
from tests.bot.reports.fixture import SINCE, UNTIL

REQUIRE_SERVICES = os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1"
CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
     if (path := shutil.which(name))), None,
)  # fmt: skip
CHARTS = ("chart-trend", "chart-csat-trend", "chart-csat", "chart-reasons", "chart-questions")


class Dom(HTMLParser):
    """Counts, per chart, the marks drawn in it (bars, points, lines); notes scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.marks: dict[str, Counter[str]] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and a.get("id"):
            self.chart = str(a["id"])
            self.marks[self.chart] = Counter()
        elif self.chart and tag in {"rect", "circle", "polyline"}:
            self.marks[self.chart][f"{tag}.{a.get('class')}"] += 1
        self.scripts += tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


@pytest.fixture
def page(week: Path, tmp_path: Path) -> Path:
    path = tmp_path / "kpis.html"
    config = settings_file(tmp_path, week / "support.db")
    result = run_report(config, "--since", SINCE, "--until", UNTIL, "--by", "agent",
                        "--html", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"HTML report written to {path}" in result.stdout
    return path


def test_the_page_is_self_contained_and_escapes_what_customers_wrote(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert not re.search(r"<(script|link|img|iframe)\b|\ssrc=", html, re.IGNORECASE)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "2026-03-02 00:00 EST to 2026-03-11 00:00 EDT (America/New_York)" in html
    assert "<th>bob</th><th>eve</th><th>(bot)</th><th>(unassigned)</th>" in html


def test_chromium_renders_every_chart_of_the_page(page: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install -y chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    dom = Dom()
    dom.feed(run.stdout)
    assert set(CHARTS) <= set(dom.marks), dom.marks
    trend, csat_trend, csat, reasons, questions = (dom.marks[c] for c in CHARTS)
    assert trend["rect.bar"] == 9  # 8 of the 9 days had contacts, 03-10 of two outcomes
    assert (csat_trend["circle.point"], csat_trend["polyline.line"]) == (4, 1)  # 4 rated days
    assert csat["rect.bar"] == 5  # scores 1 to 5
    assert reasons["rect.bar"] == 4  # failed_resolution, legal, no_answer, requested
    assert questions["rect.bar"] == 3  # the three knowledge-base gaps
    assert dom.scripts == 0  # the customer's "<script>" stayed text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in run.stdout
