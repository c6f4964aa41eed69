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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.errors import ConfigError
from bot.settings import GroupSettings

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
