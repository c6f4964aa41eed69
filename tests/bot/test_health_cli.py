"""``supportbot health``, as cron or a monitor runs it, on both databases.

The processes' heartbeats are written by the real ``Heartbeat`` with a clock set back
to when each process was last alive; waiting replies and messages are real rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.app import open_repository, utc_now
from bot.cli import app
from bot.health import Heartbeat
from bot.settings import Settings
from bot.storage.models import InboxItem, OutboxItem
from tests.conftest import make_settings

runner = CliRunner()


def health(settings: Settings, *args: str, **env: str | None) -> Result:
    environment = {"SUPPORTBOT_DATABASE_URL": settings.database_url, "TELEGRAM_BOT_TOKEN": None,
                   **env}  # fmt: skip
    return runner.invoke(app, ["health", *args], env=environment, catch_exceptions=False)


def in_database(settings: Settings, work: Callable[[Any], Any]) -> None:
    """Run ``work(repo)`` (a coroutine function) on the settings' database."""

    async def go() -> None:
        repo = await open_repository(settings)
        try:
            await work(repo)
        finally:
            await repo.close()

    asyncio.run(go())


def alive(settings: Settings, role: str, ago: timedelta = timedelta(0)) -> None:
    """A process of ``role`` whose last beat was ``ago``."""
    at = utc_now() - ago
    in_database(settings, lambda repo: Heartbeat(repo, role, lambda: at, every=60).start())


def waiting(settings: Settings, row: OutboxItem | InboxItem) -> None:
    async def add(repo: Any) -> None:
        async with repo.transaction() as tx:
            tx.session.add(row)

    in_database(settings, add)


def reply(created: datetime, attempts: int = 0) -> OutboxItem:
    return OutboxItem(channel="telegram", address="42", payload={"text": "Hello"},
                      status="pending", attempts=attempts, created_at=created)  # fmt: skip


def test_a_deployment_that_is_alive_and_keeping_up_passes(settings: Settings) -> None:
    alive(settings, "telegram", timedelta(seconds=30))
    alive(settings, "worker")

    result = health(settings)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ok    telegram  alive 30 s ago (")
    assert lines[1].startswith("ok    worker    alive 0 s ago (")
    assert "ok    outbox    no replies and notices waiting" in result.output
    assert "ok    inbox     no received messages waiting" in result.output  # workers: an inbox


def test_a_bot_down_for_20_hours_fails_while_telegram_still_holds_its_updates(
    settings: Settings,
) -> None:
    alive(settings, "telegram", timedelta(hours=20, minutes=9, seconds=30))

    result = health(settings)

    assert result.exit_code == 1
    assert "FAIL  telegram  no sign of life for 20 h 9 min (last: " in result.output
    assert "Telegram deletes undelivered updates after 24 h: 3 h 50 min left" in result.output


def test_past_24_hours_it_says_what_is_lost(settings: Settings) -> None:
    alive(settings, "telegram", timedelta(hours=25))
    alive(settings, "slack", timedelta(minutes=7))

    result = health(settings)

    assert result.exit_code == 1
    assert "no sign of life for 1 d 1 h" in result.output
    assert "Telegram has deleted updates older than 24 h" in result.output
    assert "FAIL  slack     no sign of life for 7 min" in result.output
    assert "Slack has dropped the events it could not deliver" in result.output


def test_the_silence_allowed_comes_from_the_settings_or_the_option(settings: Settings) -> None:
    alive(settings, "slack", timedelta(minutes=3))

    assert health(settings).exit_code == 0  # [health] max_silence_minutes = 5
    assert health(settings, "--max-silence", "2m").exit_code == 1
    assert health(settings, SUPPORTBOT_HEALTH__MAX_SILENCE_MINUTES="1").exit_code == 1


def test_an_expected_role_that_never_ran_fails(settings: Settings) -> None:
    alive(settings, "telegram")

    result = health(settings, "--expect", "telegram", "--expect", "worker")

    assert result.exit_code == 1
    assert "FAIL  worker    never seen alive on this database" in result.output


def test_a_database_no_process_ever_beat_on_fails(settings: Settings) -> None:
    in_database(settings, lambda repo: asyncio.sleep(0))  # the schema, no beats

    result = health(settings)

    assert result.exit_code == 1
    assert "no process has written a heartbeat to this database yet" in result.output


def test_a_reply_stuck_in_the_outbox_fails(settings: Settings) -> None:
    alive(settings, "telegram")
    waiting(settings, reply(utc_now() - timedelta(minutes=15), attempts=4))
    waiting(settings, reply(utc_now() - timedelta(seconds=5)))

    result = health(settings)

    assert result.exit_code == 1
    assert (
        "FAIL  outbox    replies and notices waiting: 2, the oldest for 15 min, "
        "1 failed at least once" in result.output
    )
    assert health(settings, "--max-delay", "20m").exit_code == 0


def test_messages_the_workers_do_not_take_fail(settings: Settings) -> None:
    alive(settings, "telegram")
    alive(settings, "worker")
    waiting(settings, InboxItem(channel="telegram", chat_id="42", message={"text": "hi"},
                                received_at=utc_now() - timedelta(minutes=11)))  # fmt: skip

    result = health(settings)

    assert result.exit_code == 1
    assert "FAIL  inbox     received messages waiting: 1, the oldest for 11 min" in result.output


def test_json_for_monitors(settings: Settings) -> None:
    alive(settings, "worker", timedelta(minutes=6))

    result = health(settings, "--json")

    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["healthy"] is False
    assert report["checks"][0] == {
        "name": "worker", "ok": False, "detail": report["checks"][0]["detail"]
    }  # fmt: skip
    assert report["checks"][0]["detail"].startswith("no sign of life for 6 min")


def test_a_retired_role_is_forgotten(settings: Settings) -> None:
    alive(settings, "telegram")
    alive(settings, "slack", timedelta(days=3))
    assert health(settings).exit_code == 1

    forgotten = health(settings, "--forget", "slack")

    assert forgotten.exit_code == 0
    assert forgotten.output == "slack: forgotten\n"
    assert health(settings).exit_code == 0
    assert health(settings, "--forget", "slack").output == "slack: no heartbeat to forget\n"


def test_a_missing_database_fails_and_is_not_created(tmp_path: Path) -> None:
    result = health(make_settings(tmp_path))

    assert result.exit_code == 1
    assert "FAIL  database  the database " in result.output
    assert "does not exist" in result.output
    assert not (tmp_path / "support.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-silence", "soon"], "--max-silence 'soon': use a number and s, m, h or d"),
        (["--max-delay", "0m"], "--max-delay '0m': use a number and s, m, h or d"),
        (["--expect", "robot"], "unknown role 'robot': use telegram, slack, worker"),
        (["--forget", "robot"], "unknown role 'robot'"),
    ],
)
def test_bad_options_are_refused_with_one_line(
    settings: Settings, args: list[str], message: str
) -> None:
    result = health(settings, *args)

    assert result.exit_code == 2
    assert message in result.output
