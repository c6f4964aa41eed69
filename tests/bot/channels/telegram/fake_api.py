"""A fake Telegram Bot API server on 127.0.0.1, spoken to by the real aiogram client.

It parses aiogram's multipart forms (uploaded files included: ``sendDocument``),
long-polls ``getUpdates`` (an update stays until a later call's ``offset`` confirms it, as
on Telegram), keeps every chat's messages, knows several forum groups (their topics and
members), and can answer a call with a 429 or a 5xx on request. Tests wait on ``until(...)``, which
is woken by every API call, never on a sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from bot.bench.fake.telegram import call_params
from tests.bot.channels.telegram.fake_world import (
    ADMIN_RIGHTS,
    BOT,
    TOKEN,
    BadRequest,
    Person,
    World,
    kind_of,
    utf16_len,
    visible_html,
)

LONG_POLL_CAP = 1.0  # seconds; keeps shutdown quick


@dataclass
class Fault:
    method: str
    chat_id: int | None
    times: int
    status: int
    retry_after: int | None = None
    description: str | None = None  # "{path}" is replaced by the request's path
    late: float | None = None  # carry the call out, but answer only after this many seconds


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    content_type: str = ""  # how the bot sent it: application/json, or a form


@dataclass
class FakeTelegram:
    url: str = ""
    world: World = field(default_factory=World)
    calls: list[Call] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # unconfirmed updates
    faults: list[Fault] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    webhook_error: tuple[int, str] | None = None  # (unix time, text) getWebhookInfo reports
    delivered: dict[int, dict[str, Any]] = field(default_factory=dict)  # by update id
    _update_ids: int = 500
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # what the tests do ---------------------------------------------------------

    def push(self, update: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
        """Queue an update; a new one gets the next id. ``force`` redelivers one whose id
        was already confirmed (Telegram sending an update twice)."""
        if "update_id" not in update:
            self._update_ids += 1
            update = {"update_id": self._update_ids, **update}
        self.pending.append({**update, "_force": True} if force else update)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return update

    def fail(self, method: str, *, chat_id: int | None = None, times: int = 1,
             status: int = 429, retry_after: int | None = 1,
             description: str | None = None) -> None:  # fmt: skip
        self.faults.append(Fault(method, chat_id, times, status, retry_after, description))

    def answer_late(self, method: str, *, chat_id: int | None = None, times: int = 1,
                    seconds: float = 5.0) -> None:  # fmt: skip
        """Carry the call out (the message appears) but answer after ``seconds``: past
        the bot's request timeout, the bot cannot know whether it arrived."""
        self.faults.append(Fault(method, chat_id, times, 200, late=seconds))

    def heal(self) -> None:
        self.faults.clear()

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method and c.status == 200]

    async def until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Until ``predicate`` holds; checked after every API call and every push."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # the HTTP side -------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await call_params(request)
        call = Call(method, params, content_type=request.content_type)
        self.calls.append(call)
        try:
            fault = self._fault(method, params)
            if fault is not None and fault.late is None:
                call.status = fault.status
                extra = {"retry_after": fault.retry_after} if fault.status == 429 else None
                text = fault.description or ("Too Many Requests" if extra else "Bad Gateway")
                return _error(fault.status, text.replace("{path}", request.path), extra)
            handler = getattr(self, f"api_{method}", None)
            if handler is None:
                call.status = 404
                return _error(404, "Not Found: method not found")
            try:
                result = await handler(params)
            except BadRequest as exc:
                call.status = 400
                return _error(400, str(exc))
            if fault is not None and fault.late is not None:  # carried out, answered late
                await self._notify()
                await asyncio.sleep(fault.late)
            return web.json_response({"ok": True, "result": result})
        finally:
            await self._notify()

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if (
                fault.method == method
                and fault.times > 0
                and (fault.chat_id is None or params.get("chat_id") == fault.chat_id)
            ):
                fault.times -= 1
                return fault
        return None

    # Bot API methods -----------------------------------------------------------

    async def api_getMe(self, p: dict[str, Any]) -> Any:
        return {**BOT.json(), "username": "acme_support_bot"}

    async def api_deleteWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def api_setWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = p
        return True

    async def api_getWebhookInfo(self, p: dict[str, Any]) -> Any:
        info: dict[str, Any] = {"url": (self.webhook or {}).get("url", ""),
                                "has_custom_certificate": False,
                                "pending_update_count": len(self.pending)}  # fmt: skip
        if self.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_error
        return info

    async def api_getUpdates(self, p: dict[str, Any]) -> Any:
        offset = p.get("offset")
        if offset is not None:  # confirms everything before it, as Telegram does
            self.pending = [u for u in self.pending if u["update_id"] >= offset or u.get("_force")]
        wait = min(float(p.get("timeout") or 0), LONG_POLL_CAP)
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.pending)), wait)
            except TimeoutError:
                return []
        batch = self.pending[: int(p.get("limit") or 100)]
        for update in batch:
            if update.pop("_force", None):
                self.pending.remove(update)  # a forced duplicate is delivered just once
        batch = [{k: v for k, v in u.items() if k != "_force"} for u in batch]
        self.delivered.update((u["update_id"], u) for u in batch)
        return batch

    async def api_sendMessage(self, p: dict[str, Any]) -> Any:
        chat, thread = self._target(p)
        text = str(p.get("text") or "")
        shown = visible_html(text) if p.get("parse_mode") == "HTML" else text
        if not shown.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_len(shown) > 4096:
            raise BadRequest("Bad Request: message is too long")
        markup = p.get("reply_markup")
        return self.world.new_message(chat, BOT, thread, text=shown,
                                      entities=p.get("entities"), reply_markup=markup)  # fmt: skip

    async def api_sendDocument(self, p: dict[str, Any]) -> Any:
        chat, thread = self._target(p)
        upload = p.get(str(p.get("document", "")).removeprefix("attach://"))
        if not isinstance(upload, FileField):
            raise BadRequest("Bad Request: there is no document in the request")
        content = upload.file.read()
        file_id = self.world.new_file_id("document")
        self.world.documents[file_id] = content
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                    "file_name": upload.filename, "file_size": len(content)}  # fmt: skip
        return self.world.new_message(chat, BOT, thread, document=document,
                                      caption=p.get("caption"))  # fmt: skip

    async def api_copyMessage(self, p: dict[str, Any]) -> Any:
        chat, thread = self._target(p)
        source = self.world.find(int(p["from_chat_id"]), int(p["message_id"]))
        if source is None:
            raise BadRequest("Bad Request: message to copy not found")
        content = {k: v for k, v in source.items() if k in {kind_of(source), "text", "caption"}}
        if "caption" in p:
            caption = str(p["caption"])
            content["caption"] = visible_html(caption) if p.get("parse_mode") == "HTML" else caption
            if utf16_len(content["caption"]) > 1024:
                raise BadRequest("Bad Request: message caption is too long")
        copied = self.world.new_message(chat, BOT, thread, **content)
        return {"message_id": copied["message_id"]}

    async def api_createForumTopic(self, p: dict[str, Any]) -> Any:
        forum = self.world.forums.get(int(p["chat_id"]))
        if forum is None:
            raise BadRequest("Bad Request: the chat is not a forum")
        name = str(p["name"])
        if not 1 <= len(name) <= 128:
            raise BadRequest("Bad Request: invalid topic name")
        created = self.world.new_message(forum, BOT, None, forum_topic_created={
            "name": name, "icon_color": 7322096})  # fmt: skip
        thread = created["message_id"]
        created.update(message_thread_id=thread, is_topic_message=True)
        self.world.forum_topics[forum["id"]][thread] = {"name": name, "closed": False}
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    async def api_editForumTopic(self, p: dict[str, Any]) -> Any:
        topic = self._topic(p)
        if topic["name"] == p.get("name"):
            raise BadRequest("Bad Request: TOPIC_NOT_MODIFIED")
        topic["name"] = p.get("name", topic["name"])
        return True

    async def api_closeForumTopic(self, p: dict[str, Any]) -> Any:
        return self._set_closed(p, closed=True)

    async def api_reopenForumTopic(self, p: dict[str, Any]) -> Any:
        return self._set_closed(p, closed=False)

    async def api_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        return True

    async def api_editMessageReplyMarkup(self, p: dict[str, Any]) -> Any:
        message = self.world.find(int(p["chat_id"]), int(p["message_id"]))
        if message is None:
            raise BadRequest("Bad Request: message to edit not found")
        markup = p.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise BadRequest("Bad Request: message is not modified")
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    async def api_getChatMember(self, p: dict[str, Any]) -> Any:
        user_id = int(p["user_id"])
        members = self.world.forum_members.get(int(p["chat_id"]), {})
        status = members.get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": Person(user_id, "someone").json()}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update(dict.fromkeys(ADMIN_RIGHTS, True), is_anonymous=False)
        return member

    # helpers --------------------------------------------------------------------

    def _target(self, p: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        chat_id = int(p["chat_id"])
        thread = p.get("message_thread_id")
        if chat_id in self.world.forums:
            if thread is not None and int(thread) not in self.world.forum_topics[chat_id]:
                raise BadRequest("Bad Request: message thread not found")
            return self.world.forums[chat_id], int(thread) if thread is not None else None
        first = next((m["chat"] for m in self.world.chats.get(chat_id, [])), None)
        if first is None:
            raise BadRequest("Bad Request: chat not found")
        return first, None

    def _topic(self, p: dict[str, Any]) -> dict[str, Any]:
        topics = self.world.forum_topics.get(int(p["chat_id"]), {})
        topic = topics.get(int(p["message_thread_id"]))
        if topic is None:
            raise BadRequest("Bad Request: TOPIC_ID_INVALID")
        return topic

    def _set_closed(self, p: dict[str, Any], *, closed: bool) -> bool:
        topic = self._topic(p)
        if topic["closed"] == closed:
            raise BadRequest("Bad Request: TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        return True


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


@asynccontextmanager
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
