"""``supportbot bench``: tiny runs of each channel through the real stack, the checker
that counts lost, duplicated and reordered replies, and the command line.

No timing is asserted: a run on a busy machine is slow, not wrong. What must hold on
any machine is that every reply arrived exactly once and in order, and that every figure
the table and the JSON promise is there.
"""

from __future__ import annotations

import asyncio
import json
import pstats
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from bot.app import running_app
from bot.bench.actors import Counters, reply_key
from bot.bench.check import Tally, compare, compare_all, end_of_run
from bot.bench.options import BENCH_LOCK, BenchOptions, alone_on
from bot.bench.results import BenchResult
from bot.bench.run import run_bench
from bot.bench.scripts import build_scripts, customer_name, typo
from bot.cli import app
from bot.errors import ConfigError
from bot.messages import Message
from bot.settings import Settings
from bot.storage.db import create_engine
from bot.storage.models import Conversation, FollowUp
from tests.conftest import Clock, Recorder, fresh_postgres_database, make_settings

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {
    "channel", "database", "workers", "conversations", "messages", "agent_actions", "seconds",
    "messages_per_second", "sustained_messages_per_second", "target_rate", "p50_ms", "p95_ms",
    "p99_ms", "max_ms", "replies",
    "lost", "duplicated", "out_of_order", "unexpected", "pending", "unanswered",
    "agent_waits_in_vain", "delivery_retries", "peak_rss_mb_bot", "peak_rss_mb_platform",
    "cpu_percent_bot", "cpu_ms_per_message_bot", "cpu_percent_platform", "peak_rss_mb_workers",
    "cpu_percent_workers", "workers_killed", "mean_batch",
}  # fmt: skip


def tiny(channel: str, **extra: object) -> BenchOptions:
    return BenchOptions(channel=channel, conversations=5, messages=6, seed=3, progress=False,
                        **extra)  # fmt: skip


def assert_clean(result: BenchResult) -> None:
    assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 0), result
    assert (result.unexpected, result.pending) == (0, 0), result
    assert result.messages == 5 * 6
    assert result.replies > result.messages // 2
    assert set(result.as_dict()) == FIELDS


@pytest.mark.parametrize("channel", ["local", "telegram", "slack"])
async def test_a_tiny_run_delivers_every_reply_once_and_in_order(
    settings: Settings, channel: str
) -> None:
    result = await run_bench(settings, tiny(channel), database_url=settings.database_url)

    assert_clean(result)
    assert result.channel == channel
    assert result.agent_actions > 0  # seed 3 has customers who ask for a person
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    assert result.peak_rss_mb_bot > 0
    assert result.cpu_ms_per_message_bot > 0
    assert result.sustained_messages_per_second > 0
    assert result.mean_batch is not None and result.mean_batch >= 1  # one process commits
    if channel == "local":
        assert result.peak_rss_mb_platform is None
    else:  # the fake platform is another process, and a small one
        assert result.peak_rss_mb_platform is not None
        assert 0 < result.peak_rss_mb_platform < result.peak_rss_mb_bot


async def test_a_run_leaves_nothing_that_fires_during_the_next_one(settings: Settings) -> None:
    """Runs may share a database: the customers of one must not idle out, get their
    follow-ups or remind agents of SLAs while the next one measures."""
    result = await run_bench(settings, tiny("local"), database_url=settings.database_url)
    assert_clean(result)
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            states = set((await conn.scalars(select(Conversation.state))).all())
            timers = await conn.scalar(
                select(func.count()).where(FollowUp.status == "pending")
            )  # fmt: skip
    finally:
        await engine.dispose()
    assert states == {"closed"}
    assert timers == 0


@pytest.mark.parametrize("channel", ["local", "telegram"])
async def test_worker_processes_answer_and_one_killed_halfway_costs_nothing(
    tmp_path: Path, channel: str
) -> None:
    """``--workers 2 --kill-worker``: the bench's process only receives; two real
    ``supportbot worker`` processes run the dialogue on PostgreSQL, and one of them is
    SIGKILLed halfway and started again. Every reply still arrives once and in order."""
    async with fresh_postgres_database(migrated=True) as url:
        settings = make_settings(tmp_path).model_copy(update={"database_url": url})
        options = tiny(channel, workers=2, kill_worker=True)
        result = await run_bench(settings, options, database_url=url)

    assert_clean(result)
    assert (result.workers, result.workers_killed) == (2, 1)
    assert result.mean_batch is None  # the workers commit, in processes of their own
    assert result.peak_rss_mb_workers is not None and result.peak_rss_mb_workers > 0
    assert result.cpu_percent_workers is not None and result.cpu_percent_workers > 0


