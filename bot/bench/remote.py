"""Running a platform channel: the fake platform in a process of its own, the real bot
stack (webhook server, adapter, engine, database) in this one.

The fake starts first, because the bot needs its API address; then the bot starts and
listens, the scripts are built from its knowledge base and sent over, and the fake plays
the customers and the agent. When they are done, this process waits until the bot's
outbox holds nothing more for this run, has the fake stop its agent, waits again (an
agent's last action may still be on its way), and only then asks for the report, so a
reply still in flight is never mistaken for a lost one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import App
from bot.bench.check import compare_all, end_of_run
from bot.bench.options import BenchOptions, database_label
from bot.bench.results import BenchResult, make_result
from bot.bench.scripts import build_scripts, scripts_to_json
from bot.bench.usage import cpu_seconds, profiled
from bot.errors import ChannelError
from bot.settings import Settings

LINE_LIMIT = 1 << 28  # the fake's report is one line
DRAIN_LIMIT = 30.0  # seconds to wait for the outbox to empty before reporting what is left
STALL = 1.0  # seconds without any progress after which what is still pending is left
ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("supportbot.bench")


@dataclass
class Stack:
    """The running bot, as the bench needs it."""

    app: App
    channel: str  # the customers' channel in the database (the outbox's channel)
    desk: str  # the desk's outbox address
    webhook_url: str  # where the fake platform delivers
    go: dict[str, Any] = field(default_factory=dict)  # what else the fake needs to know


StackFactory = Callable[[Settings, str], AbstractAsyncContextManager[Stack]]


class FakeProcess:
    """``python -m bot.bench.fake <platform>``, spoken to in JSON lines."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.errors: collections.deque[str] = collections.deque(maxlen=30)
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FakeProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.bench.fake", self.platform, env=env, limit=LINE_LIMIT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._stderr = asyncio.create_task(self._collect_errors())
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def _collect_errors(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self.errors.append(line.decode(errors="replace").rstrip())

    async def send(self, **message: Any) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self._proc.stdin.drain()

    async def receive(self, key: str, progress: Callable[[int], None] | None = None) -> Any:
        """The next message ``key``; progress reports on the way go to ``progress``."""
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                await asyncio.sleep(0.1)  # let the last words on standard error arrive
                tail = " | ".join(list(self.errors)[-5:]) or "no message"
                raise ChannelError(f"bench: the fake {self.platform} process stopped: {tail}")
            message = json.loads(line)
            if "progress" in message and key != "progress":
                if progress is not None:
                    progress(int(message["progress"]))
                continue
            if key not in message:
                raise ChannelError(f"bench: expected {key!r} from the fake, got {sorted(message)}")
            return message[key]

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
        if self._stderr is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr


async def outbox_drained(stack: Stack, fake: FakeProcess, prefix: str) -> None:
    """Until nothing is pending for this run's customers or for the desk, or nothing
    moved for a second: the same rows pending and no call reaching the platform (a row
    that was sent but whose "sent" mark is not written yet, or one that keeps failing:
    the final check tells them apart). At most ``DRAIN_LIMIT`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_LIMIT
    before: tuple[frozenset[int], int] | None = None
    while loop.time() < deadline:
        async with stack.app.repo.transaction() as tx:
            items = await tx.pending_outbox([stack.channel, "desk"], None, limit=1000)
        pending = frozenset(
            i.id for i in items
            if (i.channel == stack.channel and i.address.startswith(prefix))
            or (i.channel == "desk" and i.address == stack.desk)
        )  # fmt: skip
        if not pending:
            return
        await fake.send(calls=True)
        now = (pending, int(await fake.receive("calls")))
        if now == before:
            return
        before = now
        await asyncio.sleep(STALL)


async def run_remote(
    settings: Settings, options: BenchOptions, tag: int, progress: Callable[[int], None], *,
    factory: StackFactory, prefix: str,
) -> BenchResult:  # fmt: skip
    async with FakeProcess(options.channel) as fake:
        api_url = (await fake.receive("ready"))["api_url"]
        async with factory(settings, api_url) as stack:
            questions = [q for article in stack.app.kb.articles for q in article.questions]
            scripts = build_scripts(questions, options.conversations, options.messages,
                                    options.seed)  # fmt: skip
            go = {**stack.go, "webhook_url": stack.webhook_url, "tag": tag,
                  "rate": options.rate, "scripts": scripts_to_json(scripts)}  # fmt: skip
            await fake.send(go=go)
            cpu, commits = cpu_seconds(), stack.app.engine.inbound
            batches = commits.batches, commits.items
            with profiled(options.profile):
                await fake.receive("finished", progress)
            cpu = cpu_seconds() - cpu
            batches = commits.batches - batches[0], commits.items - batches[1]
            await outbox_drained(stack, fake, prefix)
            await fake.send(quiesce=True)
            await fake.receive("quiet")
            await outbox_drained(stack, fake, prefix)
            await fake.send(report=True)
            report = await fake.receive("report")
            channel = stack.channel
    for failure in report["agent_failures"]:
        log.warning("bench: the fake agent failed: %s", failure)
    expected, pending = await end_of_run(settings.database_url, channel, prefix)
    received: dict[str, list[str]] = report["received"]
    return make_result(
        channel=options.channel, database=database_label(settings), workers=options.workers,
        conversations=options.conversations, messages=report["messages"],
        agent_actions=report["agent_actions"], seconds=report["seconds"],
        sustained=report["sustained"],
        target_rate=options.rate, latencies=report["latencies"],
        replies=sum(len(keys) for keys in received.values()),
        tally=compare_all(expected, received, pending), unanswered=report["unanswered"],
        agent_waits_in_vain=report["agent_waits_in_vain"],
        delivery_retries=report["retries"] + report["undelivered"],
        platform_rss_mb=report["peak_rss_mb"], bot_cpu_seconds=cpu,
        platform_cpu_seconds=report["cpu_seconds"],
        batches=None if options.workers else batches,
    )  # fmt: skip
