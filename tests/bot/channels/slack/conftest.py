"""The Slack harness: the real bolt AsyncApp served over HTTP on 127.0.0.1, signed
requests from "Slack", and a fake Slack Web API (``fake_slack.py``) for the bot's calls.

Conversations read like transcripts: ``await anna.says("hi")`` returns what Anna then saw
in her direct message, ``await bob.taps(1, "Claim")`` presses a button on case 1's card.
Waiting is always on a condition (the outbox has nothing pending), never a fixed sleep.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.channels.slack.service import PATH, SlackService, slack_service
from bot.channels.slack.settings import SlackSettings
from bot.delivery import Sender
from tests.bot.channels.slack.fake_slack import FakeSlack, Post, eventually
from tests.conftest import Clock, make_settings

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
AGENTS = "C0AGENTS"
PACE = 0.02  # seconds between writes to one channel (Slack's is 1 s; tests go faster)


@pytest.fixture(autouse=True)
def no_slack_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_* variables never leak into a test."""
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(
        members={"UBOT", "U_BOB", "U_CAROL", "U_DAN"},
        users={
            "U_ANNA": "Anna",
            "U_BOB": "Bob",
            "U_CAROL": "Carol",
            "U_DAN": "Dan",
            "U_EVE": "Eve",
        },
    )
    server.min_interval = PACE
    await server.start()
    yield server
    await server.stop()


def slack_settings(fake: FakeSlack, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": TOKEN, "signing_secret": SECRET, "agents_channel": AGENTS,
        "api_url": fake.url, "seconds_per_message": PACE,
    }  # fmt: skip
    values.update(overrides)
    return SlackSettings(**values)


