"""Agents in the forum groups: posts in a case's topic, commands, and the card's buttons.

The desk is the agents' forum group plus any routing group's own (``forums``). Only
members of the group a topic is in act on its case (``AgentGate`` asks Telegram, cached
briefly); anyone else's post, command or tap is refused and logged, and their posts are
never relayed. An agent's post in a case topic goes to the customer (files by
copyMessage, from the ``source`` the reply carries); ``/note`` stays internal;
``/resolve`` hands the chat back to the bot; ``/export`` sends the customer a copy of
their data as a document (``Desk.export``: verified customers only). Each action carries
the Telegram event's id as ``event_key``, so a redelivered update changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware, Router, types
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.methods import AnswerCallbackQuery

from bot import loggers
from bot.channels.telegram.context import Context
from bot.channels.telegram.filters import chat_among, slash_command
from bot.channels.telegram.forums import DESK, parse_topic_ref, topic_ref
from bot.channels.telegram.translate import CHANNEL, attachment_of
from bot.errors import HandoffError

NOT_AN_AGENT = "Only members of the agents' group can do that."
INVALID_BUTTON = "This button is not valid."
MOVED = "This case has moved to another group's topic."
HELP = (
    "In a case's topic: write to answer the customer (text, photos, files, voice). "
    "/note TEXT adds an internal note; /resolve [summary] resolves the case and hands "
    "the chat back to the bot; /claim takes the case (or use the card's buttons); "
    "/export sends the customer a copy of their data (verified customers only)."
)
Handler = Callable[[types.TelegramObject, dict[str, Any]], Awaitable[Any]]


def router(chats: Collection[int]) -> Router:
    """Posts, commands and taps in the agents' forum groups ``chats``."""
    desk = Router(name="desk")
    in_forums = chat_among(chats)  # coroutines: see filters.py
    desk.message.filter(in_forums)
    desk.edited_message.filter(in_forums)
    desk.callback_query.filter(in_forums)
    desk.message.middleware(AgentGate())
    desk.callback_query.middleware(AgentGate())
    desk.message.register(on_note, Command("note"))
    desk.message.register(on_resolve, Command("resolve"))
    desk.message.register(on_claim, Command("claim"))
    desk.message.register(on_export, Command("export"))
    desk.message.register(on_help, slash_command)
    desk.message.register(on_post)
    desk.edited_message.register(on_edit)
    desk.callback_query.register(on_button)
    return desk


class AgentGate(BaseMiddleware):
    """Lets an event through only from an agent of the group it happened in, in a case's
    topic (for posts); adds ``agent`` (the name customers see) and ``case_number`` to the
    handler's data."""

    async def __call__(
        self, handler: Handler, event: types.TelegramObject, data: dict[str, Any]
    ) -> Any:
        tg: Context = data["tg"]
        assert tg.agents is not None and tg.places is not None  # only with a Telegram desk
        user = getattr(event, "from_user", None)
        if isinstance(event, types.Message):
            chat = event.chat.id
            thread = event.message_thread_id if event.is_topic_message else None
            if user is None or user.is_bot or thread is None:
                return None  # the bot's own service posts, the General topic
            number = tg.topics.case_at(chat, thread) if tg.topics is not None else None
            if number is None:  # not placed by this process since it started: look it up
                async with tg.app.repo.transaction() as tx:
                    number = await tx.case_for_thread(DESK, topic_ref(tg.places, chat, thread))
            if number is None:
                loggers.channels.info("telegram desk: post in topic %s (no case) ignored", thread)
                return None
            data["case_number"] = number
        else:
            shown = getattr(event, "message", None)
            chat = shown.chat.id if shown is not None else tg.places.default
        agent = await tg.agents.name_of(user, chat)
        if agent is None:
            what = "post" if isinstance(event, types.Message) else "button"
            loggers.channels.warning("telegram desk: %s by non-agent user %s refused", what,
                                     user.id if user else None)  # fmt: skip
            if isinstance(event, types.CallbackQuery):
                await _answer(event, NOT_AN_AGENT, alert=True)
            elif user is not None:  # on the case's audit trail too (who, not what)
                async with tg.app.repo.transaction() as tx:
                    tx.add_case_event(data["case_number"], f"telegram user {user.id}",
                                      "refused_post", tg.app.engine.ctx.now())  # fmt: skip
            return None
        data["agent"] = agent
        return await handler(event, data)


def _key(message: types.Message) -> str:
    return f"{CHANNEL}:{message.chat.id}:{message.message_id}"


