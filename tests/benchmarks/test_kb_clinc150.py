"""The CLINC150 benchmark runs with one command and measures the set-up it says: ten
questions per article, drawn at random (several draws) or the first ten.

A small data set in CLINC150's format stands in for the real one (which lives outside
the repository); the real figures are in docs/knowledge_base.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.clinc import articles
from benchmarks.kb_clinc150 import with_typos
from tests.conftest import REPO, needs_model

TOPICS = {
    "track_order": ["where is my order {n}", "track my package {n}", "when will order {n} arrive"],
    "refund": ["i want my money back for {n}", "refund order {n}", "can i get a refund on {n}"],
    "reset_password": ["i forgot my password {n}", "reset my password {n}", "cannot log in {n}"],
}


def tiny_clinc(path: Path) -> Path:
    """CLINC150's layout: [text, intent] rows per split, ``oos`` for out of scope."""
    train = [[t.format(n=n), intent] for intent, ts in TOPICS.items() for n in range(7)
             for t in ts]  # fmt: skip
    test = [["where is my parcel", "track_order"], ["money back please", "refund"],
            ["password reset", "reset_password"]]  # fmt: skip
    oos = [["tell me a joke", "oos"], ["what is the weather", "oos"]]
    data = {"train": train, "val": test, "test": test, "oos_train": oos, "oos_val": oos,
            "oos_test": oos}  # fmt: skip
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run(*args: str, semantic: bool = False) -> str:
    skip = [] if semantic else ["--no-semantic"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.kb_clinc150", *skip, "--seconds", "0.2", *args],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_benchmark_prints_the_mean_of_random_draws(tmp_path: Path) -> None:
    out = run("--data", str(tiny_clinc(tmp_path / "data_full.json")), "--draws", "3")

    lines = out.splitlines()
    assert lines[0] == (
        "CLINC150 test: 3 in scope, 2 out of scope; "
        "questions per article: 10 drawn at random, mean of 3 draws"
    )
    assert lines[1].startswith("| matcher | top-1 | top-3 | in-scope answered right |")
    row = lines[3].split(" | ")
    assert row[0] == "| default (lexical + static vectors)"
    assert all("%" in cell and "(" in cell for cell in row[1:7])  # mean (range)


def test_the_first_ten_questions_on_request(tmp_path: Path) -> None:
    out = run("--data", str(tiny_clinc(tmp_path / "data_full.json")), "--first")

    assert out.splitlines()[0].endswith("questions per article: the first 10")
    assert "(" not in out.splitlines()[3].split(" | ")[1]  # one measurement, no range


def test_typos_are_typed_into_every_question_the_same_way_each_run() -> None:
    data = {"test": [["where is my parcel", "track_order"]] * 3,
            "oos_test": [["what time is it", "oos"]], "train": []}  # fmt: skip

    typed = with_typos(data, "test")

    assert typed["train"] == [] and data["test"][0][0] == "where is my parcel"
    for (text, intent), (original, same) in zip(typed["test"], data["test"], strict=True):
        assert intent == same and text != original and sorted(text) == sorted(original)
    assert with_typos(data, "test") == typed
    assert typed["oos_test"][0][0] != "what time is it"  # no letter doubled


def test_the_header_says_when_the_questions_carry_typos(tmp_path: Path) -> None:
    out = run("--data", str(tiny_clinc(tmp_path / "data_full.json")), "--first", "--typos")

    assert out.splitlines()[0].endswith("the first 10; one typo in each query")


def test_a_random_draw_is_reproducible_and_unlike_the_first_ten() -> None:
    train = [(f"question {n} about {intent}", intent) for intent in ("a", "b") for n in range(40)]

    first = articles(train)
    drawn, again = articles(train, seed=1), articles(train, seed=1)
    other = articles(train, seed=2)

    assert first[0].questions == tuple(f"question {n} about a" for n in range(10))
    assert [a.questions for a in drawn] == [a.questions for a in again]
    assert [a.questions for a in drawn] != [a.questions for a in first]
    assert [a.questions for a in drawn] != [a.questions for a in other]
    many = articles(train, copies=4, seed=1)  # the speed set-up: no question used twice
    used = [q for a in many if a.id.startswith("a") for q in a.questions]
    assert len(used) == len(set(used)) == 40


@needs_model
def test_with_the_semantic_extra_the_tuned_model_is_measured_too(tmp_path: Path) -> None:
    out = run("--data", str(tiny_clinc(tmp_path / "data_full.json")), "--draws", "1",
              semantic=True)  # fmt: skip

    names = [line.split(" | ")[0] for line in out.splitlines()[3:]]
    assert names == [
        "| default (lexical + static vectors)",
        "| semantic (all-MiniLM-L6-v2)",
        "| semantic, tuned on the articles (`kb tune`)",
    ]
    assert out.splitlines()[5].split(" | ")[1] == "100.0%"  # three easy topics, top-1