class SlackHTTP:
    """Slack's side of the HTTP conversation: signed POSTs to /slack/events."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self.verifier = SignatureVerifier(SECRET)
        self._ids = itertools.count(1)

    async def post(
        self, body: bytes, content_type: str, *, timestamp: int | None = None,
        secret: str = SECRET, retry: int = 0, signed: bool = True,
    ) -> tuple[int, str]:  # fmt: skip
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {"Content-Type": content_type}
        if signed:
            signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
            headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.session.post(self.url, data=io.BytesIO(body), headers=headers) as response:
            return response.status, await response.text()

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        return json.dumps({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": event_id or f"Ev{next(self._ids):04d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }).encode()  # fmt: skip

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    retry: int = 0, **kwargs: Any) -> int:  # fmt: skip
        status, _ = await self.post(self.envelope(event, event_id), "application/json",
                                    retry=retry, **kwargs)  # fmt: skip
        return status

    async def tap(self, user: str, post: Post, label: str) -> int:
        button = next(b for b in post.buttons() if b["text"]["text"] == label)
        payload = {
            "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1",
            "token": "legacy", "user": {"id": user, "name": user.lower(), "team_id": "T1"},
            "container": {"type": "message", "message_ts": post.ts, "channel_id": post.channel},
            "channel": {"id": post.channel, "name": "x"}, "trigger_id": "1.2.3",
            "message": {"ts": post.ts, "text": post.text, "blocks": post.blocks},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                         "text": button["text"], "value": button["value"],
                         "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)}).encode()
        status, _ = await self.post(body, "application/x-www-form-urlencoded")
        return status


class Harness:
    def __init__(self, service: SlackService, fake: FakeSlack, http: SlackHTTP) -> None:
        self.service = service
        self.app = service.app
        self.fake = fake
        self.http = http
        self._ts = itertools.count(1)

    def ts(self) -> str:
        return f"1710000000.{next(self._ts):06d}"

    async def settled(self) -> None:
        """Everything queued so far has been delivered (or the test fails)."""

        async def idle() -> bool:
            async with self.app.repo.transaction() as tx:
                return not await tx.pending_outbox(["slack", "desk", "telegram"], limit=1)

        await eventually(idle, what="the outbox to be delivered")

    def customer(self, user: str, dm: str) -> Customer:
        return Customer(self, user, dm)

    def agent(self, user: str, channel: str = AGENTS) -> Agent:
        """Someone working cases in ``channel`` (the agents' channel, or a group's)."""
        return Agent(self, user, channel)


class Customer:
    """A Slack user writing to the app in a direct message."""

    def __init__(self, h: Harness, user: str, dm: str) -> None:
        self.h, self.user, self.dm = h, user, dm
        self._seen = 0

    def message(self, text: str, **extra: Any) -> dict[str, Any]:
        return {"type": "message", "channel": self.dm, "user": self.user, "text": text,
                "ts": self.h.ts(), "channel_type": "im", **extra}  # fmt: skip

    async def says(self, text: str, **extra: Any) -> list[Post]:
        assert await self.h.http.event(self.message(text, **extra)) == 200
        await self.h.settled()
        return self.new()

    async def taps(self, label: str) -> list[Post]:
        offers = [p for p in self.h.fake.in_channel(self.dm) if label in p.labels()]
        assert offers, f"no {label!r} button on offer"
        assert await self.h.http.tap(self.user, offers[-1], label) == 200
        await self.h.settled()
        return self.new()

    def new(self) -> list[Post]:
        posts = self.h.fake.in_channel(self.dm)
        fresh, self._seen = posts[self._seen :], len(posts)
        return fresh


class Agent:
    """Someone in an agents' channel (the desk's, unless a group's is given)."""

    def __init__(self, h: Harness, user: str, channel: str = AGENTS) -> None:
        self.h, self.user, self.channel = h, user, channel

    def card(self, number: int) -> Post:
        return self.h.fake.card(self.channel, number)

    def thread(self, number: int) -> list[str]:
        posts = self.h.fake.in_channel(self.channel, thread_ts=self.card(number).ts)
        return [p.text for p in posts]

    def message(self, number: int, text: str, **extra: Any) -> dict[str, Any]:
        """The event of ``text`` (Slack-encoded, as Slack sends it) in case ``number``'s
        thread."""
        return {"type": "message", "channel": self.channel, "user": self.user, "text": text,
                "ts": self.h.ts(), "thread_ts": self.card(number).ts,
                "channel_type": "channel", **extra}  # fmt: skip

    async def says(self, number: int, text: str, **extra: Any) -> int:
        """Write ``text`` in case ``number``'s thread, and wait until it was delivered."""
        status = await self.h.http.event(self.message(number, text, **extra))
        await self.h.settled()
        return status

    async def taps(self, number: int, label: str) -> int:
        status = await self.h.http.tap(self.user, self.card(number), label)
        await self.h.settled()
        return status

    def told(self) -> list[str]:
        """Ephemeral messages only this agent saw."""
        return self.h.fake.ephemerals(self.user)


@asynccontextmanager
async def running(
    tmp_path: Path, clock: Clock, fake: FakeSlack, *, senders: dict[str, Sender] | None = None,
    settings: dict[str, Any] | None = None, slack: dict[str, Any] | None = None,
) -> AsyncIterator[Harness]:  # fmt: skip
    """The Slack service on a free port of 127.0.0.1, with its aiohttp web app."""
    app_settings = make_settings(tmp_path, **{"desk": "slack", **(settings or {})})
    async with slack_service(app_settings, slack_settings(fake, **(slack or {})), now=clock,
                             senders=senders, poll=0.05) as service:  # fmt: skip
        runner = web.AppRunner(service.web_app())
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}{PATH}"
        try:
            async with aiohttp.ClientSession() as session:
                yield Harness(service, fake, SlackHTTP(url, session))
        finally:
            await runner.cleanup()


@pytest.fixture
async def slack(tmp_path: Path, clock: Clock, fake: FakeSlack) -> AsyncIterator[Harness]:
    async with running(tmp_path, clock, fake) as harness:
        yield harness


def texts(posts: list[Post]) -> list[str]:
    return [p.text for p in posts]
