"""The agents' desk in Telegram forum groups: one topic per case.

This is the outbox sender for desk notices (channel ``desk``, address ``telegram``).
All notices go to one address, so they are delivered one at a time and in order: a
case's topic always exists before anything is posted in it. What a notice creates is
remembered at once (``known``), so a notice retried after a 429 does not create a
second topic or card; the case's topic and card, and the files copied into it, are
stored with the notice's "sent" mark (``send`` returns them, ``bot.delivery.AfterSent``),
in the same transaction. A crash before the mark lands sends the notice again, as for
any message (at-least-once): a second topic is opened, with the card and the files. So a
case's first notice (``case_opened``) never finds its case placed on record: it opens
the topic with what the notice carries and reads nothing. Everything a customer wrote
is HTML-escaped; names go into topic titles, which are plain text.

Each routing group's cases go to its own forum group (``forums``). Whatever the
notice, a case's topic must be in its group's forum *now*: a case re-offered to a group
in another forum (``case_routed``) gets a fresh topic there with its card, and the old
topic is left with a pointer, its card's buttons removed, and closed, so nobody there
waits on it. Those courtesy steps in the old topic are best-effort (logged): retrying
them would mean opening the new topic twice.

The topic of each recent case is remembered (``_remembered``): a customer's relayed
message, a claim's and a resolution's notice post in it without reading the case.
"""

from __future__ import annotations

import html
from dataclasses import replace
from functools import partial
from typing import Any

from aiogram import Bot, types
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot import loggers
from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.forums import DESK, KnownTopics, Topic, parse_topic_ref, topic_ref
from bot.channels.telegram.limits import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    PartialSends,
    Step,
    fingerprint,
    outbox_errors,
    split_text,
    truncate,
)
from bot.channels.telegram.sent import SentMessage, send_text
from bot.channels.telegram.translate import CHANNEL, message_ref
from bot.delivery import AfterSent
from bot.errors import ChannelError, SupportBotError
from bot.messages import Reply, clean_name
from bot.storage.case_records import CaseOnDesk
from bot.storage.models import Case
from bot.storage.repository import Repository
from handoff.cards import card_fields, carried_status
from handoff.places import DeskPlaces, Unrecorded

__all__ = ["DESK", "TopicSender", "card_html"]
COPIES = "telegram-desk"  # message_links.dst_channel of files copied into topics
EARLIER_FILES = 10  # at most this many files from before the handoff are copied
CAPTIONED = frozenset({"photo", "document", "video", "audio", "animation", "voice"})
HOW_TO = (
    "Write in this topic to answer the customer. <code>/note TEXT</code> stays internal; "
    "<code>/resolve [summary]</code> hands the chat back to the bot; "
    "<code>/export</code> sends the customer a copy of their data."
)
MOVED = "Case #{number} now belongs to the {group} group: it continues in their topic."


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


