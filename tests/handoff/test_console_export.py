"""The local desk sends a customer their data: ``supportbot cases export N --agent NAME``
beside a running ``supportbot chat``. The chat saves the file where the settings say and
tells the customer its path; an unverified customer's data is refused."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.channels.test_local_cli import LiveChat, supportbot


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    values["SUPPORTBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    values["SUPPORTBOT_PRIVACY__EXPORT_FOLDER"] = str(tmp_path / "exports")
    return values


@pytest.fixture
def chat(env: dict[str, str]) -> Iterator[LiveChat]:
    running = LiveChat(env)
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
    running.proc.wait(timeout=10)
    for stream in (running.proc.stdin, running.proc.stdout, running.proc.stderr):
        if stream:
            stream.close()


def test_an_agent_sends_the_customer_their_data_from_the_console(
    env: dict[str, str], chat: LiveChat, tmp_path: Path
) -> None:
    for line in ("hi", "What data do you have about me?", "anna@example.com", "A10001"):
        chat.send(line)
    chat.wait_for("opened case #1")

    sent = supportbot(env, "cases", "export", "1", "--agent", "Bob")

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("Sent the customer of case #1 a copy of their data (")
    told = chat.wait_for("Bob (agent): Here is a copy of the personal data we hold about you")
    assert "(case #1)" in told
    saved = chat.wait_for("[file saved to ").strip()
    path = Path(saved.removeprefix("[file saved to ").removesuffix("]"))
    assert path.parent == tmp_path / "exports" / "anna" and path.name in told
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the customer's data, theirs only
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["records"]["customers"][0]["email"] == "anna@example.com"
    assert any("What data do you have about me?" in t for t in document["transcript"])

    trail = json.loads(supportbot(env, "audit", "--case", "1", "--json").stdout)
    assert [(e["actor"], e["action"]) for e in trail][-2:] == [("Bob", "claimed"),
                                                               ("Bob", "exported")]  # fmt: skip
    assert trail[-1]["detail"]["sent_to"] == "local" and trail[-1]["customer"] == 1


def test_an_unverified_customers_data_is_refused_with_the_reason(
    env: dict[str, str], chat: LiveChat
) -> None:
    chat.send("I want to talk to a human please")
    chat.wait_for("opened case #1")

    refused = supportbot(env, "cases", "export", "1", "--agent", "Bob")

    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "supportbot: Case #1: the customer's identity was not verified in the chat"
    )
    assert "supportbot privacy export --case 1 --out FILE" in refused.stderr
    listing = json.loads(supportbot(env, "cases", "list", "--json").stdout)
    assert [(c["number"], c["status"], c["agent"]) for c in listing] == [(1, "open", None)]
