"""The agents' forum groups: which chat a routing group's topics live in, and how a topic
is named in ``desk_threads``. No aiogram here.

The desk's own group is ``TELEGRAM_AGENTS_CHAT_ID``; a routing group may name another
forum supergroup as its ``desk_target`` (``handoff.places``). Topic ids are only unique
within one chat, so a topic in another group is stored as ``<chat>:<thread>``; a topic
in the desk's own group keeps its bare thread id, as every topic did before groups had
places of their own (so existing rows need no migration).

``KnownTopics`` remembers where this process placed each recent case's topic. Only the
process that sends the desk's notices places topics (one sending process per platform,
docs/scaling.md), and it is the one that receives the agents' posts and taps, so both
sides find a case's topic, or a topic's case, without reading ``desk_threads``; what is
not remembered (after a restart, or an old case) is read as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.settings import GroupSettings
from handoff.places import DeskPlaces, RecentPlaces, desk_places

DESK = "telegram"  # this desk's name in settings.desk and in desk_threads
REMEMBERED = 10_000  # cases whose topic is kept in memory (a few MB)


@dataclass(frozen=True)
class Topic:
    chat_id: int
    thread_id: int
    card_id: int | None
    name: str
    claimed: bool = False


class KnownTopics:
    """Each recent case's topic and routing group, as last placed by this process."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._known: RecentPlaces[tuple[Topic, str], tuple[int, int]] = RecentPlaces(size)

    def remember(self, case: int, topic: Topic, group: str | None = None) -> None:
        """The case's topic now; without ``group``, the group known (if none is known,
        nothing is remembered). A topic the case had before is no longer the case's."""
        if group is None:
            known = self._known.of(case)
            if known is None:
                return
            group = known[1]
        self._known.remember(case, (topic, group), (topic.chat_id, topic.thread_id))

    def of(self, case: int) -> tuple[Topic, str] | None:
        return self._known.of(case)

    def case_at(self, chat: int, thread: int) -> int | None:
        return self._known.case_at((chat, thread))


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