async def on_post(message: types.Message, tg: Context, agent: str, case_number: int) -> None:
    text = message.text or message.caption or ""
    attachment = attachment_of(message)
    if not text.strip() and attachment is None:
        loggers.channels.info("telegram desk: %s post not relayed", message.content_type)
        return
    extra = None
    if attachment is not None:  # the customer's side copies the file from here
        source = {"channel": CHANNEL, "chat_id": str(message.chat.id),
                  "message_id": str(message.message_id), "kind": attachment.kind}  # fmt: skip
        extra = {"source": source}
    action = tg.app.desk.reply(case_number, agent, text, event_key=_key(message), extra=extra)
    await _act(message, tg, action, confirm=False)


async def on_note(
    message: types.Message, tg: Context, agent: str, case_number: int, command: CommandObject
) -> None:
    if not (command.args or "").strip():
        await _tell(message, "Usage: /note TEXT (an internal note, never shown to the customer)")
        return
    action = tg.app.desk.note(case_number, agent, command.args or "", event_key=_key(message))
    await _act(message, tg, action, confirm=True)


async def on_resolve(
    message: types.Message, tg: Context, agent: str, case_number: int, command: CommandObject
) -> None:
    summary = command.args or ""
    action = tg.app.desk.resolve(case_number, agent, summary, event_key=_key(message))
    await _act(message, tg, action, confirm=False)  # the status notice says it in the topic


async def on_claim(message: types.Message, tg: Context, agent: str, case_number: int) -> None:
    action = tg.app.desk.claim(case_number, agent, event_key=_key(message))
    await _act(message, tg, action, confirm=False)


async def on_export(message: types.Message, tg: Context, agent: str, case_number: int) -> None:
    action = tg.app.desk.export(case_number, agent, event_key=_key(message))
    await _act(message, tg, action, confirm=True)


async def on_help(message: types.Message, agent: str) -> None:
    # Unknown commands are answered, never relayed: "/refund" was not meant for the customer.
    await _tell(message, HELP)


async def on_edit(message: types.Message) -> None:
    loggers.channels.info("telegram desk: edit of message %s ignored (already relayed)",
                          message.message_id)  # fmt: skip


async def on_button(
    query: types.CallbackQuery, tg: Context, agent: str, answer_inline: bool = False
) -> AnswerCallbackQuery | None:
    """An agent's Claim or Resolve. With ``answer_inline`` (a webhook update) what the
    agent is told comes back for the webhook's response to carry, as a customer's tap's
    answer does (``customers.on_tap``): one Bot API call fewer per tap."""
    text, alert = await _button_result(query, tg, agent)
    if answer_inline:
        return query.answer(text, show_alert=alert)
    await _answer(query, text, alert=alert)
    return None


async def _button_result(query: types.CallbackQuery, tg: Context, agent: str) -> tuple[str, bool]:
    """What the tap did, as the agent is told it, and whether that is an alert."""
    assert query.message is not None
    tapped = tg.signer.case_tapped(query.message.chat.id, query.data)
    if tapped is None or tapped[0] not in {"claim", "resolve"}:
        loggers.channels.warning("telegram desk: button data refused (not ours) from user %s",
                                 query.from_user.id)  # fmt: skip
        return INVALID_BUTTON, True
    action, number = tapped
    if not await _lives_in(tg, number, query.message.chat.id):
        return MOVED, True
    key = f"{CHANNEL}:cb{query.id}"
    desk = tg.app.desk
    try:
        if action == "claim":
            return await desk.claim(number, agent, event_key=key), False
        return await desk.resolve(number, agent, event_key=key), False
    except HandoffError as exc:
        return str(exc), True


async def _lives_in(tg: Context, number: int, chat: int) -> bool:
    """Whether case ``number``'s topic is in ``chat`` (a card left behind when its case
    moved to another group may still show buttons, if removing them failed)."""
    assert tg.places is not None
    known = tg.topics.of(number) if tg.topics is not None else None
    if known is not None:
        return known[0].chat_id == chat
    async with tg.app.repo.transaction() as tx:
        row = await tx.desk_thread(number, DESK)
    return row is None or parse_topic_ref(tg.places, row.thread_ref)[0] == chat


async def _act(
    message: types.Message, tg: Context, action: Awaitable[str], *, confirm: bool
) -> None:
    """Run a desk action; a refusal (not the owner, case closed) is told to the agent."""
    try:
        result = await action
    except HandoffError as exc:
        await _tell(message, str(exc))
        return
    if confirm and not result.startswith("Already done"):
        await _tell(message, result)


async def _tell(message: types.Message, text: str) -> None:
    await message.answer(text)  # plain text, in the same topic


async def _answer(query: types.CallbackQuery, text: str, *, alert: bool = False) -> None:
    try:
        await query.answer(text, show_alert=alert)
    except TelegramBadRequest as exc:
        loggers.channels.info("telegram: callback %s not answered: %s", query.id, exc)
