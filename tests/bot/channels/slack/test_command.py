"""``supportbot run slack`` as an operator runs it: a real process on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.bot.channels.slack.conftest import AGENTS, SECRET, TOKEN, SlackHTTP
from tests.bot.channels.slack.fake_slack import FakeSlack, eventually
from tests.conftest import REPO

CLI = [sys.executable, "-c", "from bot.cli import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "SLACK_"))}
    env["SUPPORTBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return env | extra


async def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_help_and_a_missing_setting(tmp_path: Path) -> None:
    code, out, _ = await _run(_env(tmp_path), "run", "slack", "--help")
    assert code == 0 and "--port" in out and "SLACK_PORT" in out
    code, _, err = await _run(_env(tmp_path, SUPPORTBOT_DESK="slack", SLACK_BOT_TOKEN=TOKEN,
                                    SLACK_SIGNING_SECRET=SECRET), "run", "slack")  # fmt: skip
    assert code == 2
    assert err.strip() == (
        "supportbot: invalid setting SLACK_AGENTS_CHANNEL: is not set "
        "(needed when the desk is slack)"
    )


async def test_the_command_serves_a_customer_over_http(tmp_path: Path, fake: FakeSlack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path, SUPPORTBOT_DESK="slack", SLACK_BOT_TOKEN=TOKEN,
               SLACK_SIGNING_SECRET=SECRET, SLACK_AGENTS_CHANNEL=AGENTS,
               SLACK_API_URL=fake.url, SLACK_PORT=str(port))  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--log-level", "DEBUG", "run", "slack", "--host", "127.0.0.1", env=env,
        cwd=REPO, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            http = SlackHTTP(f"http://127.0.0.1:{port}/slack/events", session)

            async def listening() -> bool:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    return False
                writer.close()
                await writer.wait_closed()
                return True

            await eventually(listening, within=30, what="the server to listen")
            event = {"type": "message", "channel": "D_ANNA", "user": "U_ANNA", "text": "hi",
                     "ts": "1.000001", "channel_type": "im"}  # fmt: skip
            assert await http.event(event) == 200
            await eventually(lambda: fake.in_channel("D_ANNA"), what="the greeting")
        assert fake.in_channel("D_ANNA")[0].text.startswith("Hello Anna")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    log = err.decode()
    assert f"listening on http://127.0.0.1:{port}/slack/events" in log
    assert TOKEN not in log and SECRET not in log  # even at DEBUG


async def test_socket_mode_serves_a_customer_without_a_public_url(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """``SLACK_APP_TOKEN``: the app connects to Slack over a WebSocket (the fake's), so no
    port is opened for Slack; ``health.port`` serves /healthz and /metrics instead."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path, SUPPORTBOT_DESK="slack", SLACK_BOT_TOKEN=TOKEN,
               SLACK_APP_TOKEN="xapp-1-A1-1-secretapptoken", SLACK_AGENTS_CHANNEL=AGENTS,
               SLACK_API_URL=fake.url, SUPPORTBOT_HEALTH__PORT=str(port),
               SUPPORTBOT_HEALTH__HEARTBEAT_SECONDS="1")  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--log-level", "DEBUG", "run", "slack", env=env, cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await eventually(lambda: fake.sockets, within=30, what="the Socket Mode connection")
        event = {"type": "message", "channel": "D_ANNA", "user": "U_ANNA", "text": "hi",
                 "ts": "1.000001", "channel_type": "im"}  # fmt: skip
        await fake.socket_event({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": "Ev1", "event_time": 1,
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        })  # fmt: skip
        await eventually(lambda: fake.in_channel("D_ANNA"), what="the greeting")
        assert fake.in_channel("D_ANNA")[0].text.startswith("Hello Anna")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["role"] == "slack"

        async def health_says(text: str) -> bool:
            _, out, _ = await _run(env, "health", "--max-silence", "3s", "--no-platforms")
            return text in out

        await eventually(lambda: health_says("; reached Slack "), within=30,
                         what="a beat that saw the connection up")  # fmt: skip
        fake.refuse_sockets = True  # the connection drops and Slack cannot be reached
        await fake.drop_sockets()
        await eventually(lambda: health_says("running, but has not reached Slack for "),
                         within=30, what="supportbot health to see it")  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    log = err.decode()
    assert "connected in Socket Mode" in log
    assert "secretapptoken" not in log and TOKEN not in log  # even at DEBUG


async def test_a_port_in_use_stops_with_one_clear_line(tmp_path: Path, fake: FakeSlack) -> None:
    with socket.socket() as taken:  # another program holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(tmp_path, SUPPORTBOT_DESK="slack", SLACK_BOT_TOKEN=TOKEN,
                   SLACK_SIGNING_SECRET=SECRET, SLACK_AGENTS_CHANNEL=AGENTS,
                   SLACK_API_URL=fake.url, SLACK_PORT=str(port))  # fmt: skip
        code, _, err = await _run(env, "run", "slack", "--host", "127.0.0.1")
    assert code == 2
    assert err.strip().endswith(
        f"supportbot: invalid setting SLACK_PORT: cannot listen on 127.0.0.1:{port} "
        "(Address already in use)"
    )
