"""Loading article files: good files load, every broken file is reported and skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge_base import Article, ArticleProblem, load_articles

GOOD = """\
---
id: {id}
title: Refund policy
category: returns_refunds
questions:
  - What is your refund policy?
  - Can I get my money back?
tags: [refund]
---
Refunds are possible within 30 days of purchase with a valid receipt.
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def article_file(
    *,
    id: str = "broken",
    title: str = "A title",
    category: str = "billing",
    questions: str = '["How do I pay?"]',
    extra: str = "",
    body: str = "The answer.",
) -> str:
    return (
        f"---\nid: {id}\ntitle: {title}\ncategory: {category}\n"
        f"questions: {questions}\n{extra}---\n{body}\n"
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder that already holds one valid article, ``good.md``."""
    write(tmp_path, "good.md", GOOD.format(id="refund-policy"))
    return tmp_path


def test_good_article_is_parsed_completely(folder: Path) -> None:
    articles, problems = load_articles(folder)

    assert problems == []
    assert articles == [
        Article(
            id="refund-policy",
            title="Refund policy",
            category="returns_refunds",
            questions=("What is your refund policy?", "Can I get my money back?"),
            body="Refunds are possible within 30 days of purchase with a valid receipt.",
            tags=("refund",),
            links=(),
            path=folder / "good.md",
        )
    ]


BROKEN_FILES = {
    "no front matter": ("Just an answer without fields.\n", "front matter"),
    "unclosed front matter": ("---\nid: x\ntitle: T\n", "front matter"),
    "bad YAML": ("---\nid: [unclosed\ntitle: T\n---\nBody\n", "front matter"),
    "front matter not a mapping": ("---\n- a\n- b\n---\nBody\n", "front matter"),
    "missing id": (article_file().replace("id: broken\n", ""), "id"),
    "bad slug": (article_file(id="Refund Policy!"), "id"),
    "id not a string": (article_file(id="42"), "id"),
    "empty title": (article_file(title="''"), "title"),
    "missing category": (article_file().replace("category: billing\n", ""), "category"),
    "empty questions": (article_file(questions="[]"), "questions"),
    "questions not a list": (article_file(questions="How do I pay"), "questions"),
    "blank question": (article_file(questions="['How?', '  ']"), "questions"),
    "tags not a list": (article_file(extra="tags: refund\n"), "tags"),
    "bad link id": (article_file(extra="links: [Not A Slug]\n"), "links"),
    "empty body": (article_file(body="   \n"), "body"),
    "public not true or false": (article_file(extra="public: yes please\n"), "public"),
}


@pytest.mark.parametrize(("text", "field"), BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_broken_file_is_reported_and_skipped(folder: Path, text: str, field: str) -> None:
    write(folder, "broken.md", text)

    articles, problems = load_articles(folder)

    assert [a.id for a in articles] == ["refund-policy"]
    assert [(p.path.name, p.field, p.severity) for p in problems] == [("broken.md", field, "error")]
    assert str(problems[0]).startswith(f"broken.md: {field}: ")


def test_unknown_category_is_an_error_only_when_categories_are_given(folder: Path) -> None:
    write(folder, "odd.md", article_file(id="odd", category="astrology"))

    articles, problems = load_articles(folder)
    assert [a.id for a in articles] == ["refund-policy", "odd"]  # sorted by file name
    assert problems == []

    articles, problems = load_articles(folder, categories={"returns_refunds", "billing"})
    assert [a.id for a in articles] == ["refund-policy"]
    assert [str(p) for p in problems] == [
        "odd.md: category: unknown category 'astrology'; expected one of billing, returns_refunds"
    ]


def test_every_error_of_a_file_is_reported_at_once(folder: Path) -> None:
    write(folder, "broken.md", "---\nid: Bad Id\ncategory: billing\n---\n\n")

    _, problems = load_articles(folder)

    assert [p.field for p in problems] == ["id", "title", "questions", "body"]


def test_duplicate_id_keeps_the_first_file(folder: Path) -> None:
    write(folder, "later.md", GOOD.format(id="refund-policy"))

    articles, problems = load_articles(folder)

    assert [a.path.name for a in articles if a.path] == ["good.md"]
    assert [str(p) for p in problems] == [
        "later.md: id: duplicate id 'refund-policy', already used by good.md"
    ]


def test_non_utf8_file_is_reported(folder: Path) -> None:
    (folder / "latin1.md").write_bytes(GOOD.format(id="other").encode("utf-8") + b"caf\xe9\n")

    articles, problems = load_articles(folder)

    assert [a.id for a in articles] == ["refund-policy"]
    assert len(problems) == 1
    assert problems[0].path.name == "latin1.md"
    assert "not valid UTF-8" in str(problems[0])


def test_broken_link_is_only_a_warning(folder: Path) -> None:
    write(folder, "linked.md", article_file(id="linked", extra="links: [refund-policy, nowhere]\n"))

    articles, problems = load_articles(folder)

    assert [a.id for a in articles] == ["refund-policy", "linked"]
    assert problems == [
        ArticleProblem(folder / "linked.md", "links", "unknown article id 'nowhere'", "warning")
    ]


def test_an_article_is_public_only_when_marked_so(folder: Path) -> None:
    write(folder, "methods.md", article_file(id="payment-methods", extra="public: true\n"))
    articles, problems = load_articles(folder)
    assert problems == []
    assert {a.id: a.public for a in articles} == {"payment-methods": True, "refund-policy": False}


def test_unknown_field_is_a_warning(folder: Path) -> None:
    write(folder, "typo.md", article_file(id="typo", extra="tagz: [x]\n"))

    articles, problems = load_articles(folder)

    assert "typo" in [a.id for a in articles]
    assert [(p.field, p.severity) for p in problems] == [("tagz", "warning")]


def test_windows_line_endings_and_bom_are_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + GOOD.format(id="crlf").replace("\n", "\r\n")
    (tmp_path / "crlf.md").write_bytes(text.encode("utf-8"))

    articles, problems = load_articles(tmp_path)

    assert problems == []
    assert articles[0].questions == ("What is your refund policy?", "Can I get my money back?")


def test_oversized_file_is_reported(folder: Path) -> None:
    write(folder, "huge.md", article_file(id="huge", body="x" * 300_000))

    articles, problems = load_articles(folder)

    assert [a.id for a in articles] == ["refund-policy"]
    assert [(p.path.name, p.field) for p in problems] == [("huge.md", None)]


def test_only_markdown_files_are_read(folder: Path) -> None:
    write(folder, "notes.txt", "not an article")

    articles, problems = load_articles(folder)

    assert len(articles) == 1
    assert problems == []


def test_problem_without_field_names_only_the_file() -> None:
    problem = ArticleProblem(Path("/kb/refunds.md"), None, "not valid UTF-8")

    assert str(problem) == "refunds.md: not valid UTF-8"


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_articles(tmp_path / "nowhere")


def test_file_instead_of_directory_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "file.md", GOOD.format(id="x"))

    with pytest.raises(NotADirectoryError):
        load_articles(path)


def test_unreadable_entry_is_reported(folder: Path) -> None:
    (folder / "folder.md").mkdir()

    articles, problems = load_articles(folder)

    assert len(articles) == 1
    assert [(p.path.name, p.field) for p in problems] == [("folder.md", None)]
    assert "cannot read file" in problems[0].message
