"""Agents working a case in its thread of an agents' channel.

A message in a case's thread is the agent's reply to the customer, whatever the
customer's platform (``Desk.reply`` queues it for that channel); ``/note …`` (or
``!note …``, which Slack's composer does not take for a slash command) stays internal;
``/resolve [summary]`` or the card's Resolve button hands the customer back to the bot;
``/export`` (``!export``) sends the customer a copy of their data, as a file in their
chat (``Desk.export``: verified customers only). Claim and Resolve on the card go through
``Desk`` too, so two agents claiming at once get one owner and the other is told who won
(privately, by an ephemeral message).

The cases live in several channels (the agents' channel and each routing group's own,
``handoff.places``). Only members of the channel a case's thread is in act on it; anyone
else is told so privately, nothing is relayed, and the attempt is recorded in the case's
audit trail. Each Slack message or tap carries its own key (``slack:<channel>:<ts>``, the
action's ``action_ts``), written by ``Desk`` in the same transaction as the effect, so a
redelivered event changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import loggers
from bot.channels.slack import translate
from bot.channels.slack.acks import Budget, retry_number
from bot.channels.slack.cards import CLAIM, RESOLVE
from bot.channels.slack.desk import DESK, thread_ref
from bot.channels.slack.directory import Directory
from bot.channels.slack.posting import CardsInFlight
from bot.channels.slack.web import SlackOut
from bot.errors import HandoffError
from bot.storage.repository import Repository
from handoff.places import DeskPlaces
from handoff.service import Desk

NOTE = re.compile(r"^\s*[/!]note\b:?\s*", re.IGNORECASE)
RESOLVE_COMMAND = re.compile(r"^\s*[/!]resolve\b:?\s*", re.IGNORECASE)
EXPORT_COMMAND = re.compile(r"^\s*[/!]export\b", re.IGNORECASE)
NOT_AN_AGENT = (
    "Only members of the agents' channel can work on cases, so this was not sent to the customer."
)
NO_FILES = "Files are not passed on to the customer; describe it in words or share a link."
TRY_AGAIN = "Sorry, that could not be processed because of a problem on our side. Try again."
NOT_THE_CASE = "This card is no longer its case's: the case may have moved to another group."


@dataclass(frozen=True)
class Where:
    """A case's thread: the channel it is in and the ts of its card."""

    channel: str
    thread_ts: str


