"""The one internal message type, and what the bot sends back.

Channel adapters translate platform events into ``Message`` and render ``Reply``;
nothing past the adapters knows which platform a customer is on.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A quick reply: ``label`` is shown, ``payload`` comes back when it is chosen."""

    label: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    """A file a customer or agent sent: ``kind`` (photo, document, voice, ...) and the
    platform's reference to it (e.g. a Telegram file_id); the bot itself reads text only."""

    kind: str
    ref: str
    name: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "ref": self.ref, "name": self.name}


@dataclass(frozen=True)
class Message:
    """Something a customer sent, on any channel.

    ``chat_id`` is where replies go, ``user_id`` who wrote; ``message_id`` is the
    platform's id, used to recognise a redelivered message. ``payload`` is set when
    the customer chose a quick reply instead of typing.
    """

    channel: str
    chat_id: str
    user_id: str
    text: str
    message_id: str | None = None
    user_name: str | None = None
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def dedupe_key(self) -> str | None:
        """The platform message id as stored (transcript and inbox), so a redelivery of
        it is recognised wherever it arrives; None when the platform gave no id."""
        return f"{self.channel}:{self.chat_id}:{self.message_id}" if self.message_id else None


@dataclass(frozen=True)
class SentFile:
    """A text file for a customer, carried whole in the reply (so the outbox delivers it
    from any process): ``name`` is a plain file name, never a path."""

    name: str
    media_type: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "media_type": self.media_type, "text": self.text}

    @property
    def content(self) -> bytes:
        return self.text.encode("utf-8")

    @classmethod
    def of(cls, reply: Reply) -> SentFile | None:
        """The reply's file, if it carries one (a malformed one counts as none)."""
        data = reply.extra.get("file")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return None
        name = "".join(ch for ch in str(data.get("name") or "") if ch.isalnum() or ch in "-_.")
        name = name.lstrip(".") or "file.txt"
        return cls(name[:100], str(data.get("media_type") or "text/plain"), data["text"])


@dataclass(frozen=True)
class Reply:
    """A message for a customer or for the agents' desk, as stored in the outbox.

    ``extra`` carries what a platform adapter may use and others ignore. Desk notices
    always have ``extra["kind"]`` (``case_opened``, ``customer_message``, ``case_status``)
    and ``extra["case"]`` (the case number); ``case_opened`` has ``extra["card"]`` (the
    case's fields, so each desk renders and escapes them its own way);
    ``customer_message`` has ``extra["source"]`` (channel, chat_id, message_id of the
    customer's message) and ``extra["attachments"]``. An agent's relayed reply may carry
    ``extra["source"]`` too, so a same-platform adapter can copy media.
    Supervision adds ``sla_reminder``, ``supervisor_alert`` and ``case_routed`` notices
    (``extra["case"]`` may be None for an alert about a bot-only conversation); a desk
    posts any kind it has no special place for as plain ``text`` where agents see it.
    A reply to a customer may carry a file the bot made for them in ``extra["file"]``
    (``SentFile``, e.g. the export of their data): each channel delivers it its own way
    (a Telegram document, a Slack file, a file on disk for the terminal chat).
    """

    text: str
    buttons: tuple[Button, ...] = ()
    sender: str = "bot"
    author: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[b.label, b.payload] for b in self.buttons],
            "sender": self.sender,
            "author": self.author,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=str(data["text"]),
            buttons=tuple(Button(str(label), str(p)) for label, p in data.get("buttons", [])),
            sender=str(data.get("sender", "bot")),
            author=data.get("author"),
            extra=dict(data.get("extra") or {}),
        )


NAME_LIMIT = 64


def clean_name(name: str | None) -> str:
    """A person's name as a platform gives it, safe to show anywhere: no control or format
    characters (a right-to-left override, U+202E, would turn around the card or thread
    title it is shown in; zero-width characters could make two names look alike), one
    line, at most ``NAME_LIMIT`` characters. Each adapter cleans the names it receives."""
    if not name:
        return ""
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf"})
    return " ".join(kept.split())[:NAME_LIMIT]
