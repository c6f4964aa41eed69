"""The Slack process's signs of life: its beats, ``GET /healthz`` beside
``/slack/events`` for a load balancer, and ``GET /metrics`` for Prometheus."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from bot.app import utc_now
from bot.channels.slack.service import PATH
from bot.cli import app
from tests.bot.channels.slack.conftest import Harness, running
from tests.bot.channels.slack.fake_slack import FakeSlack
from tests.conftest import Clock


async def test_the_events_server_answers_healthz(slack: Harness) -> None:
    base = slack.http.url.removesuffix(PATH)

    async with slack.http.session.get(base + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "role": "slack", "detail": "ok"}


async def test_supportbot_health_sees_the_slack_process(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    clock.current = utc_now()
    async with running(tmp_path, clock, fake) as slack:
        env = {"SUPPORTBOT_DATABASE_URL": slack.app.settings.database_url,
               "TELEGRAM_BOT_TOKEN": None}  # fmt: skip
        result = await asyncio.to_thread(CliRunner().invoke, app, ["health"], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok    slack   alive ")


async def test_the_events_server_shows_prometheus_what_it_did(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    await anna.says("hi")  # stored with one transaction, the greeting sent
    base = slack.http.url.removesuffix(PATH)

    async with slack.http.session.get(base + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()

    figures = dict(line.rsplit(" ", 1) for line in text.splitlines() if line[:1] != "#")
    assert float(figures["supportbot_committed_total"]) >= 1
    assert float(figures["supportbot_commit_batches_total"]) >= 1
    assert figures["supportbot_commit_queue"] == "0.0"
    assert figures['supportbot_outbox_sent_total{outbox="customers"}'] == "1.0"
    assert figures['supportbot_outbox_failures_total{outbox="customers"}'] == "0.0"
    assert figures['supportbot_outbox_queued{outbox="desk"}'] == "0.0"
    assert figures["supportbot_slack_unfinished_acks"] == "0.0"
    assert figures["supportbot_slack_events_in_progress"] == "0.0"
    assert figures["supportbot_slack_events_refused_total"] == "0.0"
    assert float(figures["supportbot_heartbeat_age_seconds"]) < 60
    assert float(figures["process_resident_memory_bytes"]) > 0
