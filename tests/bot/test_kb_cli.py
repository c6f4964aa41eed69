"""``supportbot kb``: every editor's command, on good and bad input.

The commands run through typer's CliRunner in this process (fast); the database
reports read a SQLite file filled by real conversations through the engine.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from knowledge_base import SAMPLE_DIR
from tests.conftest import Clock, make_settings, open_chat

runner = CliRunner()


def kb(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["kb", *args], env=env or {}, input=stdin, catch_exceptions=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(SAMPLE_DIR, target)
    return target


# --- validate --------------------------------------------------------------------


def test_validate_passes_the_sample_with_warnings_only() -> None:
    result = kb("validate", str(SAMPLE_DIR))

    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output
    assert "competes with" in result.output  # refund policy vs returns policy


def test_validate_fails_on_broken_files_and_names_them(folder: Path) -> None:
    (folder / "broken.md").write_text("no front matter\n", encoding="utf-8")
    track = folder / "track-order.md"
    track.write_text(
        track.read_text(encoding="utf-8").replace("links:", "links: [no-such-article]\nold_links:"),
        encoding="utf-8",
    )
    (folder / "copy.md").write_text(
        '---\nid: copy\ntitle: Copy\ncategory: other\nquestions: ["Where is my order?"]\n---\nX\n',
        encoding="utf-8",
    )

    result = kb("validate", str(folder))

    assert result.exit_code == 1
    assert "error   broken.md: front matter" in result.output
    assert "is also in 'track-order'" in result.output or "is also in 'copy'" in result.output
    assert "unknown article id 'no-such-article'" in result.output


def test_validate_reports_a_broken_synonyms_file(folder: Path) -> None:
    (folder / "synonyms.yaml").write_text("package: [parcel]\nparcel: 3\n", encoding="utf-8")

    result = kb("validate", str(folder))

    assert result.exit_code == 1
    assert "synonyms.yaml: parcel: must be a non-empty list of variants" in result.output


def test_validate_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = kb("validate", str(tmp_path / "nope"))

    assert result.exit_code == 1
    assert "not found" in result.output


# --- search ----------------------------------------------------------------------


def test_search_json_gives_decision_and_ranked_matches() -> None:
    result = kb("search", "I forgot my password", "--json")

    data = json.loads(result.output)
    assert data["decision"] == "answer"
    assert data["matches"][0]["id"] == "password-reset"
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)


def test_search_explain_shows_phrasing_words_typos_and_synonyms() -> None:
    result = kb("search", "where is my parcle", "--explain")

    assert result.exit_code == 0, result.output
    assert "closest question:" in result.output
    assert "words that counted:" in result.output
    assert "Typos corrected: parcle -> parcel" in result.output
    assert "Synonyms applied: parcel -> packag" in result.output


def test_search_explain_json() -> None:
    data = json.loads(kb("search", "what is the weather on mars", "--explain", "--json").output)

    assert data["decision"] == "none"
    assert "mar" in data["unknown_words"] or "weather" in data["unknown_words"]
    assert set(data["matches"][0]["evidence"]) >= {"bm25", "coverage", "vector"}


def test_search_batch_writes_one_json_object_per_line() -> None:
    queries = ["I forgot my password", "", "   ", "blorp fizzle", "where is my package"] * 200

    result = kb("search", "--batch", stdin="\n".join(queries) + "\n")

    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 600
    assert lines[0]["matches"][0]["id"] == "password-reset"
    assert (lines[1]["query"], lines[1]["decision"]) == ("blorp fizzle", "none")
    assert {"id", "score"} <= set(lines[2]["matches"][0])


@pytest.mark.parametrize("args", [["search"], ["search", "x", "--batch"]])
def test_search_needs_a_query_or_batch_not_both(args: list[str]) -> None:
    result = kb(*args)

    assert result.exit_code == 2
    assert "QUERY, or --batch" in result.output


def test_search_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = kb("search", "refund", "--kb", str(tmp_path / "nope"))

    assert result.exit_code == 1
    assert "does not exist" in result.output


# --- import ----------------------------------------------------------------------

FAQ = """question,answer,category
How do I pay?,"We take cards and PayPal.",billing
Can I pay with PayPal?,"We take cards and PayPal.",billing
Do you ship to Canada?,Yes: 5-10 working days.,shipping
"""


def test_import_writes_articles_that_load_and_answer(tmp_path: Path) -> None:
    source, target = tmp_path / "faq.csv", tmp_path / "kb"
    source.write_text(FAQ, encoding="utf-8")

    result = kb("import", str(source), "--kb", str(target))

    assert result.exit_code == 0, result.output
    assert "Wrote 2 articles" in result.output
    assert kb("validate", str(target)).exit_code == 0
    answer = json.loads(kb("search", "can I pay by paypal", "--kb", str(target), "--json").output)
    assert answer["matches"][0]["id"] == "how-do-i-pay"


def test_import_refuses_bad_rows_and_writes_nothing(tmp_path: Path) -> None:
    source, target = tmp_path / "faq.csv", tmp_path / "kb"
    source.write_text(
        FAQ + "No answer here?,,billing\nWhat?,An answer,nonsense\n", encoding="utf-8"
    )

    result = kb("import", str(source), "--kb", str(target))

    assert result.exit_code == 1
    assert "line 5: empty answer" in result.output
    assert "line 6: unknown category 'nonsense'" in result.output
    assert not target.exists() or not list(target.iterdir())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("question,category\nq,billing\n", "missing column(s): answer"),
        ("question,answer,category\n", "no rows"),
        (b"question,answer,category\n\xff\xfe,x,billing\n", "cannot read as UTF-8"),
    ],
)
def test_import_bad_files(tmp_path: Path, content: str | bytes, message: str) -> None:
    source = tmp_path / "faq.csv"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content, encoding="utf-8")

    result = kb("import", str(source), "--kb", str(tmp_path / "kb"))

    assert result.exit_code == 1
    assert message in result.output


def test_import_never_overwrites_without_asking(tmp_path: Path) -> None:
    source, target = tmp_path / "faq.csv", tmp_path / "kb"
    source.write_text(FAQ, encoding="utf-8")
    assert kb("import", str(source), "--kb", str(target)).exit_code == 0

    again = kb("import", str(source), "--kb", str(target))
    forced = kb("import", str(source), "--kb", str(target), "--overwrite")

    assert again.exit_code == 1
    assert "already exists" in again.output
    assert forced.exit_code == 0


def test_import_needs_a_target_folder(tmp_path: Path) -> None:
    result = kb("import", str(tmp_path / "faq.csv"))

    assert result.exit_code == 2
    assert "--kb" in result.output


# --- gaps and stats, from real conversations ---------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    """Three customers: one unanswered, one rejected twice then escalated, one helped."""
    settings = make_settings(tmp_path)
    clock = Clock()
    clock.current = datetime.now(UTC)

    async def converse() -> None:
        async with open_chat(settings, clock) as chat:
            chat.user = "ann"
            await chat.say("hi")
            await chat.say("What is the airspeed velocity of an unladen swallow?")
            chat.user = "bob"
            await chat.say("hi")
            await chat.say("where is my package")
            await chat.press("No")
            await chat.press("No")
            chat.user = "cat"
            await chat.say("hi")
            await chat.say("How do I exchange an item for another size?")
            await chat.press("Yes")

    asyncio.run(converse())
    return {"SUPPORTBOT_DATABASE_URL": settings.database_url}


def test_gaps_groups_unanswered_and_rejected_questions(database: dict[str, str]) -> None:
    result = kb("gaps", "--json", env=database)

    groups = json.loads(result.output)["groups"]
    examples = {g["example"]: g for g in groups}
    assert examples["where is my package"]["rejected"] >= 1
    assert "What is the airspeed velocity of an unladen swallow?" in examples
    text = kb("gaps", env=database).output
    assert "unanswered or rejected questions since" in text


def test_stats_counts_per_article(database: dict[str, str]) -> None:
    rows = {r["article_id"]: r for r in json.loads(kb("stats", "--json", env=database).output)}

    assert rows["track-order"]["suggested"] == 1
    assert rows["track-order"]["rejected"] == 1
    assert rows["track-order"]["escalated_after"] == 1
    assert rows["exchange-item"]["accepted"] == 1
    assert "escalated after" in kb("stats", env=database).output


def test_reports_on_an_empty_database(tmp_path: Path) -> None:
    env = {"SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}

    assert "No unanswered or rejected questions" in kb("gaps", env=env).output
    assert "No article was used" in kb("stats", "--since", "12h", env=env).output


@pytest.mark.parametrize("since", ["30", "0d", "yesterday", "-3d", "999999w", "10000000d"])
def test_bad_since_is_refused(tmp_path: Path, since: str) -> None:
    env = {"SUPPORTBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}

    result = kb("gaps", "--since", since, env=env)

    assert result.exit_code == 2
    assert "--since" in result.output
