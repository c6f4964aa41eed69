"""The one internal message type, and what the bot sends back.

Channel adapters translate platform events into ``Message`` and render ``Reply``;
nothing past the adapters knows which platform a customer is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A quick reply: ``label`` is shown, ``payload`` comes back when it is chosen."""

    label: str
    payload: str


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
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """A message for a customer or for the agents' desk, as stored in the outbox."""

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
