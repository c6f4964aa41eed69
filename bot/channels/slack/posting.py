"""Cards being posted: the window in which a case's thread exists in Slack but is not yet
known here.

A card's ``ts`` (its thread) is known only when ``chat.postMessage`` answers; it is
remembered then (and stored with the notice's "sent" mark a little later); but agents see
the card as soon as Slack has it, and may already reply in its thread. Such a reply
arrives for a thread we do not know yet. ``DeskSender`` therefore posts each card inside
``posting(channel)``, and an agent's message or tap in an unknown thread waits for
``settled(channel)`` and looks once more, instead of being dropped as "not a case".

In memory, per process: the process that posts the desk's cards is the one that receives
the agents' events (``slack_service``), so this covers every card it posts.

The same object remembers the threads the cards became (``remember``, ``case_of``,
``thread_of``): an agent's message or tap, and a customer's message relayed to the
desk, would otherwise each read ``desk_threads`` in a transaction of their own. Only
this process's ``DeskSender`` stores threads (one sending process per platform,
docs/scaling.md), and it tells this memory when a case's card moves, so what is
remembered stays true. It also keeps the card it last rendered for recent cases, so a
claim or a resolution re-renders the card from its notice's status and agent instead of
reading the case again (``DeskSender``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.channels.slack.cards import CardData
from handoff.places import RecentPlaces

REMEMBERED = 10_000  # cases whose thread is kept in memory (about 2 MB)
CARDS = 1_000  # cases whose card is kept as well (a card holds a short transcript)


class CardsInFlight:
    """Per channel, the cards posted whose thread is not stored yet. A message in a
    thread that is no case at all waits only for the cards being posted in its channel
    when it arrives (a moment, or a 429's wait: Slack has its answer by then, see
    ``acks.Budget``)."""

    def __init__(self, remembered: int = REMEMBERED, cards: int = CARDS) -> None:
        self._posting: dict[str, set[int]] = {}  # channel -> cards posted, not yet stored
        self._ids = itertools.count()
        self._changed = asyncio.Condition()
        self._threads: RecentPlaces[str, str] = RecentPlaces(remembered)
        self._card_size = cards
        self._cards: dict[int, CardData] = {}  # case -> its card as last rendered

    def remember(self, case: int, thread: str, card: CardData | None = None) -> None:
        """The case's thread now (a thread it had before is no longer the case's), and
        the card shown there, when known."""
        self._threads.remember(case, thread, thread)
        self._cards.pop(case, None)
        if card is not None:
            if len(self._cards) >= self._card_size:
                del self._cards[next(iter(self._cards))]
            self._cards[case] = card

    def thread_of(self, case: int) -> str | None:
        return self._threads.of(case)

    def card_of(self, case: int) -> CardData | None:
        """The case's card as this process last rendered it (None: read the case)."""
        return self._cards.get(case)

    def case_of(self, thread: str) -> int | None:
        return self._threads.case_at(thread)

    @asynccontextmanager
    async def posting(self, channel: str) -> AsyncIterator[None]:
        """Around posting a card and storing its thread (succeeding or not)."""
        card = next(self._ids)
        self._posting.setdefault(channel, set()).add(card)
        try:
            yield
        finally:
            cards = self._posting[channel]
            cards.discard(card)
            if not cards:
                del self._posting[channel]
            async with self._changed:
                self._changed.notify_all()

    async def settled(self, channel: str) -> None:
        """Until the cards being posted in ``channel`` now are stored (or failed): every
        thread visible there before this call is then known. Cards posted later are not
        waited for, so a busy desk cannot keep the caller waiting."""
        now = set(self._posting.get(channel, ()))
        async with self._changed:
            await self._changed.wait_for(lambda: not now & self._posting.get(channel, set()))
