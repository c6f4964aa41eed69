"""Customers in private chats: their messages and button taps in, the bot's replies out.

The engine runs the whole conversation; this module only translates. A tap is trusted
only if its callback data carries our signature for this chat; it is always answered
(or the customer's app shows a spinner) and its keyboard is removed, so nobody votes
twice. Each message or tap is processed once: the engine recognises a repeat by its
Telegram id (``cb<query id>`` for taps) in the same transaction as its effects.

The sender never assumes the agents are on Telegram: an agent's photo is copied only
when the reply says it came from a Telegram chat; otherwise the text is sent. A file the
bot made for the customer (the copy of their data) follows the text as a document.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from aiogram import Bot, Router, types
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery

from bot import loggers
from bot.channels.telegram.callbacks import CallbackSigner, payload_digest
from bot.channels.telegram.context import Context
from bot.channels.telegram.filters import private_chat
from bot.channels.telegram.limits import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    PartialSends,
    Step,
    fingerprint,
    outbox_errors,
    split_text,
    truncate,
    utf16_len,
)
from bot.channels.telegram.sent import drop_keyboard, send_text
from bot.channels.telegram.translate import (
    CHANNEL,
    customer_message,
    display_name,
)
from bot.errors import SupportBotError
from bot.messages import Button, Message, Reply, SentFile

INVALID_BUTTON = "Sorry, that button is not valid. Please type your answer instead."
EXPIRED_BUTTON = "That choice has expired. Please type your answer instead."
CAPTIONED = frozenset({"photo", "document", "video", "audio", "animation", "voice"})
Captioned = tuple[str, list[types.MessageEntity] | None]


def router() -> Router:
    customers = Router(name="customers")
    customers.message.filter(private_chat)  # coroutines: see filters.py
    customers.edited_message.filter(private_chat)
    customers.callback_query.filter(private_chat)
    customers.message.register(on_message)
    customers.edited_message.register(on_edit)
    customers.callback_query.register(on_tap)
    return customers


async def on_message(message: types.Message, tg: Context) -> None:
    incoming = customer_message(message)
    if incoming is None:  # a service message (someone joined, a pinned message ...)
        loggers.channels.info("telegram chat %s: %s message ignored",
                              message.chat.id, message.content_type)  # fmt: skip
        return
    await tg.app.engine.handle_message(incoming)


async def on_edit(message: types.Message) -> None:
    # The conversation has moved on; an edit of an old message is not a new message.
    loggers.channels.info("telegram chat %s: edit of message %s ignored",
                          message.chat.id, message.message_id)  # fmt: skip


async def on_tap(
    query: types.CallbackQuery, tg: Context, bot: Bot, answer_inline: bool = False
) -> AnswerCallbackQuery | None:
    """A customer's tap on one of our buttons, as the words it stands for. With
    ``answer_inline`` (a webhook update) the tap's answer is returned, for the webhook's
    response to carry (``Inbound.process``): one Bot API call fewer per tap."""
    shown = query.message
    assert shown is not None  # the router's filter needs it
    chat_id = shown.chat.id
    user = query.from_user
    tapped = tg.signer.tapped(chat_id, query.data) if user.id == chat_id else None
    if tapped is None:
        loggers.channels.warning("telegram chat %s: button data refused (not ours) from user %s",
                                 chat_id, user.id)  # fmt: skip
        await _answer(query, INVALID_BUTTON)
        return None
    payload = tapped.payload
    if payload is None:  # a long payload travels as a digest of one we offered
        payload = await _offered_payload(tg, chat_id, tapped.digest)
    if payload is None:
        await _answer(query, EXPIRED_BUTTON)
        return None
    label = _label(shown, query.data) or payload
    await tg.app.engine.handle_message(
        Message(CHANNEL, str(chat_id), str(user.id), label, message_id=f"cb{query.id}",
                user_name=display_name(user), payload=payload)
    )  # fmt: skip
    if answer_inline:
        await _remove_keyboard(bot, shown)
        return query.answer()
    # Both at once: the update is answered (and the next one of this chat handled) after
    # one round trip to Telegram instead of two.
    await asyncio.gather(_answer(query), _remove_keyboard(bot, shown))
    return None


async def _remove_keyboard(bot: Bot, shown: types.MaybeInaccessibleMessageUnion) -> None:
    if not isinstance(shown, types.Message) or shown.reply_markup is None:
        return
    try:
        await drop_keyboard(bot, shown.chat.id, shown.message_id)
    except TelegramBadRequest as exc:  # already removed, or too old to edit
        loggers.channels.info("telegram chat %s: keyboard not removed: %s", shown.chat.id, exc)


async def _answer(query: types.CallbackQuery, text: str | None = None) -> None:
    try:
        await query.answer(text)
    except TelegramBadRequest as exc:  # "query is too old": nothing left to stop
        loggers.channels.info("telegram: callback %s not answered: %s", query.id, exc)


async def _offered_payload(tg: Context, chat_id: int, digest: str | None) -> str | None:
    async with tg.app.repo.transaction() as tx:
        offered = await tx.last_reply_with_buttons(CHANNEL, str(chat_id))
    for button in offered.buttons if offered else ():
        if payload_digest(button.payload) == digest:
            return button.payload
    return None


def _label(shown: types.MaybeInaccessibleMessageUnion, data: str | None) -> str | None:
    markup = shown.reply_markup if isinstance(shown, types.Message) else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def keyboard(
    signer: CallbackSigner, chat_id: int, buttons: tuple[Button, ...]
) -> types.InlineKeyboardMarkup:
    """Short labels (ratings, yes/no) share rows of up to five; longer ones get a row."""
    rows: list[list[types.InlineKeyboardButton]] = []
    row: list[types.InlineKeyboardButton] = []
    for button in buttons:
        data = signer.quick_reply(chat_id, button.payload)
        key = types.InlineKeyboardButton(text=truncate(button.label, 64), callback_data=data)
        if utf16_len(button.label) <= 4:
            row.append(key)
            if len(row) == 5:
                rows.append(row)
                row = []
            continue
        if row:
            rows.append(row)
            row = []
        rows.append([key])
    if row:
        rows.append(row)
    return types.InlineKeyboardMarkup(inline_keyboard=rows)


class CustomerSender:
    """The outbox's way to a customer's private chat (address = chat id).

    A long reply is several Telegram messages; if one of them hits a 429 the reply is
    retried later, and the parts already sent are remembered so they are not repeated.
    """

    def __init__(self, bot: Bot, signer: CallbackSigner) -> None:
        self.bot = bot
        self.signer = signer
        self.partial = PartialSends()

    async def send(self, address: str, reply: Reply) -> None:
        async with outbox_errors(f"telegram chat {address}"):
            await self._send(address, reply)

    async def _send(self, address: str, reply: Reply) -> None:
        try:
            steps = self._steps(int(address), reply)
            await self.partial.run(address, fingerprint(reply.to_json()), steps)
        except (TelegramAPIError, SupportBotError):
            raise  # the reply stays pending and is retried
        except Exception:  # a bug must not cost the customer the reply: plain text
            loggers.channels.exception("telegram chat %s: reply not rendered", address)
            for chunk in split_text(reply.text):
                await self.bot.send_message(int(address), chunk)

    def _steps(self, chat_id: int, reply: Reply) -> list[Step]:
        author = reply.author if reply.sender == "agent" and reply.author else None
        source = reply.extra.get("source")
        text = reply.text
        steps: list[Step] = []
        if isinstance(source, dict) and source.get("channel") == CHANNEL:
            if source.get("kind") in CAPTIONED:
                full = _caption(author, text)
                if full is not None:  # one message: the file, captioned "Bob: text"
                    return [partial(self._copy, chat_id, source, full, author, text)]
                steps.append(partial(self._copy, chat_id, source, _caption(author, ""), author, ""))
            else:  # stickers, locations ...: no caption possible
                steps.append(partial(self._copy, chat_id, source, None, author, ""))
        markup = keyboard(self.signer, chat_id, reply.buttons) if reply.buttons else None
        room = TEXT_LIMIT - (utf16_len(author) + 2 if author else 0)
        chunks = split_text(text, room)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            steps.append(partial(self._text, chat_id, chunk, author if index == 0 else None,
                                 markup if last else None))  # fmt: skip
        file = SentFile.of(reply)
        if file is not None:
            document = types.BufferedInputFile(file.content, filename=file.name)
            steps.append(partial(self.bot.send_document, chat_id, document))
        return steps

    async def _text(
        self, chat_id: int, text: str, author: str | None,
        markup: types.InlineKeyboardMarkup | None,
    ) -> None:  # fmt: skip
        body, entities = _signed(author, text)
        await send_text(self.bot, chat_id, body, entities=entities, reply_markup=markup)

    async def _copy(
        self, chat_id: int, source: dict[str, Any], caption: Captioned | None,
        author: str | None, text: str,
    ) -> None:  # fmt: skip
        """Copy the agent's file; ``text`` is what the caption carried, for the fallback."""
        body, entities = caption if caption else (None, None)
        try:
            await self.bot.copy_message(chat_id, source["chat_id"], int(source["message_id"]),
                                        caption=body, caption_entities=entities)  # fmt: skip
        except TelegramBadRequest as exc:  # the original was deleted, or cannot be copied
            loggers.channels.warning("telegram chat %s: file not copied: %s", chat_id, exc)
            note = f"[{source.get('kind') or 'file'} that could not be delivered]"
            await self._text(chat_id, f"{note} {text}".strip(), author, None)


def _signed(author: str | None, text: str) -> tuple[str, list[types.MessageEntity] | None]:
    """``Author: text`` with the name in bold (an entity: no markup to escape)."""
    if not author:
        return text, None
    bold = types.MessageEntity(type="bold", offset=0, length=utf16_len(author) + 1)
    return f"{author}: {text}".rstrip(), [bold]


def _caption(author: str | None, text: str) -> Captioned | None:
    body, entities = _signed(author, text)
    return (body, entities) if utf16_len(body) <= CAPTION_LIMIT else None
