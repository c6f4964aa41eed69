"""A knowledge base that follows its folder: edits go live without a restart.

``LiveKnowledgeBase`` is a ``KnowledgeBase`` (the engine and the dialogue keep using
it unchanged) that, at most every ``interval`` seconds and only when asked
something, compares the folder's file names, sizes and modification times with
the last load.  On a change it loads the folder again and swaps the new index in.

A broken edit never takes an answer away: an article whose file is now broken (or
unreadable) keeps being served in its last good version, and a folder that
vanished or lost every article keeps the whole last good knowledge base.  Each such
problem is reported once per change through ``report`` (the bot logs it).

With ``background=True`` the reload runs in a thread, so a big knowledge base never
stalls the event loop; the old index answers until the new one is ready.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from knowledge_base.articles import Article, ArticleProblem
from knowledge_base.matcher import KnowledgeBase, SearchResult, Thresholds, load_knowledge_base
from knowledge_base.ranker import Ranked
from knowledge_base.records import Query
from knowledge_base.synonyms import SYNONYMS_FILE, Synonyms
from knowledge_base.vectors import SentenceModel

Signature = tuple[tuple[str, int, int], ...]
Report = Callable[[str, ArticleProblem | None], None]


def folder_signature(directory: Path) -> Signature:
    """Name, size and mtime of every file the knowledge base is built from, sorted by
    name; none for a folder that is not there (the load says why). ``os.scandir`` and
    string names: with 1,500 articles, globbing and sorting ``Path`` objects took 20-35
    ms, this about 8."""
    entries = []
    try:
        listing = os.scandir(directory)
    except OSError:
        return ()
    with listing:
        for entry in listing:
            if not (entry.name.endswith(".md") or entry.name == SYNONYMS_FILE):
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    entries.sort()
    return tuple(entries)


class LiveKnowledgeBase(KnowledgeBase):
    """Serves the last good version of the folder, reloading it when files change."""

    def __init__(
        self,
        directory: Path,
        thresholds: Thresholds = Thresholds(),  # noqa: B008  (immutable)
        categories: Collection[str] | None = None,
        *,
        interval: float = 2.0,
        report: Report | None = None,
        background: bool = False,
        semantic: SentenceModel | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # No super().__init__: every public member delegates to the current version.
        self.directory = Path(directory)
        self._thresholds = thresholds
        self._categories = categories
        self._interval, self._clock, self._background = interval, clock, background
        self._semantic = semantic
        self._report: Report = report or (lambda message, problem: None)
        self._lock = threading.Lock()
        self._reloading = False
        self._signature = folder_signature(self.directory)
        self._current, self.problems = load_knowledge_base(
            self.directory, thresholds, categories, semantic=semantic
        )
        # The interval counts from the end of the load (seconds for a big folder), so
        # start-up's own questions (``len(kb)``) do not start a look at once; an edit
        # made during the load still differs from the signature taken before it.
        self._checked = clock()
        self.version = 1

    # --- the KnowledgeBase interface, always on the current version ---------------
    @property
    def current(self) -> KnowledgeBase:
        self.refresh()
        return self._current

    @property
    def articles(self) -> tuple[Article, ...]:
        return self.current.articles

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    @property
    def has_public(self) -> bool:
        return self.current.has_public

    def __len__(self) -> int:
        return len(self.current)

    def get(self, article_id: str) -> Article | None:
        return self.current.get(article_id)

    def search(self, query: str, *, limit: int = 5, exclude: Collection[str] = ()) -> SearchResult:
        return self.current.search(query, limit=limit, exclude=exclude)

    def rank(self, query: str, *, limit: int = 5, exclude: Collection[str] = ()) -> list[Ranked]:
        return self.current.rank(query, limit=limit, exclude=exclude)

    def analyse(self, query: str) -> Query:
        return self.current.analyse(query)

    def index_vocabulary(self) -> frozenset[str]:
        return self.current.index_vocabulary()

    @property
    def synonyms(self) -> Synonyms:  # type: ignore[override]
        return self.current.synonyms

    # --- reloading ----------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> bool:
        """Look for changed files (at most every ``interval`` seconds) and reload.

        In the background (``background=True``) both the look and the reload run in a
        thread: listing a big folder takes milliseconds that the event loop's other
        customers would wait for. Returns True when that thread was started, or, in the
        foreground, when a reload was done.
        """
        now = self._clock()
        if not force and now - self._checked < self._interval:
            return False
        self._checked = now
        with self._lock:
            if self._reloading:
                return False
            self._reloading = True
        if self._background:
            threading.Thread(target=self._check, daemon=True).start()
            return True
        return self._check()

    def _check(self) -> bool:
        try:
            signature = folder_signature(self.directory)
            if signature == self._signature:
                return False
            self._swap(signature)
            return True
        finally:
            with self._lock:
                self._reloading = False

    def _swap(self, signature: Signature) -> None:
        try:
            fresh, problems = load_knowledge_base(
                self.directory, self._thresholds, self._categories, semantic=self._semantic
            )
        except OSError as exc:
            self._report(f"cannot read the folder, keeping the last good version: {exc}", None)
            self._signature = signature
            return
        kept = self._last_good(fresh.articles, problems)
        for problem in problems:
            self._report(str(problem), problem)
        if not fresh.articles and not kept:
            self._report("no usable article after the edit, keeping the last good version", None)
            self._signature = signature
            return
        if kept:
            names = ", ".join(a.id for a in kept)
            self._report(f"serving the last good version of: {names}", None)
            fresh = KnowledgeBase(
                [*fresh.articles, *kept],
                self._thresholds,
                synonyms=fresh.synonyms,
                semantic=self._semantic,
            )
        self._current, self.problems = fresh, problems
        self._signature = signature
        self.version += 1

    def _last_good(
        self, loaded: Iterable[Article], problems: list[ArticleProblem]
    ) -> list[Article]:
        """Previous versions of articles whose files now fail to load."""
        broken = {p.path.name for p in problems if p.severity == "error"}
        ids = {a.id for a in loaded}
        return [
            article
            for article in self._current.articles
            if article.path is not None and article.path.name in broken and article.id not in ids
        ]