@dataclass
class AgentDesk:
    bolt: AsyncApp
    desk: Desk
    repo: Repository
    directory: Directory
    out: SlackOut
    budget: Budget
    places: DeskPlaces[str]
    now: Callable[[], datetime]
    cards: CardsInFlight

    def register(self) -> None:
        async def in_agents_channel(event: dict[str, Any]) -> bool:
            return event.get("channel") in self.places.all

        self.bolt.event("message", matchers=[in_agents_channel])(self.on_message)
        self.bolt.action(CLAIM)(self.on_button)
        self.bolt.action(RESOLVE)(self.on_button)

    async def on_message(
        self, event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest
    ) -> BoltResponse | None:
        what = f"event {body.get('event_id')}"
        parts = translate.person_message(event)
        thread_ts = event.get("thread_ts")
        if isinstance(parts, translate.Ignored):
            loggers.channels.info("slack desk: %s ignored: %s", what, parts.reason)
            return None
        channel, user, ts, text = parts
        if not isinstance(thread_ts, str) or thread_ts == ts:
            loggers.channels.debug("slack desk: %s is not in a thread; ignored", what)
            return None

        async def work() -> None:
            await self._agent_said(Where(channel, thread_ts), user, ts, text, event)

        async def give_up() -> None:
            await self.out.tell(channel, user, TRY_AGAIN, thread_ts=thread_ts)

        retries = retry_number(request.headers)
        return await self.budget.run(work(), what=what, give_up=give_up, retry_num=retries)

    async def on_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> BoltResponse | None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        channel = (body.get("channel") or {}).get("id")
        card_ts = (body.get("container") or {}).get("message_ts")
        if channel not in self.places.all or not isinstance(card_ts, str) or not user:
            loggers.channels.info("slack desk: case button outside the agents' channels ignored")
            return None
        where = Where(str(channel), card_ts)

        async def work() -> None:
            await self._button(where, user, action)

        async def give_up() -> None:
            await self.out.tell(where.channel, user, TRY_AGAIN, thread_ts=card_ts)

        what = f"{action.get('action_id')} tap"
        return await self.budget.run(work(), what=what, give_up=give_up, retried_by_slack=False)

    # ------------------------------------------------------------------------

    async def _agent_said(
        self, where: Where, user: str, ts: str, text: str, event: dict[str, Any]
    ) -> None:
        number = await self._case_of(where)
        if number is None:
            loggers.channels.debug("slack desk: a thread that is not a case; ignored")
            return
        key = f"slack:{where.channel}:{ts}"
        if not await self._agent_or_refuse(number, user, key, where):
            return
        if translate.attachments(event):
            await self._tell(where, user, NO_FILES)
            if not text.strip():
                return
        name = await self._name(user, event.get("user_profile"))
        try:
            if note := NOTE.match(text):
                result = await self.desk.note(number, name, text[note.end() :], event_key=key)
                await self._tell(where, user, result)
            elif resolve := RESOLVE_COMMAND.match(text):
                summary = text[resolve.end() :]
                await self.desk.resolve(number, name, summary, event_key=key)
            elif EXPORT_COMMAND.match(text):
                await self._tell(where, user, await self.desk.export(number, name, event_key=key))
            else:
                await self.desk.reply(number, name, text, event_key=key)
        except HandoffError as exc:
            await self._tell(where, user, str(exc))

    async def _button(self, where: Where, user: str, action: dict[str, Any]) -> None:
        number = await self._case_of(where)
        if number is None or str(number) != action.get("value"):
            loggers.channels.warning("slack desk: case button on a card that is not the case's")
            await self._tell(where, user, NOT_THE_CASE)
            return
        key = f"slack:action:{action.get('action_ts')}:{user}"
        if not await self._agent_or_refuse(number, user, key, where):
            return
        name = await self._name(user, None)
        try:
            if action.get("action_id") == CLAIM:
                await self.desk.claim(number, name, event_key=key)
            else:
                await self.desk.resolve(number, name, event_key=key)
        except HandoffError as exc:
            await self._tell(where, user, str(exc))

    async def _case_of(self, where: Where) -> int | None:
        """The case whose thread this is. A thread we do not know may be a card whose
        ``ts`` is still on its way to the database (the agent was quicker than Slack's
        answer to us): look again once the cards being posted there are stored."""
        number = await self._stored_case(where)
        if number is None:
            await self.cards.settled(where.channel)
            number = await self._stored_case(where)
        return number

    async def _stored_case(self, where: Where) -> int | None:
        """Remembered where the desk's sender stored or found it, else read."""
        ref = thread_ref(where.channel, where.thread_ts)
        if (number := self.cards.case_of(ref)) is not None:
            return number
        async with self.repo.transaction() as tx:
            return await tx.case_for_thread(DESK, ref)

    async def _agent_or_refuse(self, number: int, user: str, key: str, where: Where) -> bool:
        """A member of the channel the case's thread is in acts; nobody else does."""
        if await self.directory.is_agent(user, where.channel):
            return True
        loggers.channels.warning("slack desk: a non-agent tried to act on case %s", number)
        async with self.repo.transaction() as tx:
            if await tx.first_time(key, self.now()):
                tx.add_case_event(number, f"slack:{user}", "refused_non_agent", self.now())
        await self._tell(where, user, NOT_AN_AGENT)
        return False

    async def _tell(self, where: Where, user: str, text: str) -> None:
        await self.out.tell(where.channel, user, text, thread_ts=where.thread_ts)

    async def _name(self, user: str, profile: Any) -> str:
        """The agent's name as the customer sees it (and as the case's owner)."""
        name = await self.directory.name(user, profile if isinstance(profile, dict) else None)
        return (name or user)[:100]
