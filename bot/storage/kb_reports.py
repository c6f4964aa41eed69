"""Read-only reports on knowledge-base use, for ``supportbot kb gaps`` and ``kb stats``.

Every lookup the dialogue makes is a ``kb_queries`` row (query, article, decision,
outcome) and every escalated case lists the articles it tried.  The SQL lives here
so the editors' commands stay free of storage details; the same queries run on
SQLite and PostgreSQL (``articles_tried`` is JSON, so it is read, not queried).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Case, KbQuery

# Decisions under which an article was actually shown as the answer.
SHOWN = ("answer", "choice", "next")
# Outcomes that mean the knowledge base did not help.
UNHELPED = ("unanswered", "rejected")


@dataclass(frozen=True)
class Unhelped:
    """A customer question the bot could not answer, or whose answer was rejected."""

    query: str
    outcome: str
    article_id: str | None
    created_at: datetime


@dataclass
class ArticleUse:
    """How one article fared: shown, confirmed, rejected, and cases opened after it."""

    article_id: str
    suggested: int = 0
    accepted: int = 0
    rejected: int = 0
    escalated_after: int = 0


async def unhelped_questions(session: AsyncSession, since: datetime) -> list[Unhelped]:
    """Unanswered or rejected lookups since ``since``, oldest first."""
    stmt = (
        select(KbQuery.query, KbQuery.outcome, KbQuery.article_id, KbQuery.created_at)
        .where(KbQuery.created_at >= since, KbQuery.outcome.in_(UNHELPED))
        .order_by(KbQuery.created_at, KbQuery.id)
    )
    rows = (await session.execute(stmt)).all()
    return [Unhelped(r.query, r.outcome, r.article_id, r.created_at) for r in rows]


async def article_use(session: AsyncSession, since: datetime) -> list[ArticleUse]:
    """Per article since ``since``; most suggested first."""

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    stmt = (
        select(
            KbQuery.article_id,
            count(KbQuery.decision.in_(SHOWN)),
            count(KbQuery.outcome == "accepted"),
            count(KbQuery.outcome == "rejected"),
        )
        .where(KbQuery.created_at >= since, KbQuery.article_id.is_not(None))
        .group_by(KbQuery.article_id)
    )
    uses: dict[str, ArticleUse] = {}
    for article_id, suggested, accepted, rejected in (await session.execute(stmt)).all():
        if article_id is not None:
            uses[article_id] = ArticleUse(article_id, int(suggested), int(accepted), int(rejected))
    cases = select(Case.details).where(Case.created_at >= since)
    for (details,) in (await session.execute(cases)).all():
        tried = (details or {}).get("articles_tried") or []
        for article_id in dict.fromkeys(str(a) for a in tried):
            uses.setdefault(article_id, ArticleUse(article_id)).escalated_after += 1
    return sorted(uses.values(), key=lambda u: (-u.suggested, u.article_id))
