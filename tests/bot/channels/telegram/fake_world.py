"""The fake Telegram's world: people, chats, the messages in them, and the updates a
person's actions produce. Everything is plain Bot API JSON, as Telegram would send it."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

BOT_ID = 4242
TOKEN = f"{BOT_ID}:TEST-token_for-fake"
GROUP_ID = -1001234567890
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^<>]*>")
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "span", "blockquote", "tg-emoji"}  # fmt: skip
ADMIN_RIGHTS = ("can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info",
                "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
                "can_send_welcome_messages", "can_manage_topics")  # fmt: skip
MEDIA = ("photo", "document", "voice", "video", "audio", "animation", "sticker", "video_note")
OTHER = ("location", "contact", "venue", "poll", "dice", "game", "story")  # copied as they are


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    is_bot: bool = False

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}


BOT = Person(BOT_ID, "Acme Support", is_bot=True)


def private_chat(person: Person) -> dict[str, Any]:
    return {"id": person.id, "type": "private", "first_name": person.first_name}


GROUP = {"id": GROUP_ID, "type": "supergroup", "title": "Acme agents", "is_forum": True}


class BadRequest(Exception):
    """What Telegram answers with 400 (the message is its description)."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_html(text: str) -> str:
    """Check HTML the way Telegram does (400 "can't parse entities") and return the text
    a person sees."""
    stack: list[str] = []
    pos = 0
    shown = []
    for match in _TAG.finditer(text):
        shown.append(_checked_data(text[pos : match.start()]))
        closing, name = match.group(1), match.group(2).lower()
        if name not in ALLOWED_TAGS:
            raise BadRequest(f"Bad Request: can't parse entities: unsupported tag {name}")
        if closing:
            if not stack or stack.pop() != name:
                raise BadRequest(f"Bad Request: can't parse entities: unmatched end tag {name}")
        else:
            stack.append(name)
        pos = match.end()
    shown.append(_checked_data(text[pos:]))
    if stack:
        raise BadRequest("Bad Request: can't parse entities: unclosed tag")
    return "".join(shown)


def _checked_data(data: str) -> str:
    if "<" in data or ">" in data or "&" in _ENTITY.sub("", data):
        raise BadRequest("Bad Request: can't parse entities: unescaped character")
    replacements = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
    return _ENTITY.sub(lambda m: replacements.get(m.group(0), "?"), data)


@dataclass
class World:
    """Chats and their messages, and the ids Telegram would hand out. ``topics`` and
    ``members`` are the agents' forum group's (``GROUP``); ``add_forum`` makes another
    forum supergroup, whose own are in ``forum_topics`` and ``forum_members``."""

    chats: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)  # thread id -> state
    members: dict[int, str] = field(default_factory=dict)  # agents' group membership
    forums: dict[int, dict[str, Any]] = field(default_factory=lambda: {GROUP_ID: GROUP})
    forum_topics: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    forum_members: dict[int, dict[int, str]] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)  # file id -> what was sent
    _message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    _files: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _queries: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))

    def new_message(
        self, chat: dict[str, Any], sender: Person, thread: int | None = None, **content: Any
    ) -> dict[str, Any]:
        ids = self._message_ids.setdefault(chat["id"], itertools.count(1))
        message: dict[str, Any] = {
            "message_id": next(ids), "date": int(time.time()), "chat": chat,
            "from": sender.json(), **{k: v for k, v in content.items() if v is not None},
        }  # fmt: skip
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        self.chats.setdefault(chat["id"], []).append(message)
        return message

    def __post_init__(self) -> None:
        self.forum_topics[GROUP_ID] = self.topics
        self.forum_members[GROUP_ID] = self.members

    def add_forum(self, chat_id: int, title: str) -> dict[str, Any]:
        """Another forum supergroup (a routing group's place on the desk)."""
        chat = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        self.forums[chat_id] = chat
        self.forum_topics[chat_id], self.forum_members[chat_id] = {}, {}
        return chat

    def new_file_id(self, kind: str) -> str:
        return f"{kind}-{next(self._files)}"

    def find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in self.chats.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def media(self, kind: str, name: str | None = None) -> dict[str, Any]:
        n = next(self._files)
        file: dict[str, Any] = {"file_id": f"{kind}-{n}", "file_unique_id": f"u{kind}{n}"}
        if kind == "photo":
            return {"photo": [{**file, "width": 90, "height": 90},
                              {**file, "file_id": f"{kind}-{n}-big", "width": 800,
                               "height": 800}]}  # fmt: skip
        if kind == "document":
            file["file_name"] = name or "receipt.pdf"
        if kind == "voice":
            file["duration"] = 3
        if kind == "sticker":
            file.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        return {kind: file}

    def query_id(self) -> str:
        return str(next(self._queries))


def kind_of(message: dict[str, Any]) -> str:
    for kind in (*MEDIA, *OTHER):
        if kind in message:
            return kind
    return "text" if "text" in message else "other"


def shown(message: dict[str, Any]) -> str:
    """A message as a person would read it: its text, or ``[photo] caption``."""
    kind = kind_of(message)
    if kind == "text":
        return str(message["text"])
    return f"[{kind}] {message.get('caption', '')}".strip()


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]
