"""``supportbot kb import``: FAQ rows from a spreadsheet into article files.

Support teams often start from an FAQ export.  Each CSV row holds ``question``,
``answer`` and ``category`` (header names, any order; ``title`` and ``id`` are
optional).  Rows with the same answer become one article with several questions,
which is how an FAQ lists paraphrases.  Every row is checked first and nothing is
written unless all rows are good, so a half-imported folder never needs cleaning
up; each problem names the CSV line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge_base.normalize import normalize

REQUIRED = ("question", "answer", "category")
OPTIONAL = ("title", "id")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
MAX_ID_WORDS = 6


@dataclass
class _Draft:
    id: str
    title: str
    category: str
    answer: str
    questions: list[str] = field(default_factory=list)
    line: int = 0


@dataclass(frozen=True)
class ImportResult:
    written: list[Path]
    errors: list[str]


def import_csv(
    source: Path,
    directory: Path,
    categories: Collection[str] | None = None,
    *,
    overwrite: bool = False,
) -> ImportResult:
    """Check every row of ``source``; if all are good, write one file per article."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return ImportResult([], [f"{source}: cannot read as UTF-8 text ({exc})"])
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return ImportResult([], [f"{source.name}: missing column(s): {', '.join(missing)}"])
    reader.fieldnames = header
    drafts: dict[str, _Draft] = {}
    errors: list[str] = []
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if None in row:
            errors.append(f"line {line}: more fields than columns (quote text containing commas)")
            continue
        empty = [name for name in REQUIRED if not values.get(name)]
        if empty:
            errors.append(f"line {line}: empty {', '.join(empty)}")
            continue
        if categories is not None and values["category"] not in categories:
            expected = ", ".join(sorted(categories))
            errors.append(
                f"line {line}: unknown category {values['category']!r}; use one of {expected}"
            )
            continue
        key = normalize(values["answer"])
        draft = drafts.get(key)
        if draft is None:
            article_id = values.get("id") or _slug(values["question"])
            if not _SLUG.fullmatch(article_id):
                errors.append(f"line {line}: id {article_id!r} is not a valid id")
                continue
            title = values.get("title") or values["question"].rstrip("?").strip()
            draft = drafts[key] = _Draft(
                article_id, title, values["category"], values["answer"], line=line
            )
        elif draft.category != values["category"]:
            errors.append(f"line {line}: same answer as line {draft.line} but another category")
            continue
        if normalize(values["question"]) in {normalize(q) for q in draft.questions}:
            errors.append(f"line {line}: question repeats line {draft.line}'s article")
            continue
        draft.questions.append(values["question"])
    if not drafts and not errors:
        errors.append(f"{source.name}: no rows")
    errors += _id_clashes(list(drafts.values()), directory, overwrite)
    if errors:
        return ImportResult([], errors)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for draft in drafts.values():
        path = directory / f"{draft.id}.md"
        path.write_text(_render(draft), encoding="utf-8")
        written.append(path)
    return ImportResult(written, [])


def _slug(question: str) -> str:
    words = normalize(question).split()[:MAX_ID_WORDS]
    return (
        "-".join(re.sub(r"[^a-z0-9]", "", w) for w in words if re.sub(r"[^a-z0-9]", "", w))
        or "article"
    )


def _id_clashes(drafts: list[_Draft], directory: Path, overwrite: bool) -> list[str]:
    errors: list[str] = []
    seen: dict[str, int] = {}
    for draft in drafts:
        if draft.id in seen:
            # Two different answers whose questions slug alike: number the later one.
            seen[draft.id] += 1
            draft.id = f"{draft.id}-{seen[draft.id]}"
        seen.setdefault(draft.id, 1)
        if not overwrite and (directory / f"{draft.id}.md").exists():
            errors.append(
                f"line {draft.line}: {draft.id}.md already exists (use --overwrite to replace it)"
            )
    return errors


def _render(draft: _Draft) -> str:
    header = {
        "id": draft.id,
        "title": draft.title,
        "category": draft.category,
        "questions": draft.questions,
    }
    front = yaml.safe_dump(header, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n{draft.answer}\n"
