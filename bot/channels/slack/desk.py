"""The agents' desk in Slack channels: one card per case, the case's thread is the case.

Each routing group's cases go to its own channel (the group's ``desk_target``, else the
agents' channel, see ``handoff.places``). The outbox hands us desk notices in order (one
address, one at a time):

- ``case_opened``: post the card in the case's channel; its ``ts`` becomes the case's
  thread (``desk_threads``, ``channel:ts``), so an agent's reply in that thread finds its
  case again, even after a restart. The thread is remembered at once and stored with
  the notice's "sent" mark (``send`` returns it, ``bot.delivery.AfterSent``); a crash
  before the mark lands posts the card again, as any message is sent again. So a
  case's first notice never finds a thread on record, and it carries the card and the
  customer's channel: it reads nothing. Agents can reply as soon as Slack shows the
  card, before its ``ts`` has come back: the card is posted inside ``cards.posting``
  (``posting.py``), so such a reply waits for it instead of being taken for a message
  in a thread that is no case;
- ``customer_message``: post the customer's words in the thread, escaped, with the
  channel they came from (Slack or Telegram: the desk does not care); the thread is
  the one remembered (``CardsInFlight.thread_of``), so a relayed message reads nothing;
- ``case_status``: re-render the card from the case (open, claimed by X, resolved by X;
  a reopened case offers Claim again) with ``chat.update`` and say it in the thread; a
  claim's or a resolution's notice carries the status and agent, and the card last
  rendered is remembered (``CardsInFlight``), so those read nothing;
- any other notice about a case (SLA reminders, routing) goes in its thread, supervisors'
  alerts also in the channel; a notice about no case is posted in the agents' channel.

Whatever the notice, the case's thread must be in the channel of the case's group *now*.
A case re-offered to the next group (``case_routed``) whose channel differs gets a fresh
card there, which becomes its thread; the old card is re-rendered as "moved to #…" without
buttons and a pointer is left in the old thread, so nobody there waits on it. A notice for
a case without a card yet (opened while the desk was elsewhere) posts the card first. If
posting fails the notice stays pending and is retried (see ``web.py``); only the courtesy
steps in the old thread are best-effort (logged), since retrying them would mean posting
the new card twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import loggers
from bot.channels.slack.cards import CardData, card_blocks, fallback_text, origin
from bot.channels.slack.escape import escape
from bot.channels.slack.limits import MESSAGE_LIMIT, split
from bot.channels.slack.posting import CardsInFlight
from bot.channels.slack.web import SlackOut
from bot.delivery import AfterSent
from bot.errors import ChannelError
from bot.messages import Reply, clean_name
from bot.storage.repository import Repository
from handoff.cards import card_fields, carried_status
from handoff.places import DeskPlaces, Unrecorded

DESK = "slack"
BROADCAST = {"supervisor_alert"}  # notices also shown in the channel, not only in the thread
MOVED = (
    "Case #{number} now belongs to the {group} group: it continues in <#{channel}>. "
    "Nothing more is relayed here."
)


def thread_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def parse_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    return channel, ts


class DeskSender:
    """The outbox's way to the agents' channels (address: the desk name, ``slack``)."""

    def __init__(
        self, out: SlackOut, repo: Repository, places: DeskPlaces[str],
        now: Callable[[], datetime], cards: CardsInFlight,
    ) -> None:  # fmt: skip
        self.out = out
        self.repo = repo
        self.places = places
        self.now = now
        self.cards = cards
        self.unrecorded = Unrecorded(DESK)  # cards' threads, stored with marks

    async def send(self, address: str, reply: Reply) -> AfterSent | None:
        await self._send(address, reply)
        return self.unrecorded.take()

    async def _send(self, address: str, reply: Reply) -> None:
        if address != DESK:  # queued for another desk before the setting changed
            raise ChannelError(f"desk notice for the {address!r} desk; this is the Slack desk")
        kind, number = reply.extra.get("kind"), reply.extra.get("case")
        if not isinstance(number, int):
            await self.out.post(self.places.default, escape(reply.text))
            return
        if kind == "case_opened":
            await self._thread(number, reply.extra)
        elif kind == "customer_message":
            await self._customer_message(number, reply.extra)
        elif kind == "case_status":
            channel, ts, card = await self._thread(number, reply.extra)
            await self.out.update(channel, ts, fallback_text(card), card_blocks(card))
            await self.out.post(channel, escape(reply.text), thread_ts=ts)
        else:  # reminders, routing, supervisors' alerts: in the thread; alerts shown in the channel
            channel, ts, _ = await self._thread(number)
            await self.out.post(channel, escape(reply.text), thread_ts=ts,
                                broadcast=kind in BROADCAST)  # fmt: skip

    async def _thread(
        self, number: int, notice: dict[str, Any] | None = None
    ) -> tuple[str, str, CardData]:
        """(channel, ts) of the case's card in its group's channel, posting the card there
        if it has none yet, or if the case has moved there from another channel; and the
        card's current contents. A status notice that carries the case's status and
        agent needs no read when this process remembers the card (``_remembered_card``)."""
        notice = notice or {}
        known = self._remembered_card(number, notice)
        if known is not None:
            return known
        card, thread = _opening(notice) or await self._lookup(number)
        thread = self.cards.thread_of(number) or thread  # ours; its record may be on its way
        if card is None:
            raise ChannelError(f"case #{number} does not exist")
        channel = self.places.of(card.fields.get("group"))
        old = parse_ref(thread) if thread is not None else None
        if old is not None and old[0] == channel:
            self.cards.remember(number, thread_ref(*old), card)
            return old[0], old[1], card
        async with self.cards.posting(channel):  # agents may reply before it is stored
            ts = await self.out.post(channel, fallback_text(card), blocks=card_blocks(card))
            ref = thread_ref(channel, ts)
            self.unrecorded.place(number, ref, ref)
            self.cards.remember(number, ref, card)
        loggers.channels.info("slack desk: card for case %s posted", number)
        if old is not None:
            await self._leave_behind(old, card, channel)
        return channel, ts, card

    async def _leave_behind(self, old: tuple[str, str], card: CardData, channel: str) -> None:
        """The case moved: its old card says where, without buttons, and its old thread
        gets a pointer. Best-effort: the case already lives in its new thread."""
        moved = replace(card, moved_to=channel)
        group = escape(str(card.fields.get("group") or "another"))
        pointer = MOVED.format(number=card.fields.get("number"), group=group, channel=channel)
        try:
            await self.out.update(old[0], old[1], fallback_text(moved), card_blocks(moved))
            await self.out.post(old[0], pointer, thread_ts=old[1])
        except ChannelError as exc:
            loggers.channels.warning("slack desk: old thread of case %s not updated: %s",
                                     card.fields.get("number"), exc)  # fmt: skip

    def _remembered_card(
        self, number: int, extra: dict[str, Any]
    ) -> tuple[str, str, CardData] | None:
        """The remembered card with the status and agent a status notice carries
        (``handoff.cards.status_notice``, written with the case's change). Nothing
        else on a card changes while its case stays in its channel: a move to another
        group comes as a ``case_routed`` notice, which reads the case."""
        card, thread = self.cards.card_of(number), self.cards.thread_of(number)
        carried = carried_status(extra)
        if card is None or thread is None or carried is None:
            return None
        channel, ts = parse_ref(thread)
        if channel != self.places.of(card.fields.get("group")):
            return None
        card = replace(card, status=carried[0], agent=carried[1])
        self.cards.remember(number, thread, card)
        return channel, ts, card

    async def _lookup(self, number: int) -> tuple[CardData | None, str | None]:
        """The case's card and its stored thread, in one transaction (a notice's only
        database work before it is posted)."""
        async with self.repo.transaction() as tx:
            found = await tx.case_on_desk(number, DESK)
        if found is None:
            return None, None
        case = found.case
        card = CardData(card_fields(case), found.channel, case.status, case.assigned_agent)
        return card, found.thread_ref

    async def _customer_message(self, number: int, extra: dict[str, Any]) -> None:
        """Into the case's thread: the one remembered (no database read) unless the case
        has not been seen since the start; a move to another group comes as a notice of
        its own first, which looks the case up again."""
        known = self.cards.thread_of(number)
        if known is not None:
            channel, ts = parse_ref(known)
        else:
            channel, ts, _ = await self._thread(number)
        source = extra.get("source") or {}
        who = escape(clean_name(extra.get("customer")) or "Customer")
        head = f"*{who}* ({origin(str(source.get('channel') or 'unknown'))}): "
        text = str(extra.get("text") or "")
        files = [a for a in extra.get("attachments") or [] if isinstance(a, dict)]
        if files:
            listed = ", ".join(f"{a.get('kind')} {a.get('name') or ''}".strip() for a in files)
            text = f"{text}\n[files kept with the conversation: {listed}]".strip()
        pieces = [escape(p) for p in split(text, MESSAGE_LIMIT - len(head))]
        pieces[0] = head + pieces[0]
        await self.out.post_all(channel, [(p, None) for p in pieces], thread_ts=ts)


def _opening(notice: dict[str, Any]) -> tuple[CardData, None] | None:
    """A case's first notice carries its card and the customer's channel, and no thread
    of its case can be on record yet (see the module's doc): no read needed."""
    card, channel = notice.get("card"), notice.get("channel")
    if notice.get("kind") != "case_opened" or not isinstance(card, dict):
        return None
    if not isinstance(channel, str):
        return None  # queued by a version that did not say
    return CardData(card, channel, "open", None), None
