"""What the fake Telegram and the fake Slack share: the customers' chat logs, the agent,
delivering to the bot's webhook as the platform would, and the report.

Delivery follows the platforms: a request answered with anything but 200 (or not
answered) is sent again after a pause, a few times, and each repeat is counted. At most
``connections`` requests are in flight at once, as Telegram's ``max_connections`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from bot.bench.actors import Agents, ChatLog, Counters, DeskActions, Line, Pace

ATTEMPTS = 4  # the first delivery and three retries, as Slack does
RETRY_PAUSE = 0.5  # seconds, growing with each attempt
Request = tuple[bytes, dict[str, str]]  # body and headers of one delivery


class FakePlatform(DeskActions):
    """Subclasses serve the platform's API (``routes``) and build its requests."""

    name = "platform"

    def __init__(self) -> None:
        self.logs: dict[str, ChatLog] = {}  # by the address the bot replies to
        self.by_name: dict[str, ChatLog] = {}
        self.counters = Counters()
        self.pace = Pace()
        self.agents = Agents(self, self.pace, self.counters)
        self.webhook_url = ""
        self.tag = 0
        self.session: aiohttp.ClientSession | None = None
        self.connections = asyncio.Semaphore(100)
        self.retries = 0
        self.undelivered = 0
        self.desk_activity = 0  # bumped on every post to the desk (to see it go quiet)
        self.api_calls = 0  # every call the bot made (the bench watches it settle)

    # what a platform provides -------------------------------------------------

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def api_url(self, base: str) -> str:
        raise NotImplementedError

    def customer(self, index: int, name: str) -> tuple[ChatLog, Line]:
        """The customer's chat log (registered here) and their way to write."""
        raise NotImplementedError

    # the run -------------------------------------------------------------------

    def start(self, go: dict[str, Any], session: aiohttp.ClientSession, pace: Pace) -> None:
        self.webhook_url = str(go["webhook_url"])
        self.tag = int(go["tag"])
        self.session = session
        self.pace = self.agents.pace = pace

    def register(self, log: ChatLog) -> ChatLog:
        self.logs[log.chat] = log
        self.by_name[log.name] = log
        return log

    async def deliver(
        self, make: Callable[[int], Request], answered: Callable[[bytes], None] | None = None
    ) -> None:
        """POST to the bot's webhook until it answers 200 (``make(attempt)`` builds the
        request: Slack signs each attempt anew and numbers its retries); ``answered``
        gets the body of that 200 (Telegram performs a method call found there)."""
        assert self.session is not None
        for attempt in range(ATTEMPTS):
            body, headers = make(attempt)
            status, reply = 0, b""
            async with self.connections:
                try:
                    async with self.session.post(self.webhook_url, data=body,
                                                 headers=headers) as response:  # fmt: skip
                        status = response.status
                        reply = await response.read()
                except (aiohttp.ClientError, OSError, TimeoutError):
                    status = 0
            if status == 200:
                if answered is not None:
                    answered(reply)
                return
            if attempt < ATTEMPTS - 1:
                self.retries += 1
                await asyncio.sleep(RETRY_PAUSE * (attempt + 1))
        self.undelivered += 1

    async def desk_quiet(self, seconds: float = 0.5, limit: float = 30.0) -> None:
        """Until the agent has nothing to do and nothing new appeared on the desk for
        ``seconds`` (a case opened by a customer's last message still gets answered)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while loop.time() < deadline:
            await self.agents.idle()
            before = self.desk_activity
            await asyncio.sleep(seconds)
            if before == self.desk_activity and not self.agents.busy:
                return

    def report(self) -> dict[str, Any]:
        latencies: list[float] = []
        unanswered = 0
        for log in self.logs.values():
            found, missing = log.latencies()
            latencies += found
            unanswered += missing
        return {
            "received": {chat: [s.key for s in log.replies] for chat, log in self.logs.items()},
            "latencies": latencies,
            "unanswered": unanswered,
            "messages": self.counters.messages,
            "sustained": self.counters.sustained(),
            "agent_actions": self.counters.agent_actions,
            "agent_waits_in_vain": self.counters.agent_waits_in_vain,
            "retries": self.retries,
            "undelivered": self.undelivered,
            "agent_failures": [repr(e) for e in self.agents.failures[:5]],
        }
