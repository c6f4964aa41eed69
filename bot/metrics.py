"""``GET /metrics``: this process's figures in Prometheus' text format, beside ``/healthz``.

The figures are read from the process's parts when Prometheus scrapes (a collector), so
a message costs nothing it did not cost before: the group commit already counts its
transactions and what they held, and the outboxes count their sends with an integer.
A scrape reads a few lengths and counters.

| metric | what |
|---|---|
| ``supportbot_heartbeat_age_seconds`` | since this process last wrote its heartbeat |
| ``supportbot_commit_queue`` | messages (and agents' actions) waiting for a transaction |
| ``supportbot_commit_batches_total`` | transactions written by the group commit |
| ``supportbot_committed_total`` | messages and actions they held |
| ``supportbot_outbox_queued{outbox}`` | replies or desk notices in this process's queues |
| ``supportbot_outbox_sent_total{outbox}`` | sent since the process started |
| ``supportbot_outbox_failures_total{outbox}`` | failed tries (each is retried) |
| ``supportbot_outbox_uncertain_total{outbox}`` | given up after two sends with no answer |

and the process's memory, CPU time and open files (``process_*``). Others add their own
(Slack: events acknowledged whose work still runs; a worker: its passes and messages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from bot.delivery import Outbox
from bot.engine import Engine
from bot.health import Heartbeat

CONTENT_TYPE = CONTENT_TYPE_LATEST
Gauge = tuple[str, Callable[[], float]]  # (help text, how to read it)


class Commits(Protocol):
    """A group commit's counts (``bot.group_commit.GroupCommit``)."""

    batches: int
    items: int

    @property
    def waiting(self) -> int: ...


def received(engine: Engine) -> Commits:
    """The group commit a receiving process's messages go through: the inbox's when
    separate workers process them, else the engine's own."""
    return engine.inbox.commits if engine.inbox is not None else engine.inbound


@dataclass(eq=False)  # the registry keeps collectors in a dict: hashed by identity
class Figures(Collector):
    """What one running process shows Prometheus."""

    heartbeat: Heartbeat
    commits: Commits | None  # a worker's messages are not group-committed
    outboxes: Mapping[str, Outbox]
    gauges: Mapping[str, Gauge] = field(default_factory=dict)
    counters: Mapping[str, Gauge] = field(default_factory=dict)  # named without _total

    def collect(self) -> Iterator[Metric]:
        age = self.heartbeat.age()
        yield GaugeMetricFamily("supportbot_heartbeat_age_seconds",
                                "Seconds since this process last wrote its heartbeat.",
                                value=float("nan") if age is None else age)  # fmt: skip
        if (commits := self.commits) is not None:
            yield GaugeMetricFamily("supportbot_commit_queue",
                                    "Messages and actions waiting for a transaction.",
                                    value=commits.waiting)  # fmt: skip
            yield CounterMetricFamily("supportbot_commit_batches",
                                      "Transactions written by the group commit.",
                                      value=commits.batches)  # fmt: skip
            yield CounterMetricFamily("supportbot_committed", "Messages and actions committed.",
                                      value=commits.items)  # fmt: skip
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "queued": GaugeMetricFamily("supportbot_outbox_queued",
                                        "Messages in this process's send queues.",
                                        labels=["outbox"]),
            "sent": CounterMetricFamily("supportbot_outbox_sent", "Messages sent.",
                                        labels=["outbox"]),
            "failures": CounterMetricFamily("supportbot_outbox_failures",
                                            "Failed sends (each is tried again).",
                                            labels=["outbox"]),
            "uncertain": CounterMetricFamily("supportbot_outbox_uncertain",
                                             "Messages given up after two sends with no answer.",
                                             labels=["outbox"]),
        }  # fmt: skip
        for name, outbox in self.outboxes.items():
            tally = outbox.tally
            families["queued"].add_metric([name], outbox.queued())
            families["sent"].add_metric([name], tally.sent)
            families["failures"].add_metric([name], tally.failures)
            families["uncertain"].add_metric([name], tally.uncertain)
        yield from families.values()
        for name, (text, read) in self.gauges.items():
            yield GaugeMetricFamily(name, text, value=read())
        for name, (text, read) in self.counters.items():
            yield CounterMetricFamily(name, text, value=read())


def exposition(figures: Figures) -> Callable[[], bytes]:
    """The text a scrape gets: these figures and the process's own (memory, CPU)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(figures)
    ProcessCollector(registry=registry)
    return lambda: generate_latest(registry)