class TopicSender:
    def __init__(
        self, bot: Bot, repo: Repository, signer: CallbackSigner, places: DeskPlaces[int],
        known: KnownTopics | None = None,
    ) -> None:  # fmt: skip
        self.bot = bot
        self.repo = repo
        self.signer = signer
        self.places = places
        self.partial = PartialSends()
        self.known = known or KnownTopics()  # shared with the desk's router
        self.unrecorded = Unrecorded(DESK)  # topics, cards and copies, stored with marks

    async def send(self, address: str, reply: Reply) -> AfterSent | None:
        async with outbox_errors("telegram agents' group"):
            await self._send(address, reply)
        return self.unrecorded.take()

    def _place(self, number: int, topic: Topic, group: str | None = None) -> None:
        """Where the case is now: remembered at once, stored with the notice's mark."""
        card = None if topic.card_id is None else str(topic.card_id)
        self.unrecorded.place(number, topic_ref(self.places, topic.chat_id, topic.thread_id), card)
        self.known.remember(number, topic, group)

    async def _send(self, address: str, reply: Reply) -> None:
        if address != DESK:
            raise ChannelError(f"a notice for the {address!r} desk reached the Telegram desk")
        try:
            steps = await self._plan(reply)
            await self.partial.run(address, fingerprint(reply.to_json()), steps)
        except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError,
                TelegramForbiddenError, SupportBotError):  # fmt: skip
            raise  # it may work later: the notice stays pending
        except Exception:
            # Refused for good (a deleted topic, missing rights) or a bug: one notice must
            # not block every later one, so it goes to the General topic instead.
            loggers.channels.exception("telegram desk: notice not placed; posting in General")
            await self._post(None, esc(truncate(reply.text, TEXT_LIMIT - 100)))

    async def _plan(self, reply: Reply) -> list[Step]:
        extra = reply.extra
        if extra.get("case") is None:
            return [partial(self._post, None, esc(reply.text))]
        number = int(extra["case"])
        kind = extra.get("kind")
        topic = self._remembered(number, extra) or await self._topic(number, extra)
        if kind == "case_opened":
            # The notice says how many files came before the case (older notices do not)
            files = await self._earlier_files(number) if extra.get("files", 1) else []
            card = card_html(extra.get("card") or {}, reply.text, len(files))
            return [partial(self._card, number, topic, card),
                    *(partial(self._copy, number, topic, f, None) for f in files)]  # fmt: skip
        if kind == "customer_message":
            return self._relay(topic, extra)
        if kind == "case_status":
            return self._status(number, topic, str(extra.get("status")), reply.text)
        return [partial(self._post, topic, esc(reply.text))]

    # topics and cards ---------------------------------------------------------

    def _remembered(self, number: int, extra: dict[str, Any]) -> Topic | None:
        """The case's topic without reading the case, for the notices that can do
        without: a customer's message, and a status notice that carries the case's
        status and agent (``handoff.cards.status_notice``); and a ``case_opened`` notice
        tried before, whose topic is there, with its card or not. A move to another
        group's forum comes as a ``case_routed`` notice first, which reads the case and
        opens the new topic."""
        known = self.known.of(number)
        kind = extra.get("kind")
        if known is None:
            return None
        topic, group = known
        if topic.chat_id != self.places.of(group):
            return None
        if kind == "case_opened":
            return topic
        if topic.card_id is None:
            return None
        if kind == "customer_message":
            return topic
        carried = carried_status(extra)
        if carried is not None:
            topic = replace(topic, claimed=carried[1] is not None)
            self.known.remember(number, topic)
            return topic
        return None

    async def _topic(self, number: int, extra: dict[str, Any]) -> Topic:
        """The case's topic in its group's forum, created there on first use (named
        #number, customer, category) or when the case has moved from another forum. A
        new topic gets its card at once, unless the notice is ``case_opened``, which
        posts the card itself, with the files sent before the handoff.

        ``case_opened`` carries what naming the topic needs and finds nothing placed
        (see the module's doc): it reads nothing. Other notices read the case, and trust
        the place this process remembers over the stored one, which may not have
        landed yet."""
        card_now = extra.get("kind") != "case_opened"
        card = extra.get("card")
        if not card_now and isinstance(card, dict) and isinstance(card.get("group"), str):
            name = topic_name(number, card.get("customer"), card.get("category"))
            return await self._open(number, name, card["group"], claimed=False)
        async with self.repo.transaction() as tx:
            found = await tx.case_on_desk(number, DESK)
        if found is None:  # not a ChannelError: that would hold up every later notice
            raise LookupError(f"case #{number} does not exist")
        case = found.case
        name = topic_name(number, (case.details or {}).get("customer"), case.category)
        chat, claimed = self.places.of(case.group), bool(case.assigned_agent)
        old = self._placed(number, found)
        if old is not None:
            old = replace(old, name=name, claimed=claimed)
            if old.chat_id == chat:
                topic = await self._with_card(case, old) if card_now else old
                self.known.remember(number, topic, case.group)
                return topic
        topic = await self._open(number, name, case.group, claimed)
        if card_now or old is not None:
            topic = await self._with_card(case, topic)
        if old is not None:
            await self._leave_behind(old, number, case.group)
        return topic

    def _placed(self, number: int, found: CaseOnDesk) -> Topic | None:
        known = self.known.of(number)
        if known is not None:
            return known[0]
        if found.thread_ref is None:
            return None
        at, thread_id = parse_topic_ref(self.places, found.thread_ref)
        card = int(found.card_ref) if found.card_ref else None
        return Topic(at, thread_id, card, "", False)

    async def _open(self, number: int, name: str, group: str, claimed: bool) -> Topic:
        chat = self.places.of(group)
        created = await self.bot.create_forum_topic(chat, name)
        topic = Topic(chat, created.message_thread_id, None, name, claimed)
        self._place(number, topic, group)  # the case's topic now
        loggers.channels.info("telegram desk: topic %s opened for case %s in chat %s",
                              created.message_thread_id, number, chat)  # fmt: skip
        return topic

    async def _with_card(self, case: Case, topic: Topic) -> Topic:
        """A topic opened by any notice but ``case_opened`` still starts with the card."""
        if topic.card_id is not None:
            return topic
        text = card_html(card_fields(case), "", 0)
        sent = await self._post(topic, text, self._card_buttons(case.id, topic))
        topic = replace(topic, card_id=sent.message_id)
        self._place(case.id, topic, case.group)
        return topic

    async def _leave_behind(self, old: Topic, number: int, group: str) -> None:
        """The case moved to another forum: say where in its old topic, take the old
        card's buttons away and close the topic. Best-effort (see the module's doc)."""
        pointer = f"<i>{esc(MOVED.format(number=number, group=group))}</i>"
        steps: list[Step] = [
            partial(self._post, old, pointer),
            partial(self.bot.close_forum_topic, old.chat_id, old.thread_id),
        ]
        if old.card_id is not None:
            steps.insert(1, partial(self.bot.edit_message_reply_markup, chat_id=old.chat_id,
                                    message_id=old.card_id, reply_markup=None))  # fmt: skip
        for step in steps:
            try:
                await step()
            except TelegramAPIError as exc:
                loggers.channels.warning("telegram desk: old topic of case %s: %s", number, exc)

    async def _card(self, number: int, topic: Topic, text: str) -> None:
        if topic.card_id is not None:
            return  # posted before a retry
        sent = await self._post(topic, text, self._card_buttons(number, topic))
        self._place(number, replace(topic, card_id=sent.message_id))

    def _card_buttons(self, number: int, topic: Topic) -> types.InlineKeyboardMarkup:
        """Claim (until someone has) and Resolve; the data is signed for the topic's group."""
        actions = (
            [("Resolve", "resolve")]
            if topic.claimed
            else [("Claim", "claim"), ("Resolve", "resolve")]
        )
        row = [
            types.InlineKeyboardButton(
                text=label,
                callback_data=self.signer.case_action(topic.chat_id, action, number),
            )
            for label, action in actions
        ]
        return types.InlineKeyboardMarkup(inline_keyboard=[row])

    async def _earlier_files(self, number: int) -> list[tuple[str, int]]:
        """Files the customer sent while the bot had the chat, not yet on the desk."""
        found: list[tuple[str, int]] = []
        async with self.repo.transaction() as tx:
            case = await tx.case(number)
            records = await tx.conversation_attachments(case.conversation_id) if case else []
            for record in records[-5 * EARLIER_FILES :]:  # the recent ones are enough
                ref = message_ref(record.dedupe_key)
                if record.case_id is not None or ref is None:
                    continue  # sent during a handoff: relayed already
                links = await tx.links_from((CHANNEL, ref[0], str(ref[1])))
                if not any(link.dst_channel == COPIES for link in links):
                    found.append(ref)
        return found[-EARLIER_FILES:]

    async def _copy(
        self, number: int, topic: Topic, ref: tuple[str, int], caption: str | None
    ) -> None:
        try:
            copied = await self.bot.copy_message(
                topic.chat_id, ref[0], ref[1], message_thread_id=topic.thread_id,
                caption=caption, parse_mode=ParseMode.HTML if caption else None,
            )  # fmt: skip
        except TelegramBadRequest as exc:  # deleted by the customer, or not copyable
            loggers.channels.warning("telegram desk: file of case %s not copied: %s", number, exc)
            await self._post(topic, "<i>The customer sent a file that could not be copied.</i>")
            return
        copy = (COPIES, str(topic.chat_id), str(copied.message_id))
        self.unrecorded.copy(number, (CHANNEL, ref[0], str(ref[1])), copy)

    # relays and status ---------------------------------------------------------

    def _relay(self, topic: Topic, extra: dict[str, Any]) -> list[Step]:
        """The customer's message in the topic: text escaped, files copied."""
        who = f"<b>{esc(clean_name(extra.get('customer')) or 'Customer')}:</b>"
        text = str(extra.get("text") or "")
        attachments = [a for a in extra.get("attachments") or [] if isinstance(a, dict)]
        source = extra.get("source") or {}
        message_id = str(source.get("message_id") or "")
        if attachments and source.get("channel") == CHANNEL and message_id.isdigit():
            ref = (str(source.get("chat_id")), int(message_id))
            placeholder = " ".join(f"[{a.get('kind')}]" for a in attachments)
            said = "" if text.strip() == placeholder else text
            caption = None
            if attachments[0].get("kind") in CAPTIONED:
                caption = f"{who} {esc(truncate(said, CAPTION_LIMIT - 100))}".strip()
            return [partial(self._copy, int(extra["case"]), topic, ref, caption)]
        chunks = split_text(text, TEXT_LIMIT - 100) or ["(empty message)"]
        return [partial(self._post, topic, f"{who} {esc(chunk)}" if i == 0 else esc(chunk))
                for i, chunk in enumerate(chunks)]  # fmt: skip

    def _status(self, number: int, topic: Topic, status: str, text: str) -> list[Step]:
        """Say it in the topic, then make the card and the topic match the new status."""
        steps: list[Step] = [partial(self._post, topic, f"<i>{esc(text)}</i>")]
        ended = status in {"resolved", "closed"}
        chat = topic.chat_id
        if topic.card_id is not None:
            markup = None if ended else self._card_buttons(number, topic)
            edit = partial(self.bot.edit_message_reply_markup, chat_id=chat,
                           message_id=topic.card_id, reply_markup=markup)  # fmt: skip
            steps.append(partial(self._tolerant, edit))
        if ended:
            name = truncate(f"✅ {topic.name}", 128)
            rename = partial(self.bot.edit_forum_topic, chat, topic.thread_id, name=name)
            close = partial(self.bot.close_forum_topic, chat, topic.thread_id)
            steps += [partial(self._tolerant, rename), partial(self._tolerant, close)]
        elif status == "reopened":
            reopen = partial(self.bot.reopen_forum_topic, chat, topic.thread_id)
            rename = partial(self.bot.edit_forum_topic, chat, topic.thread_id,
                             name=topic.name)  # fmt: skip
            steps = [partial(self._tolerant, reopen), partial(self._tolerant, rename), *steps]
        return steps

    @staticmethod
    async def _tolerant(call: Step) -> None:
        """Edits that may already have been made (a retried notice): 'not modified' is fine."""
        try:
            await call()
        except TelegramBadRequest as exc:
            loggers.channels.info("telegram desk: %s", exc)

    async def _post(
        self, topic: Topic | None, text: str, markup: types.InlineKeyboardMarkup | None = None
    ) -> SentMessage:
        return await send_text(
            self.bot, topic.chat_id if topic else self.places.default, text,
            message_thread_id=topic.thread_id if topic else None,
            parse_mode=ParseMode.HTML, reply_markup=markup,
        )  # fmt: skip