async def test_a_second_run_on_a_database_in_use_is_refused(tmp_path: Path) -> None:
    """Two runs at once on one database would each deliver what the other left pending,
    and each would report those replies lost."""
    async with fresh_postgres_database(migrated=True) as url:
        settings = make_settings(tmp_path).model_copy(update={"database_url": url})
        engine = create_engine(url)
        try:
            async with engine.connect() as running:  # the first run holds the database
                await running.execute(text("SELECT pg_advisory_lock(:k)"), {"k": BENCH_LOCK})
                with pytest.raises(ConfigError, match="another supportbot bench is running"):
                    await run_bench(settings, tiny("local"), database_url=url)
        finally:
            await engine.dispose()
        result = await run_bench(settings, tiny("local"), database_url=url)  # it ended
    assert_clean(result)


async def test_a_run_longer_than_the_idle_transaction_timeout_keeps_its_lock(
    tmp_path: Path,
) -> None:
    """PostgreSQL ends a connection idle in a transaction after
    ``idle_transaction_seconds``; the run's lock must not sit in one, or a run of more
    than a minute lost its lock to the server and crashed at its end."""
    async with fresh_postgres_database(migrated=True) as url:
        settings = make_settings(tmp_path).model_copy(
            update={"database_url": url, "idle_transaction_seconds": 1.0}
        )
        engine = create_engine(url)
        try:
            async with alone_on(settings), engine.connect() as other:
                await asyncio.sleep(2.0)  # the server's timeout went by
                taken = await other.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                           {"k": BENCH_LOCK})  # fmt: skip
                assert taken is False  # still the run's
        finally:
            await engine.dispose()


async def test_a_target_rate_is_kept_and_reported(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    result = await run_bench(settings, tiny("local", rate=10.0),
                             database_url=settings.database_url)  # fmt: skip

    assert_clean(result)
    assert result.target_rate == 10.0
    assert result.messages_per_second <= 10.0 * 1.5  # never faster than asked (plus jitter)
    assert result.sustained_messages_per_second <= 10.0 * 1.5


def test_the_sustained_rate_leaves_out_a_slow_drain_and_a_burst_at_the_start() -> None:
    burst = [0.0] * 30  # every customer's greeting at the same instant
    steady = [1.0 + i / 100 for i in range(900)]  # 100 messages/s for 9 s
    drain = [10.0 + i for i in range(30)]  # the last few, one a second, waiting on agents
    counters = Counters(sent_at=burst + steady + drain)

    assert counters.messages == 960
    assert counters.sustained() == pytest.approx(100.0, rel=0.01)
    assert 960 / 39.0 < 30  # where the whole run's rate would have put it


def test_a_run_too_short_for_a_middle_takes_all_of_it() -> None:
    assert Counters(sent_at=[0.0, 0.5, 1.0, 2.0]).sustained() == 1.5
    assert Counters(sent_at=[3.0]).sustained() == 0.0
    assert Counters().sustained() == 0.0


def test_the_command_prints_json_and_exits_0_when_all_is_well(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    outcome = CliRunner().invoke(app, ["bench", "--conversations", "3", "--messages", "4",
                                       "--database-url", url, "--json"])  # fmt: skip

    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.stdout.strip().splitlines()[-1])
    assert set(result) == FIELDS
    assert (result["lost"], result["duplicated"], result["out_of_order"]) == (0, 0, 0)
    assert result["channel"] == "local" and result["messages"] == 12


def test_the_command_prints_a_table_and_can_profile_the_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    profile = tmp_path / "bench.prof"
    args = ["bench", "--conversations", "2", "--messages", "3", "--database-url", url]
    outcome = CliRunner().invoke(app, [*args, "--profile", str(profile)])

    assert outcome.exit_code == 0, outcome.output
    for row in ("messages/s sustained", "latency p50 / p95 / p99", "lost / duplicated / out"):
        assert row in outcome.stdout
    calls = pstats.Stats(str(profile)).get_stats_profile().func_profiles
    assert any(name == "handle_message" for name in calls)  # the engine's work is in it


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "2"], "--workers needs --database-url postgresql+asyncpg://"),
        (["--kill-worker"], "--kill-worker needs --workers 1 or more"),
        (["--channel", "whatsapp"], "--channel must be one of local, telegram, slack"),
        (["--rate", "0"], "--rate must be a positive number"),
        (["--database-url", "postgresql://x/y"], "--database-url must start with sqlite+aio"),
    ],
)
def test_options_that_cannot_run_are_refused_with_one_line(args: list[str], says: str) -> None:
    outcome = CliRunner().invoke(app, ["bench", *args])

    assert outcome.exit_code == 2
    assert says in outcome.output


