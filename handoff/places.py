"""Where each routing group's cases appear on the agents' desk.

A routing group (``[[routing.groups]]``) may name its own ``desk_target``: on Telegram
the forum supergroup whose topics hold its cases, on Slack the channel whose threads do.
Groups without one use the desk's own place (``TELEGRAM_AGENTS_CHAT_ID``,
``SLACK_AGENTS_CHANNEL``). The desks ask this map, at the moment they post, where a case
belongs *now*: a case re-offered to the next group moves with its group.

What a target looks like depends on the desk, so each desk passes its own parser; a bad
target stops start-up with one line naming the group, like every other bad setting.

``RecentPlaces`` is the other way round: where recent cases *are* on a desk (a Slack
thread, a Telegram topic), as the process that put them there remembers it, so that
neither a notice nor an agent's reply has to read ``desk_threads`` for them.
``Unrecorded`` holds the places a desk made until they are stored, with the "sent" mark
of the notice that made them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from bot.delivery import AfterSent
from bot.errors import ConfigError
from bot.settings import GroupSettings
from bot.storage.repository import Tx

Message = tuple[str, str, str]  # (channel, chat, message id), as ``Tx.add_link`` takes them

P = TypeVar("P")
K = TypeVar("K")


@dataclass(frozen=True)
class DeskPlaces(Generic[P]):
    """The desk's place for each group (``default`` for groups that name none)."""

    default: P
    by_group: Mapping[str, P] = field(default_factory=dict)

    def of(self, group: str | None) -> P:
        """Where a case of ``group`` belongs; an unknown group (renamed in the settings
        since the case opened) falls back to the default place, never nowhere."""
        return self.by_group.get(group or "", self.default)

    @property
    def all(self) -> frozenset[P]:
        """Every place agents may act from (each checked for membership on its own)."""
        return frozenset({self.default, *self.by_group.values()})


def desk_places(
    groups: Sequence[GroupSettings], default: P, parse: Callable[[str], P], *, desk: str
) -> DeskPlaces[P]:
    """The places of the configured groups; ``parse`` turns a ``desk_target`` into the
    desk's kind of place or raises ``ValueError`` saying what it should look like."""
    by_group: dict[str, P] = {}
    for index, group in enumerate(groups):
        if group.desk_target is None or not group.desk_target.strip():
            continue
        try:
            by_group[group.name] = parse(group.desk_target.strip())
        except ValueError as exc:
            raise ConfigError(
                f"invalid setting routing.groups[{index}].desk_target (group {group.name!r}): "
                f"{exc} (the desk is {desk})"
            ) from None
    return DeskPlaces(default, by_group)


class RecentPlaces(Generic[P, K]):
    """Each recent case's place (``P``) and the case found at each place's key (``K``),
    for the ``size`` cases remembered last. A case remembered again leaves its old place:
    nothing is found there any more (the case moved to another group's channel or forum)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._places: dict[int, tuple[P, K]] = {}  # case -> (its place, the place's key)
        self._cases: dict[K, int] = {}  # a place's key -> the case there

    def remember(self, case: int, place: P, key: K) -> None:
        old = self._places.pop(case, None)
        if old is not None:
            self._cases.pop(old[1], None)
        if len(self._places) >= self._size:  # the oldest goes
            _, gone = self._places.pop(next(iter(self._places)))
            self._cases.pop(gone, None)
        self._places[case] = (place, key)
        self._cases[key] = case

    def of(self, case: int) -> P | None:
        known = self._places.get(case)
        return None if known is None else known[0]

    def case_at(self, key: K) -> int | None:
        return self._cases.get(key)


class Unrecorded:
    """Where a desk put cases (a thread, a card) and the messages it copied there, since
    its last notice went out; ``take`` hands them over to be stored with that notice's
    "sent" mark (``bot.delivery.AfterSent``), in the same transaction. A notice that
    failed halfway (to be tried again) leaves what it made to the next one that goes
    out: a desk's notices go one at a time, in order."""

    def __init__(self, desk: str) -> None:
        self.desk = desk
        self._places: dict[int, tuple[str, str | None]] = {}  # case -> (thread, card)
        self._copies: list[tuple[int, Message, Message]] = []  # case, source, copy

    def place(self, case: int, thread_ref: str, card_ref: str | None) -> None:
        self._places[case] = (thread_ref, card_ref)

    def copy(self, case: int, source: Message, copy: Message) -> None:
        self._copies.append((case, source, copy))

    def take(self) -> AfterSent | None:
        if not self._places and not self._copies:
            return None
        places, self._places = self._places, {}
        copies, self._copies = self._copies, []

        async def record(tx: Tx, now: datetime) -> None:
            for case, (thread_ref, card_ref) in places.items():
                await tx.set_desk_thread(case, self.desk, thread_ref, card_ref, now)
            for case, source, copy in copies:
                tx.add_link(case, source, copy, now)

        return record
