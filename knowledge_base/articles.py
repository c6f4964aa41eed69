"""Loading knowledge-base articles from a folder of Markdown files.

Articles are written by support staff, not programmers, so a broken file must never
take the bot down: every problem is reported as an ``ArticleProblem`` (naming the file
and the field) and only that article is skipped.  Only a missing folder raises,
because then there is nothing to serve at all.

File format::

    ---
    id: refund-policy
    title: Refund policy
    category: returns_refunds
    questions:
      - What is your refund policy?
    tags: [refund]            # optional
    links: [request-refund]   # optional, ids of related articles
    ---
    The answer, in Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from knowledge_base.frontmatter import FrontMatterError, split_front_matter

# The issue categories of the support SOPs' troubleshooting guide; pass them as
# ``categories`` to reject articles filed anywhere else.
CATEGORIES: tuple[str, ...] = (
    "product_malfunction",
    "billing",
    "account",
    "returns_refunds",
    "shipping",
    "technical",
    "legal",
    "other",
)
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_KNOWN_FIELDS = frozenset({"id", "title", "category", "questions", "tags", "links", "public"})
# A knowledge-base article is a few hundred words; anything this big is a mistake
# (a pasted export, a binary) and would only slow start-up and matching.
MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Article:
    """One answer the bot can give, with the example questions it answers."""

    id: str
    title: str
    category: str
    questions: tuple[str, ...]
    body: str
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    path: Path | None = None
    # General information anyone may read (payment methods, how to reset a password):
    # answered without the identity check that its category otherwise asks for.
    public: bool = False


@dataclass(frozen=True)
class ArticleProblem:
    """Something wrong with one article file, phrased for the person who wrote it."""

    path: Path
    field: str | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path.name}: {self.field}" if self.field else self.path.name
        return f"{where}: {self.message}"


class _Invalid(Exception):
    """Collects every field problem of one file so the author sees them all at once."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def load_articles(
    directory: Path, categories: Collection[str] | None = None
) -> tuple[list[Article], list[ArticleProblem]]:
    """Load every ``*.md`` file in ``directory`` (sorted by name, not recursive).

    Returns the valid articles and the problems found.  A file with an ``error``
    problem is skipped; ``warning`` problems (unknown link, unknown field) leave the
    article loaded.  When ``categories`` is given, an article's category must be one
    of them.  Raises ``FileNotFoundError`` or ``NotADirectoryError`` only for the
    directory itself.
    """
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"knowledge base directory not found: {directory}")
    if not directory.is_dir():
        raise NotADirectoryError(f"knowledge base path is not a directory: {directory}")

    allowed = frozenset(categories) if categories is not None else None
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.md")):
        try:
            article, warnings = _load_file(path, allowed)
            if article.id in seen:
                message = f"duplicate id {article.id!r}, already used by {seen[article.id].name}"
                raise _Invalid([("id", message)])
        except _Invalid as invalid:
            problems.extend(ArticleProblem(path, field, msg) for field, msg in invalid.problems)
            continue
        seen[article.id] = path
        articles.append(article)
        problems.extend(ArticleProblem(path, field, msg, "warning") for field, msg in warnings)

    for article in articles:
        for link in article.links:
            if link not in seen:
                message = f"unknown article id {link!r}"
                problems.append(ArticleProblem(seen[article.id], "links", message, "warning"))
    return articles, problems


def _load_file(
    path: Path, categories: frozenset[str] | None
) -> tuple[Article, list[tuple[str | None, str]]]:
    """Parse one file; raise ``_Invalid`` listing every error, return warnings."""
    text = _read_text(path)
    try:
        header, body = split_front_matter(text)
    except FrontMatterError as exc:
        raise _Invalid([("front matter", str(exc))]) from None
    try:
        data = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        raise _Invalid([("front matter", f"invalid YAML: {_yaml_reason(exc)}")]) from None
    if not isinstance(data, dict):
        raise _Invalid([("front matter", "must be a YAML mapping of field: value")])

    errors: list[tuple[str | None, str]] = []

    def check(field: str, value: Any, validate: Any) -> Any:
        try:
            return validate(value)
        except ValueError as exc:
            errors.append((field, str(exc)))
            return None

    article_id = check("id", data.get("id"), _slug)
    title = check("title", data.get("title"), _text)
    category = check("category", data.get("category"), lambda v: _category(v, categories))
    questions = check("questions", data.get("questions"), _questions)
    tags = check("tags", data.get("tags"), lambda v: _string_list(v, slugs=False))
    links = check("links", data.get("links"), lambda v: _string_list(v, slugs=True))
    public = check("public", data.get("public", False), _flag)
    if not body.strip():
        errors.append(("body", "the answer text after the front matter is empty"))
    if errors:
        raise _Invalid(errors)

    warnings: list[tuple[str | None, str]] = [
        (str(key), "unknown field, ignored") for key in data if key not in _KNOWN_FIELDS
    ]
    if article_id in links:
        warnings.append(("links", "an article should not link to itself"))
    article = Article(
        id=article_id,
        title=title,
        category=category,
        questions=questions,
        body=body.strip(),
        tags=tags,
        links=links,
        path=path,
        public=public,
    )
    return article, warnings


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _Invalid([(None, f"file is larger than {MAX_FILE_BYTES // 1024} KB")])
        raw = path.read_bytes()
    except OSError as exc:
        raise _Invalid([(None, f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Invalid([(None, f"not valid UTF-8 (bad byte at offset {exc.start})")]) from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """Short YAML error with the line number inside the file (front matter starts at 2)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 2})"
    return str(problem)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("required, must be a non-empty string")
    return value.strip()


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("required, must be a non-empty string")
    if not _SLUG.fullmatch(value.strip()):
        raise ValueError(
            f"{value!r} is not a valid id (use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit)"
        )
    return value.strip()


def _category(value: Any, categories: frozenset[str] | None) -> str:
    category = _text(value)
    if categories is not None and category not in categories:
        expected = ", ".join(sorted(categories))
        raise ValueError(f"unknown category {category!r}; expected one of {expected}")
    return category


def _questions(value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(q, str) and q.strip() for q in value)
    ):
        raise ValueError("must be a non-empty list of strings")
    return tuple(q.strip() for q in value)


def _string_list(value: Any, *, slugs: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("must be a list of strings")
    if slugs:
        return tuple(_slug(v) for v in value)
    return tuple(v.strip() for v in value)