def test_the_fake_platform_process_loads_neither_the_bot_nor_a_platform_library() -> None:
    """It is a separate process so the bot's memory and CPU are measured alone."""
    probe = (
        "import sys, bot.bench.fake.process, bot.bench.fake.telegram, bot.bench.fake.slack; "
        "heavy = {'aiogram', 'slack_bolt', 'slack_sdk', 'sqlalchemy', 'knowledge_base', 'rich'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
        "or (m.startswith('bot.') and not m.startswith('bot.bench'))))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, cwd=ROOT)  # fmt: skip
    assert found.stdout.strip() == "[]"


# the checker ---------------------------------------------------------------------


def keys(*texts: str) -> list[str]:
    return [reply_key(t) for t in texts]


def test_the_checker_counts_nothing_when_everything_arrived_in_order() -> None:
    sent = keys("Hello", "Did this solve your issue?", "Thanks", "Did this solve your issue?")
    assert compare(sent, list(sent)) == Tally()


def test_the_checker_sees_lost_duplicated_reordered_and_unexpected_replies() -> None:
    a, b, c, d = keys("first", "second", "third", "fourth")
    assert compare([a, b, c], [a, c]) == Tally(lost=1)
    assert compare([a, b, c], [a, b, b, c]) == Tally(duplicated=1)
    assert compare([a, b, c, d], [a, c, b, d]) == Tally(out_of_order=1)
    assert compare([a, b], [a, b, d]) == Tally(unexpected=1)
    # the second of two identical replies is a reply of its own
    assert compare([a, b, a], [a, b]) == Tally(lost=1)


def test_formatting_does_not_count_as_a_different_reply() -> None:
    assert reply_key("**Refunds** take 5 days & more.") == reply_key(
        "*Refunds* take 5 days & more."
    )
    assert reply_key("Refunds take 5 days") != reply_key("Refunds take 6 days")
    # the same with letters beyond ASCII (another way through)
    assert reply_key("**Café** · _über_ 5 días.") == reply_key("café über 5 DÍAS")
    assert reply_key("Café 5") != reply_key("Cafe 5")


def test_the_checker_adds_up_conversations_and_pending_replies() -> None:
    a, b = keys("one", "two")
    total = compare_all({"c1": [a, b], "c2": [a]}, {"c1": [a], "c2": [a], "c3": [b]}, pending=1)
    assert total == Tally(lost=1, unexpected=1, pending=1)


async def test_a_desk_notice_left_pending_for_a_case_of_this_run_counts_as_pending(
    settings: Settings, clock: Clock
) -> None:
    # Agents wait for the card of a case; one the desk never got is not a clean run.
    async with running_app(settings, senders={"bench": Recorder()}, now=clock) as bot:
        for chat in ("b123-1", "b999-1"):  # this run's customer, and an earlier run's
            await bot.engine.handle_message(Message("bench", chat, chat, "I want a human",
                                                    message_id=f"{chat}-m1"))  # fmt: skip
        async with bot.repo.transaction() as tx:
            on_desk = len(await tx.pending_outbox(["desk"]))
    assert on_desk >= 2  # no desk here: its notices wait
    expected, pending = await end_of_run(settings.database_url, "bench", "b123-")
    assert list(expected) == ["b123-1"]
    assert pending == on_desk // 2


# scripts ---------------------------------------------------------------------------


def test_scripts_have_the_asked_length_and_repeat_with_the_seed() -> None:
    questions = ["Where is my parcel?", "How do I reset my password?", "Can I get a refund?"]
    scripts = build_scripts(questions, 40, 7, seed=5)

    assert build_scripts(questions, 40, 7, seed=5) == scripts
    assert all(len(s) == 7 and s[0].kind == "say" for s in scripts)
    kinds = {step.kind for script in scripts for step in script}
    assert kinds == {"say", "answer", "escalate"}
    assert any(step.text == "No" for script in scripts for step in script)


def test_names_are_one_word_and_unique_and_typos_keep_the_letters() -> None:
    names = [customer_name(i) for i in range(100)]
    assert len(set(names)) == 100 and all(" " not in n for n in names)
    changed = typo("Where is my parcel?", random.Random(1))
    assert changed != "Where is my parcel?" and sorted(changed) == sorted("Where is my parcel?")
