"""``supportbot serve --channel slack --workers 2`` as an operator runs it: the receiving
process and two workers on PostgreSQL, each worker on its own health port, a worker
killed and started again by the supervisor, everything stopped by one SIGTERM."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.bot.channels.slack.conftest import AGENTS, SECRET, TOKEN, SlackHTTP
from tests.bot.channels.slack.fake_slack import FakeSlack, eventually
from tests.conftest import REPO
from tests.databases import Database

pytestmark = pytest.mark.only_on("postgresql", "separate workers need PostgreSQL")

CLI = [sys.executable, "-m", "bot.cli"]


def free_ports(count: int) -> list[int]:
    """``count`` consecutive free ports (``serve`` numbers its processes' from the first),
    below the range the system picks outgoing connections' ports from, where a port
    found free could be taken by a connection a moment later."""
    chooser = random.Random()
    for _ in range(100):
        first = chooser.randrange(20_000, 32_000)
        try:
            for port in range(first, first + count):
                with socket.socket() as taken:
                    taken.bind(("127.0.0.1", port))
        except OSError:
            continue
        return list(range(first, first + count))
    raise AssertionError("no free ports")


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def is_worker(pid: int) -> bool:
    return b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()


async def answers(port: int) -> str | None:
    """The role a process says it is on ``/healthz`` (None: nothing answers)."""
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return str((await response.json())["role"])
    except aiohttp.ClientError:
        return None


async def test_serve_runs_the_receiver_and_workers_and_keeps_them_running(
    tmp_path: Path, database: Database, fake: FakeSlack
) -> None:
    slack_port, health_port, _, _ = free_ports(4)  # the receiver's is unused: it has one
    env = environment(database, fake, SUPPORTBOT_HEALTH__PORT=str(health_port),
                      SLACK_PORT=str(slack_port))  # fmt: skip
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:  # a file: a full pipe would block the processes
        serve = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--channel", "slack", "--workers", "2", env=env, cwd=REPO,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            workers = [health_port + 1, health_port + 2]  # the receiver's would be + 0

            async def both_workers_answer() -> bool:
                return [await answers(p) for p in workers] == ["worker", "worker"]

            await eventually(both_workers_answer, within=60, what="the workers' /healthz")
            async with aiohttp.ClientSession() as session:
                http = SlackHTTP(f"http://127.0.0.1:{slack_port}/slack/events", session)
                event = {"type": "message", "channel": "D_ANNA", "user": "U_ANNA",
                         "text": "hi", "ts": "1.000001", "channel_type": "im"}  # fmt: skip

                async def delivered() -> bool:
                    try:
                        return await http.event(event, event_id="Ev1") == 200
                    except aiohttp.ClientError:  # the receiver is not listening yet
                        return False

                await eventually(delivered, within=60, what="the receiver")
                await eventually(lambda: fake.in_channel("D_ANNA"), what="the greeting")
            assert fake.in_channel("D_ANNA")[0].text.startswith("Hello Anna")

            before = children(serve.pid)
            assert len(before) == 3  # the receiver and two workers
            victim = next(p for p in before if is_worker(p))
            os.kill(victim, signal.SIGKILL)
            await eventually(lambda: len(children(serve.pid) - before) == 1, within=30,
                             what="the killed worker started again")  # fmt: skip
            await eventually(both_workers_answer, within=60, what="both workers again")
            seen = before | children(serve.pid)
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), 60)
    said = log_path.read_text()
    assert serve.returncode == 0, said[-3000:]
    assert "worker exited (-9); starting it again in 1 s" in said, said[-3000:]
    assert not [pid for pid in seen if alive(pid)]  # SIGTERM stopped them all


async def test_settings_a_process_refuses_stop_serve_instead_of_a_restart_loop(
    tmp_path: Path, database: Database, fake: FakeSlack
) -> None:
    env = environment(database, fake, SLACK_AGENTS_CHANNEL="general",  # a name, not an id
                      SLACK_PORT=str(free_ports(1)[0]))  # fmt: skip
    serve = await asyncio.create_subprocess_exec(
        *CLI, "serve", "--channel", "slack", "--workers", "1", env=env, cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(serve.communicate(), 60)

    said = err.decode()
    assert serve.returncode == 2
    assert "supportbot: invalid setting SLACK_AGENTS_CHANNEL: must be a channel ID" in said
    assert said.count("invalid setting") == 1  # not started again
    assert "slack refused its settings; stopping everything" in said


def environment(database: Database, fake: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "SLACK_"))}
    env.update(SUPPORTBOT_DATABASE_URL=database.url, SUPPORTBOT_DESK="slack",
               SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_AGENTS_CHANNEL=AGENTS,
               SLACK_API_URL=fake.url)  # fmt: skip
    return env | extra
