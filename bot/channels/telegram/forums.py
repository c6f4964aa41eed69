"""The agents' forum groups: which chat a routing group's topics live in, and how a topic
is named in ``desk_threads``. No aiogram here.

The desk's own group is ``TELEGRAM_AGENTS_CHAT_ID``; a routing group may name another
forum supergroup as its ``desk_target`` (``handoff.places``). Topic ids are only unique
within one chat, so a topic in another group is stored as ``<chat>:<thread>``; a topic
in the desk's own group keeps its bare thread id, as every topic did before groups had
places of their own (so existing rows need no migration).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.settings import GroupSettings
from handoff.places import DeskPlaces, desk_places

DESK = "telegram"  # this desk's name in settings.desk and in desk_threads


def forum_chat_id(text: str) -> int:
    """A ``desk_target`` as a supergroup id (a negative number), or ValueError."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value >= 0:
        raise ValueError("must be a forum supergroup's id, a negative number like -1001234567890")
    return value


def forum_places(groups: Sequence[GroupSettings], default: int) -> DeskPlaces[int]:
    """Each routing group's forum chat (ConfigError naming the group if one is bad)."""
    return desk_places(groups, default, forum_chat_id, desk=DESK)


def topic_ref(places: DeskPlaces[int], chat: int, thread: int) -> str:
    return str(thread) if chat == places.default else f"{chat}:{thread}"


def parse_topic_ref(places: DeskPlaces[int], ref: str) -> tuple[int, int]:
    """(chat, thread) of a stored topic."""
    chat, _, thread = ref.rpartition(":")
    return (int(chat) if chat else places.default), int(thread)
