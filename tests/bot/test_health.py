"""Heartbeats: what a process writes, what it says after a long silence, and what its
``/healthz`` answers when the database is out of reach."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import open_repository
from bot.errors import ConfigError
from bot.health import PREFIX, Beat, Heartbeat, span
from bot.health_http import health_server
from bot.metrics import Figures
from bot.settings import HealthSettings, Settings
from tests.conftest import Clock, make_settings


async def test_a_beat_says_who_is_alive_since_when_and_when_it_last_reached_its_platform(
    settings: Settings, clock: Clock
) -> None:
    repo = await open_repository(settings)
    try:
        reached = clock() - timedelta(seconds=20)
        heartbeat = Heartbeat(repo, "telegram", clock, every=60, contact=lambda: reached)
        assert await heartbeat.start() is None  # the first process of this role here
        clock.advance(minutes=3)
        await heartbeat.beat()

        async with repo.transaction() as tx:
            stored = await tx.cursor_row(PREFIX + "telegram")
        assert stored is not None
        beat = Beat.decode("telegram", *stored)
        assert (beat.at, beat.pid, beat.host) == (clock(), heartbeat.pid, heartbeat.host)
        assert beat.since == clock() - timedelta(minutes=3)
        assert beat.out_of_contact == timedelta(minutes=3, seconds=20)
        assert len(stored[0]) <= 200  # the cursors column
    finally:
        await repo.close()


async def test_a_process_starting_after_a_long_silence_says_what_may_be_lost(
    settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    repo = await open_repository(settings)
    try:
        await Heartbeat(repo, "telegram", clock, every=60).start()
        clock.advance(hours=21)
        with caplog.at_level(logging.WARNING, logger="supportbot"):
            previous = await Heartbeat(repo, "telegram", clock, every=60).start()
            clock.advance(minutes=2)  # a restart after two minutes: nothing to say
            await Heartbeat(repo, "telegram", clock, every=60).start()
    finally:
        await repo.close()

    assert previous is not None and previous.at == clock() - timedelta(hours=21, minutes=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("telegram: no process was alive for 21 h (last: ")
    assert warnings[0].endswith("Telegram keeps undelivered updates for 24 h")


async def test_two_processes_of_one_role_beating_at_once_both_go_on(
    settings: Settings, clock: Clock
) -> None:
    """Two workers starting together both write the same row: neither may fail."""
    first, second = await open_repository(settings), await open_repository(settings)
    try:
        beats = [Heartbeat(repo, "worker", clock, every=60) for repo in (first, second)]
        for _ in range(5):
            await asyncio.gather(*(b.beat() for b in beats))
            assert all(b.status() == (True, "ok") for b in beats)
    finally:
        await first.close()
        await second.close()


async def test_healthz_fails_while_beats_cannot_be_written(tmp_path: Path, clock: Clock) -> None:
    repo = await open_repository(make_settings(tmp_path, busy_timeout_ms=100))
    try:
        heartbeat = Heartbeat(repo, "slack", clock, every=0.01)
        assert heartbeat.status() == (False, "starting")
        await heartbeat.start()
        assert heartbeat.status() == (True, "ok")

        other = sqlite3.connect(tmp_path / "support.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the database
        try:
            await asyncio.sleep(0.05)  # more than three beats' time
            await heartbeat.beat()
        finally:
            other.rollback()
            other.close()

        ok, reason = heartbeat.status()
        assert not ok
        assert reason.startswith("no heartbeat written for 0 s: ")
        assert "is locked by another process" in reason
        await heartbeat.beat()  # the database is back
        assert heartbeat.status() == (True, "ok")
    finally:
        await repo.close()


def test_a_stored_beat_that_cannot_be_read_still_counts_as_a_sign_of_life(clock: Clock) -> None:
    for value in ("not json", "[1, 2]", '{"host": "a"}', '{"host": "a", "pid": 1, "since": 5}'):
        beat = Beat.decode("worker", value, clock())

        assert (beat.role, beat.at, beat.host, beat.out_of_contact) == (
            "worker",
            clock(),
            "?",
            None,
        )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (61, "1 min 1 s"), (3600, "1 h"), (3660, "1 h 1 min"),
     (90061, "1 d 1 h"), (86400 * 3, "3 d"), (-5, "0 s")],
)  # fmt: skip
def test_spans_read_as_the_two_largest_units(seconds: int, text: str) -> None:
    assert span(timedelta(seconds=seconds)) == text


async def test_a_health_port_in_use_is_one_clear_line(tmp_path: Path, clock: Clock) -> None:
    repo = await open_repository(make_settings(tmp_path))
    try:
        heartbeat = Heartbeat(repo, "worker", clock, every=60)
        figures = Figures(heartbeat, None, {})
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            health = HealthSettings(port=port)
            with pytest.raises(
                ConfigError, match=f"health.port: cannot listen on 127.0.0.1:{port}"
            ):
                async with health_server(health, "worker", figures):
                    pass
    finally:
        await repo.close()
