"""What a bench run reports, as a table or JSON, and the measurements behind it.

Latency percentiles are over causes (a customer's message, an agent's action) that got
at least one reply, from the moment the cause was sent to its last reply being accepted
(see ``actors``). Memory is the peak resident set (``VmHWM``) of each process: the bot's,
which for the local channel is the only one, and the fake platform's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.bench.check import Tally
from bot.bench.usage import peak_rss_mb


@dataclass(frozen=True)
class BenchResult:
    channel: str
    database: str
    workers: int
    conversations: int
    messages: int  # customer messages sent
    agent_actions: int
    seconds: float
    # customer messages / seconds from the first message to the last customer's last
    # answer, ends included; the sustained rate leaves out the start and the drain
    messages_per_second: float
    sustained_messages_per_second: float  # from the 5th to the 95th percentile message
    target_rate: float | None
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    replies: int  # replies the customers received
    lost: int
    duplicated: int
    out_of_order: int
    unexpected: int
    pending: int
    unanswered: int  # causes that got no reply at all (e.g. relayed to an agent)
    agent_waits_in_vain: int  # told a case was opened, no agent started within 30 s
    delivery_retries: int  # webhook deliveries the platform had to repeat
    peak_rss_mb_bot: float
    peak_rss_mb_platform: float | None
    cpu_percent_bot: float  # CPU time over wall time while the customers wrote
    # the bot process's CPU time per customer message: steadier than messages/s when
    # something else shares the machine (compare runs with it)
    cpu_ms_per_message_bot: float
    cpu_percent_platform: float | None
    peak_rss_mb_workers: float | None = None  # the largest worker process (--workers N)
    cpu_percent_workers: float | None = None  # all workers together (200% = two cores)
    workers_killed: int | None = None  # SIGKILLed and restarted during the run (--kill-worker)
    # customers' messages and agents' actions per group-commit transaction in the bot's
    # process while the customers wrote (None with --workers: the workers commit)
    mean_batch: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def correct(self) -> bool:
        """Every reply arrived once and in order, and nothing was left pending (a desk
        notice about this run's cases included: agents wait for those)."""
        counts = (self.lost, self.duplicated, self.out_of_order, self.unexpected, self.pending)
        return not any(counts)


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def make_result(
    *, channel: str, database: str, workers: int, conversations: int, messages: int,
    agent_actions: int, seconds: float, sustained: float, target_rate: float | None,
    latencies: Sequence[float],
    replies: int, tally: Tally, unanswered: int, agent_waits_in_vain: int,
    delivery_retries: int, platform_rss_mb: float | None, bot_cpu_seconds: float,
    platform_cpu_seconds: float | None, batches: tuple[int, int] | None = None,
) -> BenchResult:  # fmt: skip
    ordered = sorted(latencies)

    def busy(cpu: float) -> float:
        return round(100 * cpu / seconds, 1) if seconds > 0 else 0.0

    def ms(p: float) -> float:
        return round(1000 * percentile(ordered, p), 1)

    return BenchResult(
        channel=channel, database=database, workers=workers, conversations=conversations,
        messages=messages, agent_actions=agent_actions, seconds=round(seconds, 2),
        messages_per_second=round(messages / seconds, 1) if seconds > 0 else 0.0,
        sustained_messages_per_second=sustained,
        target_rate=target_rate, p50_ms=ms(0.50), p95_ms=ms(0.95), p99_ms=ms(0.99),
        max_ms=round(1000 * ordered[-1], 1) if ordered else 0.0, replies=replies,
        lost=tally.lost, duplicated=tally.duplicated, out_of_order=tally.out_of_order,
        unexpected=tally.unexpected, pending=tally.pending, unanswered=unanswered,
        agent_waits_in_vain=agent_waits_in_vain, delivery_retries=delivery_retries,
        peak_rss_mb_bot=peak_rss_mb(), peak_rss_mb_platform=platform_rss_mb,
        cpu_percent_bot=busy(bot_cpu_seconds),
        cpu_ms_per_message_bot=round(1000 * bot_cpu_seconds / messages, 2) if messages else 0.0,
        cpu_percent_platform=None if platform_cpu_seconds is None else busy(platform_cpu_seconds),
        mean_batch=round(batches[1] / batches[0], 1) if batches and batches[0] else None,
    )  # fmt: skip


ROWS = (
    ("messages/s sustained (5th to 95th percentile message)", "sustained_messages_per_second"),
    ("messages/s over the whole run", "messages_per_second"),
    ("target rate (messages/s)", "target_rate"),
    ("latency p50 / p95 / p99 / max (ms)", None),
    ("conversations x messages", None),
    ("agent actions", "agent_actions"),
    ("seconds", "seconds"),
    ("replies received", "replies"),
    ("lost / duplicated / out of order", None),
    ("unexpected / still pending", None),
    ("causes without a reply", "unanswered"),
    ("customers handed over who gave up on the agent", "agent_waits_in_vain"),
    ("webhook deliveries repeated", "delivery_retries"),
    ("peak memory, bot process (MB)", "peak_rss_mb_bot"),
    ("peak memory, fake platform process (MB)", "peak_rss_mb_platform"),
    ("CPU busy, bot process (%)", "cpu_percent_bot"),
    ("CPU per customer message, bot process (ms)", "cpu_ms_per_message_bot"),
    ("CPU busy, fake platform process (%)", "cpu_percent_platform"),
    ("peak memory, largest worker process (MB)", "peak_rss_mb_workers"),
    ("CPU busy, all worker processes (%)", "cpu_percent_workers"),
    ("workers killed with SIGKILL and restarted", "workers_killed"),
    ("messages and agents' actions per transaction (mean)", "mean_batch"),
)


def render_table(result: BenchResult, console: Console | None = None) -> None:
    r = result
    combined = {
        "latency p50 / p95 / p99 / max (ms)": f"{r.p50_ms} / {r.p95_ms} / {r.p99_ms} / {r.max_ms}",
        "conversations x messages": f"{r.conversations} x {r.messages // max(1, r.conversations)}",
        "lost / duplicated / out of order": f"{r.lost} / {r.duplicated} / {r.out_of_order}",
        "unexpected / still pending": f"{r.unexpected} / {r.pending}",
    }
    how = f"{r.workers} worker process(es)" if r.workers else "one process"
    title = f"supportbot bench: {r.channel} channel, {r.database}, {how}"
    table = Table("measure", "value", title=title)
    values = r.as_dict()
    for label, key in ROWS:
        value = combined[label] if key is None else values[key]
        if value is not None:
            table.add_row(label, str(value))
    (console or Console()).print(table)
    if not r.correct:
        (console or Console()).print("[bold red]Replies were lost, repeated or reordered.[/]")


def render_json(result: BenchResult) -> str:
    return json.dumps(result.as_dict())