def topic_name(number: int, customer: object, category: object) -> str:
    name = clean_name(customer if isinstance(customer, str) else None) or "customer"
    return truncate(f"#{number} {name} · {category}", 128)


def card_html(card: dict[str, Any], fallback: str, files: int) -> str:
    """The case card: everything an agent needs, every value escaped and bounded."""
    if not card:
        return f"{esc(truncate(fallback, 3500))}\n\n{HOW_TO}"
    email = f" ({esc(truncate(str(card['email']), 100))})" if card.get("email") else ""
    verified = "verified" if card.get("verified") else "not verified"
    tried = ", ".join(str(a) for a in card.get("articles_tried") or []) or "none"
    customer = clean_name(card.get("customer")) or "unknown"
    lines = [
        f"<b>Case #{esc(card.get('number'))}</b> · {esc(card.get('priority'))} priority · "
        f"{esc(card.get('category'))}",
        f"<b>Customer:</b> {esc(customer)} · identity {verified}{email}",
        f"<b>Reason:</b> {esc(card.get('reason_text') or card.get('reason'))}"
        + (f" · group {esc(card['group'])}" if card.get("group") else ""),
        f"<b>Question:</b> {esc(truncate(str(card.get('summary') or ''), 500))}",
        f"<b>Articles tried:</b> {esc(truncate(tried, 300))}",
    ]
    transcript = [line for line in card.get("transcript") or [] if len(line) == 2][-6:]
    if transcript:
        lines.append("<b>Recent transcript</b>")
        lines += [f"<i>{esc(truncate(str(who), 40))}:</i> "
                  f"{esc(truncate(' '.join(str(said).split()), 300))}"
                  for who, said in transcript]  # fmt: skip
    if files:
        lines.append(f"<b>Files sent to the bot:</b> {files}, copied below")
    lines += ["", HOW_TO]
    return "\n".join(lines)
