"""The ``supportbot`` command itself, as a newcomer and an agent would run it."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

SUPPORTBOT = shutil.which("supportbot", path=str(Path(sys.executable).parent)) or "supportbot"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    values["SUPPORTBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return values


def supportbot(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SUPPORTBOT, *args], input=stdin, env=env, cwd=REPO, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


class LiveChat:
    """A running ``supportbot chat`` with its stdin kept open, read line by line."""

    def __init__(self, env: dict[str, str], args: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [SUPPORTBOT, *(args or ["chat", "--user", "anna", "--name", "Anna"])], env=env,
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []  # stderr, read as it comes (a full pipe would block it)
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_errors, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _pump_errors(self) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(ValueError, OSError):  # closed by the fixture at the end
            for line in self.proc.stderr:
                self.errors.append(line)

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        """Read output until a line contains ``needle`` (a safety timeout, not a speed test)."""
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
                raise AssertionError(
                    f"{needle!r} never came; saw {seen}; {state}, stderr: {self.errors[-20:]}"
                ) from None
            seen.append(line)
            if needle in line:
                return line

    def drain(self) -> list[str]:
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return out


@pytest.fixture
def live(env: dict[str, str]) -> Iterator[list[LiveChat]]:
    chats: list[LiveChat] = []
    yield chats
    for chat in chats:
        if chat.proc.poll() is None:
            chat.proc.kill()
        chat.proc.wait(timeout=10)
        for stream in (chat.proc.stdin, chat.proc.stdout, chat.proc.stderr):
            if stream:
                stream.close()


def test_scripted_chat_prints_every_bot_message(env: dict[str, str]) -> None:
    result = supportbot(env, "chat", "--user", "anna", "--name", "Anna",
                        stdin="hi\nHow do I exchange an item?\n1\n5\nGreat help\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Sam: Hello Anna, thank you for contacting Acme Customer Support.")
    assert "Did this solve your issue?\n   [1] Yes   [2] No" in out
    assert "I'm glad that helped!" in out  # "1" chose "Yes"
    assert "Would you like to add a comment" in out  # "5" was the rating
    assert out.rstrip().endswith("Thank you for your feedback, Anna. Have a great day!")


def test_quit_leaves_the_chat_without_reaching_the_bot(env: dict[str, str]) -> None:
    result = supportbot(env, "chat", "--user", "anna", "--name", "Anna",
                        stdin="hi\n/quit\nwhere is my parcel\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Sam: Hello Anna")
    assert "confident answer" not in result.stdout  # "/quit" was not a question
    assert "Track parcel" not in result.stdout  # and nothing after it was read


def test_agent_takes_over_from_a_second_terminal_while_the_chat_runs(
    env: dict[str, str], live: list[LiveChat]
) -> None:
    chat = LiveChat(env)
    live.append(chat)
    chat.send("hi")
    chat.wait_for("How can I assist you today?")
    chat.send("I want to speak to a human please")
    chat.wait_for("opened case #1")

    listing = json.loads(supportbot(env, "cases", "list", "--json").stdout)
    assert [(c["number"], c["status"], c["reason"]) for c in listing] == [(1, "open", "requested")]

    assert supportbot(env, "cases", "claim", "1", "--agent", "Bob").stdout == "Case #1 is yours.\n"
    chat.wait_for("Bob from our support team has joined")
    supportbot(env, "cases", "reply", "1", "--agent", "Bob", "Hi Anna, how can I help?")
    assert chat.wait_for("Bob (agent):") == "Bob (agent): Hi Anna, how can I help?\n"

    chat.send("My order never arrived")
    supportbot(env, "cases", "note", "1", "--agent", "Bob", "check courier")
    shown = supportbot(env, "cases", "show", "1").stdout
    assert "Anna" in shown
    assert "My order never arrived" in shown
    assert "Bob [internal note]: check courier" in shown

    refused = supportbot(env, "cases", "claim", "1", "--agent", "Carol")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "supportbot: Case #1 is already claimed by Bob."

    supportbot(env, "cases", "resolve", "1", "--agent", "Bob", "--summary", "Parcel re-sent")
    chat.wait_for("Bob has marked your case #1 as resolved: Parcel re-sent.")
    chat.wait_for("How would you rate")
    chat.send("5")
    chat.wait_for("add a comment")
    assert not any("check courier" in line for line in chat.drain())


def test_killed_chat_resumes_state_and_delivers_what_was_sent_meanwhile_once(
    env: dict[str, str], live: list[LiveChat]
) -> None:
    chat = LiveChat(env)
    live.append(chat)
    chat.send("hi")
    chat.send("/human")
    chat.wait_for("opened case #1")
    chat.proc.send_signal(signal.SIGKILL)
    chat.proc.wait(timeout=10)

    # while the customer is away, the agent answers: the outbox holds it
    supportbot(env, "cases", "reply", "1", "--agent", "Bob", "Back when you are, Anna")

    again = supportbot(env, "chat", "--user", "anna", stdin="thanks!\n")
    assert again.stdout.count("Bob (agent): Back when you are, Anna") == 1
    assert supportbot(env, "chat", "--user", "anna", stdin="").stdout == ""  # not twice
    shown = supportbot(env, "cases", "show", "1").stdout
    assert "thanks!" in shown  # the conversation is still with the agent


def test_quick_reply_numbers_survive_a_restart(env: dict[str, str]) -> None:
    supportbot(env, "chat", "--user", "anna", stdin="hi\nHow do I exchange an item?\n")
    result = supportbot(env, "chat", "--user", "anna", stdin="1\n")
    assert "I'm glad that helped!" in result.stdout


def test_kb_search_shows_ranked_matches_and_the_decision(env: dict[str, str]) -> None:
    result = supportbot(env, "kb", "search", "I forgot my password")
    assert result.stdout.startswith("Decision: answer\n1. ")
    assert "password-reset" in result.stdout.splitlines()[1]
    data = json.loads(supportbot(env, "kb", "search", "asdf qwerty", "--json").stdout)
    assert data["decision"] == "none"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cases", "show", "7"], "supportbot: There is no case #7."),
        (["cases", "reply", "1", "--agent", "Bob", "  "], "supportbot: The message is empty"),
        (["cases", "show", "abc"], "Invalid value for 'number'"),
        (["cases", "frobnicate"], "No such command 'frobnicate'"),
        (["kb", "search", "x", "--kb", "/no/such/dir"], "does not exist"),
        (["worker"], "supportbot: processing: 'workers' needs PostgreSQL (SQLite has one writer)"),
    ],
)
def test_bad_input_gets_one_clear_line_and_no_traceback(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = supportbot(env, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_stops_start_up_with_one_line(env: dict[str, str]) -> None:
    env["SUPPORTBOT_ESCALATION__FAILED_ANSWERS"] = "-1"
    result = supportbot(env, "chat", "--user", "anna", stdin="hi\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "supportbot: invalid setting escalation.failed_answers: "
        "Input should be greater than or equal to 1 (from SUPPORTBOT_ESCALATION__FAILED_ANSWERS)"
    ]


def test_cases_watch_shows_new_cases_and_customer_messages_as_they_arrive(
    env: dict[str, str], live: list[LiveChat]
) -> None:
    watcher = LiveChat(env, ["cases", "watch"])
    live.append(watcher)
    chat = LiveChat(env)
    live.append(chat)
    chat.send("hi")
    chat.send("My lawyer will hear about this")
    chat.wait_for("opened case #1")
    assert watcher.wait_for("New case #1") == "New case #1 [high] legal\n"
    watcher.wait_for("Reason: legal or regulatory matter")
    chat.send("Are you there?")
    assert watcher.wait_for("Case #1 ·") == "Case #1 · Anna: Are you there?\n"
    supportbot(env, "cases", "claim", "1", "--agent", "Bob")
    watcher.wait_for("Case #1 claimed by Bob.")
