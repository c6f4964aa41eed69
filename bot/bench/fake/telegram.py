"""A fake Telegram for the bench: the Bot API the bot calls, and updates to its webhook.

Customers are private chats; the agents' desk is a forum supergroup in which the bot
opens a topic per case (``#12 Anna17 · shipping``) and posts the case card with Claim and
Resolve buttons. The agent answers by posting in the topic (which claims the case) and
taps the card's Resolve button, as an agent would. Button taps echo the callback data the
bot signed, exactly as Telegram does.

The bot sends calls as JSON, or as a form (strings as they are, anything else
JSON-encoded) when it uploads a file. Ids come from the run's tag, so two runs on one
database never share a chat, message or topic id. The bot is answered only what aiogram
needs to parse the result.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.bench.actors import AGENT_NAME, ChatLog, Line, Pace
from bot.bench.fake.base import FakePlatform, Request

TOKEN = "4242:BENCH-token"
BOT: dict[str, Any] = {"id": 4242, "is_bot": True, "first_name": "Acme Support",
                       "username": "acme_support_bot"}  # fmt: skip
GROUP_ID = -1009999999999
GROUP: dict[str, Any] = {"id": GROUP_ID, "type": "supergroup", "title": "Acme agents",
                         "is_forum": True}  # fmt: skip
AGENT: dict[str, Any] = {"id": 7_777_777, "is_bot": False, "first_name": AGENT_NAME}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RAW_FIELDS = {"text", "caption", "name", "callback_query_id", "url", "secret_token"}
TOPIC = re.compile(r"^#(\d+) (\S+)")


def chat_prefix(tag: int) -> str:
    """How this run's customers' chat ids start (the bot's outbox addresses)."""
    return f"7{tag}"


def chat_id(tag: int, index: int) -> int:
    return int(f"{chat_prefix(tag)}{index:06d}")


async def call_params(request: web.Request) -> dict[str, Any]:
    """A Bot API call's parameters, sent as JSON or as a form (the tests' fake Telegram
    reads them with this too)."""
    if request.content_type == "application/json":
        params = await request.json()
        return params if isinstance(params, dict) else {}
    return {k: decode_field(k, v) for k, v in (await request.post()).items()}


def decode_field(key: str, value: Any) -> Any:
    """A form field: aiogram sends strings as they are and everything else JSON-encoded."""
    if key in RAW_FIELDS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _labels(markup: Any) -> list[str]:
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [str(button.get("text")) for row in rows for button in row]


def _button(markup: Any, label: str) -> dict[str, Any] | None:
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return next((b for row in rows for b in row if b.get("text") == label), None)


def _shown(text: str, entities: Any) -> str:
    """The reply without the agent's bold ``Bob:`` (the database has the bare text)."""
    for entity in entities if isinstance(entities, list) else ():
        if entity.get("type") == "bold" and entity.get("offset") == 0:
            units = text.encode("utf-16-le")[2 * int(entity.get("length", 0)) :]
            return units.decode("utf-16-le", errors="ignore").lstrip()
    return text


class FakeTelegram(FakePlatform):
    name = "telegram"

    def __init__(self) -> None:
        super().__init__()
        self.secret = ""
        self.ids: itertools.count[int] = itertools.count(1)
        self.chats: dict[int, dict[str, Any]] = {}
        self.keyboards: dict[int, dict[str, Any]] = {}  # chat -> newest message with buttons
        self.topics: dict[int, tuple[int, str]] = {}  # thread -> (case, customer's name)
        self.threads: dict[int, int] = {}  # case -> thread
        self.cards: dict[int, dict[str, Any]] = {}  # case -> its card message

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self.handle)

    def api_url(self, base: str) -> str:
        return base

    def start(self, go: dict[str, Any], session: aiohttp.ClientSession, pace: Pace) -> None:
        super().start(go, session, pace)
        self.ids = itertools.count(self.tag * 10_000_000)

    def customer(self, index: int, name: str) -> tuple[ChatLog, Line]:
        number = chat_id(self.tag, index)
        user: dict[str, Any] = {"id": number, "is_bot": False, "first_name": name}
        chat: dict[str, Any] = {"id": number, "type": "private", "first_name": name}
        self.chats[number] = chat
        log = self.register(ChatLog(str(number), name))
        return log, TelegramCustomer(self, chat, user)

    # the webhook ----------------------------------------------------------------

    async def post_update(self, content: dict[str, Any]) -> None:
        update = {"update_id": next(self.ids), **content}
        body = json.dumps(update).encode()
        headers = {SECRET_HEADER: self.secret, "Content-Type": "application/json"}

        def make(attempt: int) -> Request:
            return body, headers

        await self.deliver(make, self._webhook_call)

    def _webhook_call(self, reply: bytes) -> None:
        """A Bot API method the bot put in its answer to the webhook, which Telegram
        performs (its result goes nowhere)."""
        try:
            call = json.loads(reply or b"{}")
        except ValueError:
            return
        method = call.pop("method", None) if isinstance(call, dict) else None
        handler = getattr(self, f"api_{method}", None) if isinstance(method, str) else None
        if handler is not None:
            self.api_calls += 1
            handler(call)

    def message(self, chat: dict[str, Any], sender: dict[str, Any], thread: int | None = None,
                **content: Any) -> dict[str, Any]:  # fmt: skip
        given = {k: v for k, v in content.items() if v is not None}
        message = {"message_id": next(self.ids), "date": int(time.time()), "chat": chat,
                   "from": sender, **given}  # fmt: skip
        if thread is not None:
            message.update(message_thread_id=thread, is_topic_message=True)
        return message

    def tap(self, user: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
        query = {"id": str(next(self.ids)), "from": user, "chat_instance": "bench",
                 "message": message, "data": data}  # fmt: skip
        return {"callback_query": query}

    # the agent (DeskActions) ------------------------------------------------------

    async def reply(self, case: int, text: str) -> None:
        post = self.message(GROUP, AGENT, self.threads[case], text=text)
        await self.post_update({"message": post})

    async def resolve(self, case: int) -> None:
        card = self.cards[case]
        button = _button(card.get("reply_markup"), "Resolve")
        if button is None:
            raise LookupError(f"case #{case}: no Resolve button on its card")
        await self.post_update(self.tap(AGENT, card, str(button["callback_data"])))

    # the Bot API ------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.api_calls += 1
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await call_params(request)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        return web.json_response({"ok": True, "result": handler(params)})

    def api_getMe(self, p: dict[str, Any]) -> Any:
        return BOT

    def api_setWebhook(self, p: dict[str, Any]) -> Any:
        self.secret = str(p.get("secret_token") or "")
        self.connections = asyncio.Semaphore(int(p.get("max_connections") or 40))
        return True

    def api_deleteWebhook(self, p: dict[str, Any]) -> Any:
        return True

    def api_sendMessage(self, p: dict[str, Any]) -> Any:
        chat_id_, thread = int(p["chat_id"]), p.get("message_thread_id")
        markup = p.get("reply_markup")
        if chat_id_ == GROUP_ID:
            message = self.message(GROUP, BOT, int(thread) if thread else None, text=p["text"],
                                   reply_markup=markup)  # fmt: skip
            self._desk_post(message)
            return message
        chat = self.chats.get(chat_id_, {"id": chat_id_, "type": "private", "first_name": "?"})
        message = self.message(chat, BOT, text=str(p["text"]), entities=p.get("entities"),
                               reply_markup=markup)  # fmt: skip
        if markup:
            self.keyboards[chat_id_] = message
        log = self.logs.get(str(chat_id_))
        if log is not None:
            log.reply(_shown(str(p["text"]), p.get("entities")), _labels(markup))
        return message

    def api_editMessageReplyMarkup(self, p: dict[str, Any]) -> Any:
        for card in self.cards.values():
            if card["message_id"] == int(p["message_id"]):
                card["reply_markup"] = p.get("reply_markup")
        return True

    def api_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        return True

    def api_createForumTopic(self, p: dict[str, Any]) -> Any:
        thread, name = next(self.ids), str(p["name"])
        found = TOPIC.match(name)
        if found:
            self.topics[thread] = (int(found.group(1)), found.group(2))
            self.threads[int(found.group(1))] = thread
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    def api_editForumTopic(self, p: dict[str, Any]) -> Any:
        return True

    def api_closeForumTopic(self, p: dict[str, Any]) -> Any:
        return True

    def api_reopenForumTopic(self, p: dict[str, Any]) -> Any:
        return True

    def api_getChatMember(self, p: dict[str, Any]) -> Any:
        if int(p["user_id"]) == AGENT["id"] and int(p["chat_id"]) == GROUP_ID:
            return {"status": "member", "user": AGENT}
        return {"status": "left", "user": {"id": int(p["user_id"]), "is_bot": False,
                                           "first_name": "someone"}}  # fmt: skip

    def api_copyMessage(self, p: dict[str, Any]) -> Any:
        return {"message_id": next(self.ids)}

    def _desk_post(self, message: dict[str, Any]) -> None:
        """A card (the post with a Resolve button in a case's topic) calls the agent."""
        self.desk_activity += 1
        topic = self.topics.get(message.get("message_thread_id") or 0)
        if topic is None or _button(message.get("reply_markup"), "Resolve") is None:
            return
        case, name = topic
        if case not in self.cards:
            self.cards[case] = message
            self.agents.case_opened(case, self.by_name.get(name))


class TelegramCustomer:
    """A person in a private chat with the bot."""

    def __init__(self, fake: FakeTelegram, chat: dict[str, Any], user: dict[str, Any]) -> None:
        self.fake, self.chat, self.user = fake, chat, user

    async def say(self, text: str) -> None:
        await self.fake.post_update({"message": self.fake.message(self.chat, self.user,
                                                                  text=text)})  # fmt: skip

    async def tap(self, label: str) -> None:
        shown = self.fake.keyboards.get(self.chat["id"])
        button = _button(shown.get("reply_markup"), label) if shown else None
        if shown is None or button is None:
            await self.say(label)
            return
        await self.fake.post_update(self.fake.tap(self.user, shown, str(button["callback_data"])))


def _error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description},
                             status=status)  # fmt: skip
