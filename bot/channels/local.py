"""The local terminal channel: a customer chat and the agents' desk, on the same database.

``supportbot chat`` reads one customer message per line. Quick replies are shown as
numbered options and can be answered with the number or the words. Replies sent while
the chat was not running (an agent's answer, a follow-up) are shown when it starts, and
an agent's reply reaches a running chat within a second (the outbox is polled). A file
sent to the customer (the copy of their data) is saved in ``privacy.export_folder``,
readable by the account running the chat only, and the customer is told its path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot import loggers
from bot.app import App
from bot.engine import Engine
from bot.errors import ChannelError, SupportBotError
from bot.messages import Button, Message, Reply, SentFile
from bot.runner import POLL_SECONDS, background

CHANNEL = "local"


class TerminalSender:
    """Prints messages for one customer and remembers the last quick replies."""

    def __init__(self, out: TextIO, bot_name: str, files: Path = Path("data/exports")) -> None:
        self.out = out
        self.bot_name = bot_name
        self.files = files
        self.buttons: tuple[Button, ...] = ()

    async def send(self, address: str, reply: Reply) -> None:
        who = f"{reply.author} (agent)" if reply.sender == "agent" else self.bot_name
        lines = [f"{who}: {reply.text}"]
        file = SentFile.of(reply)
        if file is not None:
            folder = self.files / _safe(address)
            lines.append(f"   [file saved to {save(folder, file)}]")
        if reply.buttons:
            self.buttons = reply.buttons
            lines.append(
                "   " + "   ".join(f"[{i}] {b.label}" for i, b in enumerate(reply.buttons, 1))
            )
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def payload_for(self, text: str) -> str | None:
        """A typed number or label chooses the matching quick reply of the last message."""
        typed = text.strip().casefold()
        for index, button in enumerate(self.buttons, 1):
            if typed in {str(index), button.label.casefold()}:
                return button.payload
        return None


def save(folder: Path, file: SentFile) -> Path:
    """Write ``file`` into ``folder`` (the customer's own), for its owner's eyes only; a
    redelivery overwrites the same file."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = (folder / file.name).resolve()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(file.content)
    except OSError as exc:  # the outbox keeps the message and tries again
        raise ChannelError(f"cannot save {file.name} in {folder}: {exc.strerror}") from None
    return path


def _safe(name: str) -> str:
    """A customer id as one folder name (``--user`` is free text: no paths in it)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "_"


class DeskPrinter:
    """The local agents' desk: prints case notifications as they are delivered."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, address: str, reply: Reply) -> None:
        self.out.write(reply.text + "\n\n")
        self.out.flush()


# Typed to leave the terminal chat (the person at the keyboard runs it; a customer on a
# platform cannot end a chat this way, and these words are not sent to the bot).
LEAVE = frozenset({"/quit", "/exit"})


async def run_chat(app: App, user: str, name: str | None, sender: TerminalSender,
                   inp: TextIO = sys.stdin) -> None:  # fmt: skip
    """Chat until end of input or /quit; background work delivers replies and fires
    timers."""
    interactive = inp.isatty()
    if interactive:
        company = app.settings.company.name
        sender.out.write(f"Chatting with {company} support as {user!r}. "
                         "Type /quit (or press Ctrl-D) to leave.\n")  # fmt: skip
    work = asyncio.create_task(background(app.engine))
    lines = _read_lines(inp)
    async with app.repo.transaction() as tx:  # the options on screen before a restart
        last = await tx.last_reply_with_buttons(CHANNEL, user)
    sender.buttons = last.buttons if last else ()
    try:
        await app.engine.deliver()  # what was sent while we were away
        while (line := await lines.get()) is not None:
            text = line.rstrip("\r\n")
            if text.strip().casefold() in LEAVE:
                break
            message = Message(CHANNEL, user, user, text, user_name=name,
                              payload=sender.payload_for(text))  # fmt: skip
            try:
                await app.engine.handle_message(message)
            except SupportBotError as exc:
                loggers.channels.error("message not processed: %s", exc)
                sender.out.write(f"(Sorry, your message could not be saved: {exc}. "
                                 "Please send it again.)\n")  # fmt: skip
                sender.out.flush()
    finally:
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        await app.engine.deliver()


def _read_lines(inp: TextIO) -> asyncio.Queue[str | None]:
    """Lines from a daemon thread, so a blocked read never keeps the process alive."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        try:
            for line in iter(inp.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the chat ended (loop closed) while we waited for input
            return

    threading.Thread(target=reader, name="stdin", daemon=True).start()
    return queue


async def watch_desk(engine: Engine, *, once: bool = False) -> None:
    """Print desk notifications (new cases, customers' messages) as they arrive."""
    while True:
        try:
            await engine.deliver()
        except SupportBotError as exc:
            loggers.channels.warning("desk delivery postponed: %s", exc)
        if once:
            return
        await asyncio.sleep(POLL_SECONDS)
