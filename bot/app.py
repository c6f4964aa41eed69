"""Composition root: settings in, a ready engine out. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import heap, loggers
from bot.delivery import Outbox, Sender
from bot.dialogue import Context
from bot.engine import Engine
from bot.errors import ConfigError, DatabaseUnavailable, KnowledgeBaseError
from bot.inbox import Inbox
from bot.settings import Settings
from bot.storage.db import create_engine, current_revision, is_sqlite, safe_url, upgrade
from bot.storage.repository import Repository
from bot.verification import build_verifier
from handoff.service import Desk
from knowledge_base import SAMPLE_DIR, KnowledgeBase, Thresholds
from knowledge_base.articles import CATEGORIES, Article

if TYPE_CHECKING:
    from knowledge_base.semantic import MiniLM


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    repo: Repository
    kb: KnowledgeBase
    engine: Engine
    desk: Desk


def load_kb(settings: Settings) -> KnowledgeBase:
    """Load the articles; bad ones are reported and skipped, none at all is an error.

    The result follows the folder: edited articles are served without a restart
    (checked at most every 2 seconds, reloaded in a background thread), and a broken
    edit keeps the last good version serving and is logged. ``kb_ranker = "semantic"``
    (or ``SUPPORTBOT_KB_RANKER=semantic``) uses the sentence-model ranker, which needs
    ``pip install -e '.[semantic]'``.
    """
    from knowledge_base.articles import ArticleProblem
    from knowledge_base.live import LiveKnowledgeBase

    path = settings.kb_path or SAMPLE_DIR
    a = settings.answers
    thresholds = Thresholds(answer=a.answer_threshold, clarify=a.clarify_threshold, margin=a.margin)
    semantic = None
    if settings.kb_ranker == "semantic":
        from knowledge_base.semantic import load_sentence_model

        try:
            semantic = load_sentence_model(settings.kb_model)
        except (ImportError, OSError) as exc:
            raise KnowledgeBaseError(f"semantic ranker unavailable: {exc}") from None

    def report(message: str, problem: ArticleProblem | None) -> None:
        warn = problem is None or problem.severity == "error"
        (loggers.engine.warning if warn else loggers.engine.info)("knowledge base: %s", message)

    try:
        kb = LiveKnowledgeBase(
            path, thresholds, CATEGORIES, report=report, background=True, semantic=semantic
        )
    except (FileNotFoundError, NotADirectoryError):
        raise KnowledgeBaseError(f"knowledge base folder {path} does not exist") from None
    for problem in kb.problems:
        report(str(problem), problem)
    if len(kb) == 0:
        raise KnowledgeBaseError(f"knowledge base folder {path} has no usable article")
    _report_model(settings, kb.articles, semantic)
    return kb


def _report_model(settings: Settings, articles: Sequence[Article], semantic: MiniLM | None) -> None:
    """Say which sentence model ranks, and when a tuned one has fallen behind the edits."""
    from knowledge_base.tuning import read_manifest

    if semantic is None:
        if read_manifest(settings.kb_model) is not None:
            loggers.engine.info(
                "knowledge base: the tuned model in %s is not used (kb_ranker is %s)",
                settings.kb_model,
                settings.kb_ranker,
            )
        return
    manifest = semantic.manifest
    if manifest is None:
        loggers.engine.info(
            "knowledge base: semantic ranker with the packaged model "
            "(`supportbot kb tune` adapts it to the articles)"
        )
        return
    changed = manifest.changed_since(articles)
    loggers.engine.info(
        "knowledge base: semantic ranker with the model tuned on %s (%s); "
        "%d of %d articles new or edited since%s",
        manifest.created,
        settings.kb_model,
        changed,
        len(articles),
        "; `supportbot kb tune` brings it up to date" if changed else "",
    )


async def open_repository(settings: Settings) -> Repository:
    """Open the database; SQLite is migrated in place, PostgreSQL must be upgraded first."""
    engine = create_engine(
        settings.database_url,
        busy_timeout_ms=settings.busy_timeout_ms,
        synchronous=settings.sqlite_synchronous,
        idle_transaction_seconds=settings.idle_transaction_seconds,
    )
    try:
        if is_sqlite(settings.database_url):
            await upgrade(engine)
        else:
            from bot.storage.db import MIGRATIONS  # noqa: F401  (same migrations, run explicitly)

            if await current_revision(engine) is None:
                msg = (
                    f"the database {safe_url(settings.database_url)} has no schema; "
                    "run `supportbot db upgrade` first"
                )
                raise DatabaseUnavailable(msg)
    except BaseException:
        await engine.dispose()
        raise
    return Repository(engine)


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    senders: Mapping[str, Sender] | None = None,
    address: str | None = None,
    now: Callable[[], datetime] = utc_now,
) -> AsyncIterator[App]:
    kb = load_kb(settings)
    verifier = build_verifier(settings.verification.orders_file)
    repo = await open_repository(settings)
    outbox = Outbox(repo, senders, now, address=address) if senders else None
    ctx = Context(settings=settings, kb=kb, verifier=verifier, now=now)
    engine = Engine(ctx, repo, desk=settings.desk, outbox=outbox)
    if settings.processing == "workers":
        if is_sqlite(settings.database_url):
            await repo.close()
            raise ConfigError("processing: 'workers' needs PostgreSQL (SQLite has one writer)")
        engine.inbox = Inbox(repo, now, lanes=settings.commit_lanes)
    heap.settle()
    try:
        yield App(settings, repo, kb, engine, Desk(engine))
    finally:
        await engine.close()
        if engine.inbox is not None:
            await engine.inbox.close()
        if outbox is not None:
            await outbox.close()
        await repo.close()
