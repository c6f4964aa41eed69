"""Knowledge base: Markdown articles, text normalisation and question matching.

The bot asks ``KnowledgeBase.search`` what to do with a customer's message and gets
back a ``SearchResult`` with a ``Decision`` (answer, clarify or none).  Matching:
``terms``/``synonyms`` (what counts as the same word), ``index`` (lexical evidence
and static word vectors, ``vectors``), ``ranker`` (one calibrated score); the bot
serves a ``live.LiveKnowledgeBase`` that follows edits.  Editors' tools:
``validate``, ``importer``, ``explain``, ``clusters``, ``tuning`` (the sentence model
adapted to the articles).  See docs/knowledge_base.md.
"""

from pathlib import Path

from knowledge_base.articles import Article, ArticleProblem, load_articles
from knowledge_base.matcher import (
    Decision,
    KnowledgeBase,
    Match,
    SearchResult,
    Thresholds,
    load_knowledge_base,
)
from knowledge_base.normalize import normalize

SAMPLE_DIR: Path = Path(__file__).parent / "sample"
"""The bundled sample knowledge base, for demos, tests and as a starting point."""

__all__ = [
    "SAMPLE_DIR",
    "Article",
    "ArticleProblem",
    "Decision",
    "KnowledgeBase",
    "Match",
    "SearchResult",
    "Thresholds",
    "load_articles",
    "load_knowledge_base",
    "normalize",
]
