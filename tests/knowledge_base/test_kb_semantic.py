"""The packaged sentence model behind ``kb_ranker = "semantic"`` (needs the extra)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, needs_model


@needs_model
def test_a_search_with_the_semantic_ranker_prints_the_answer_and_no_progress_bars() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SUPPORTBOT_"))}
    env["SUPPORTBOT_KB_RANKER"] = "semantic"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "search", "where is my parcel"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "track-order" in done.stdout.splitlines()[1]
    assert "Loading weights" not in done.stderr and "it/s" not in done.stderr
