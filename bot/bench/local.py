"""The local channel, in-process: customers call the engine directly, an agent works the
local desk through the same ``Desk`` the ``supportbot cases`` console uses.

This measures the engine, the dialogue, the knowledge base and the database without any
network: a customer's message is "sent" when ``handle_message`` is called and its reply
"accepted" when the bench channel's sender is handed it (the engine returns once its own
replies went out, so no waiting for quiet is needed; with ``--workers`` the call returns
once the message is in the inbox, and the turn ends after a short quiet, as on a
platform). The bench's channel is called
``bench`` so its conversations never mix with real terminal chats on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

from bot.app import App, running_app
from bot.bench.actors import AGENT_NAME, Agents, ChatLog, Counters, Pace, play
from bot.bench.check import compare_all, end_of_run
from bot.bench.options import BenchOptions, database_label
from bot.bench.results import BenchResult, make_result
from bot.bench.scripts import build_scripts, customer_name
from bot.bench.usage import cpu_seconds, profiled
from bot.messages import Button, Message, Reply
from bot.runner import POLL_SECONDS, background
from bot.settings import Settings

CHANNEL = "bench"
logger = logging.getLogger("supportbot.bench")
PACE = Pace(quiet=0.0, first_within=0.0)
WORKERS_PACE = Pace(quiet=0.15)  # replies come from other processes, through the outbox
DELIVERY_POLL = 0.02  # with workers: how often this process looks for their replies


class BenchChannel:
    """The outbox's sender for the bench channel: each reply into its customer's log."""

    def __init__(self, logs: dict[str, ChatLog]) -> None:
        self.logs = logs
        self.buttons: dict[str, tuple[Button, ...]] = {}

    async def send(self, address: str, reply: Reply) -> None:
        log = self.logs.get(address)
        if log is not None:
            self.buttons[address] = reply.buttons
            log.reply(reply.text, [b.label for b in reply.buttons])


class LocalLine:
    """A customer typing into the engine, or choosing one of the offered buttons."""

    def __init__(self, app: App, channel: BenchChannel, log: ChatLog) -> None:
        self.app, self.channel, self.log = app, channel, log
        self._sent = 0

    async def say(self, text: str, payload: str | None = None) -> None:
        self._sent += 1
        chat = self.log.chat
        await self.app.engine.handle_message(Message(
            CHANNEL, chat, chat, text, message_id=f"{chat}-{self._sent}",
            user_name=self.log.name, payload=payload,
        ))  # fmt: skip

    async def tap(self, label: str) -> None:
        offered = self.channel.buttons.get(self.log.chat, ())
        payload = next((b.payload for b in offered if b.label == label), None)
        await self.say(label, payload)


class LocalDesk:
    """The local desk's sender (case notices) and the agent's hands on ``Desk``."""

    def __init__(self, by_name: dict[str, ChatLog], counters: Counters) -> None:
        self.by_name = by_name
        self.app: App | None = None
        self.agents = Agents(self, PACE, counters)

    async def send(self, address: str, reply: Reply) -> None:
        if reply.extra.get("kind") == "case_opened" and isinstance(reply.extra.get("case"), int):
            customer = (reply.extra.get("card") or {}).get("customer")
            self.agents.case_opened(reply.extra["case"], self.by_name.get(str(customer)))

    async def reply(self, case: int, text: str) -> None:
        assert self.app is not None
        await self.app.desk.reply(case, AGENT_NAME, text)

    async def resolve(self, case: int) -> None:
        assert self.app is not None
        await self.app.desk.resolve(case, AGENT_NAME, "Answered by the bench")


async def run_local(
    settings: Settings, options: BenchOptions, tag: int, progress: Callable[[int], None]
) -> BenchResult:
    prefix = f"b{tag}-"
    counters = Counters()
    n = options.conversations
    logs = {f"{prefix}{i:06d}": ChatLog(f"{prefix}{i:06d}", customer_name(i)) for i in range(n)}
    channel = BenchChannel(logs)
    desk = LocalDesk({log.name: log for log in logs.values()}, counters)
    gap = n / options.rate if options.rate else 0.0
    pace = dataclasses.replace(WORKERS_PACE if options.workers else PACE, gap=gap)
    async with running_app(settings, senders={CHANNEL: channel, "desk": desk}) as app:
        desk.app = app
        questions = [q for article in app.kb.articles for q in article.questions]
        scripts = build_scripts(questions, n, options.messages, options.seed)
        poll = DELIVERY_POLL if options.workers else POLL_SECONDS
        work = asyncio.create_task(background(app.engine, poll=poll))
        started, cpu = time.monotonic(), cpu_seconds()
        commits = app.engine.inbound
        batches = commits.batches, commits.items
        done = 0

        def step_done() -> None:
            nonlocal done
            done += 1
            progress(done)

        try:
            with profiled(options.profile):
                await asyncio.gather(*(
                    play(log, LocalLine(app, channel, log), script, pace, counters,
                         start_at=started + i / options.rate if options.rate else started,
                         done=step_done)
                    for i, (log, script) in enumerate(zip(logs.values(), scripts, strict=True))
                ))  # fmt: skip
            seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
            batches = commits.batches - batches[0], commits.items - batches[1]
            await desk.agents.idle()
            await app.engine.deliver()
        finally:
            await desk.agents.close()
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
    for failure in desk.agents.failures[:5]:
        logger.warning("bench: the agent failed: %r", failure)
    expected, pending = await end_of_run(settings.database_url, CHANNEL, prefix)
    received = {chat: [seen.key for seen in log.replies] for chat, log in logs.items()}
    latencies: list[float] = []
    unanswered = 0
    for log in logs.values():
        found, missing = log.latencies()
        latencies += found
        unanswered += missing
    return make_result(
        channel="local", database=database_label(settings), workers=options.workers,
        conversations=n, messages=counters.messages, agent_actions=counters.agent_actions,
        seconds=seconds, sustained=counters.sustained(), target_rate=options.rate,
        latencies=latencies,
        replies=sum(len(log.replies) for log in logs.values()),
        tally=compare_all(expected, received, pending), unanswered=unanswered,
        agent_waits_in_vain=counters.agent_waits_in_vain, delivery_retries=0,
        platform_rss_mb=None, bot_cpu_seconds=cpu, platform_cpu_seconds=None,
        batches=None if options.workers else batches,
    )  # fmt: skip
