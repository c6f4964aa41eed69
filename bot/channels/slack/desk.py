"""The agents' desk in a Slack channel: one card per case, the case's thread is the case.

The outbox hands us desk notices in order (one address, one at a time):

- ``case_opened``: post the card; its ``ts`` becomes the case's thread (``desk_threads``,
  ``channel:ts``), so an agent's reply in that thread finds its case again, even after a
  restart;
- ``customer_message``: post the customer's words in the thread, escaped, with the
  channel they came from (Slack or Telegram: the desk does not care);
- ``case_status``: re-render the card from the case (open, claimed by X, resolved by X;
  a reopened case offers Claim again) with ``chat.update`` and say it in the thread;
- any other notice about a case (SLA reminders, routing) goes in its thread, supervisors'
  alerts also in the channel; a notice about no case is posted in the channel.

A notice for a case without a card yet (opened while the desk was elsewhere) posts the
card first. If posting fails the notice stays pending and is retried (see ``web.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot import loggers
from bot.channels.slack.cards import CardData, card_blocks, fallback_text, origin
from bot.channels.slack.escape import escape
from bot.channels.slack.limits import MESSAGE_LIMIT, split
from bot.channels.slack.web import SlackOut
from bot.errors import ChannelError
from bot.messages import Reply
from bot.storage.repository import Repository
from handoff.cards import card_fields

DESK = "slack"
BROADCAST = {"supervisor_alert"}  # notices also shown in the channel, not only in the thread


def thread_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


class DeskSender:
    """The outbox's way to the agents' channel (address: the desk name, ``slack``)."""

    def __init__(
        self, out: SlackOut, repo: Repository, channel: str, now: Callable[[], datetime]
    ) -> None:
        self.out = out
        self.repo = repo
        self.channel = channel
        self.now = now

    async def send(self, address: str, reply: Reply) -> None:
        if address != DESK:  # queued for another desk before the setting changed
            raise ChannelError(f"desk notice for the {address!r} desk; this is the Slack desk")
        kind, number = reply.extra.get("kind"), reply.extra.get("case")
        if not isinstance(number, int):
            await self.out.post(self.channel, escape(reply.text))
            return
        if kind == "case_opened":
            await self._thread(number)
        elif kind == "customer_message":
            await self._customer_message(number, reply.extra)
        elif kind == "case_status":
            ts = await self._thread(number)
            card = await self._card(number)
            if card is not None:
                await self.out.update(self.channel, ts, fallback_text(card), card_blocks(card))
            await self.out.post(self.channel, escape(reply.text), thread_ts=ts)
        else:  # reminders, routing, supervisors' alerts: in the thread; alerts shown in the channel
            ts = await self._thread(number)
            await self.out.post(self.channel, escape(reply.text), thread_ts=ts,
                                broadcast=kind in BROADCAST)  # fmt: skip

    async def _thread(self, number: int) -> str:
        """The ts of the case's card in our channel, posting the card if there is none."""
        async with self.repo.transaction() as tx:
            row = await tx.desk_thread(number, DESK)
        if row is not None:
            channel, _, ts = row.thread_ref.partition(":")
            if channel == self.channel:
                return ts
        card = await self._card(number)
        if card is None:
            raise ChannelError(f"case #{number} does not exist")
        ts = await self.out.post(self.channel, fallback_text(card), blocks=card_blocks(card))
        ref = thread_ref(self.channel, ts)
        async with self.repo.transaction() as tx:
            await tx.set_desk_thread(number, DESK, ref, ref, self.now())
        loggers.channels.info("slack desk: card for case %s posted", number)
        return ts

    async def _card(self, number: int) -> CardData | None:
        async with self.repo.transaction() as tx:
            case = await tx.case(number)
            if case is None:
                return None
            conversation, _ = await tx.conversation_by_id(case.conversation_id)
            return CardData(card_fields(case), conversation.channel, case.status,
                            case.assigned_agent)  # fmt: skip

    async def _customer_message(self, number: int, extra: dict[str, Any]) -> None:
        ts = await self._thread(number)
        source = extra.get("source") or {}
        who = escape(str(extra.get("customer") or "Customer"))
        head = f"*{who}* ({origin(str(source.get('channel') or 'unknown'))}): "
        text = str(extra.get("text") or "")
        files = [a for a in extra.get("attachments") or [] if isinstance(a, dict)]
        if files:
            listed = ", ".join(f"{a.get('kind')} {a.get('name') or ''}".strip() for a in files)
            text = f"{text}\n[files kept with the conversation: {listed}]".strip()
        pieces = [escape(p) for p in split(text, MESSAGE_LIMIT - len(head))]
        pieces[0] = head + pieces[0]
        await self.out.post_all(self.channel, [(p, None) for p in pieces], thread_ts=ts)
