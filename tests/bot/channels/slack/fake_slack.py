"""A fake Slack Web API on 127.0.0.1, started by the tests with aiohttp.web.

It answers what the bot calls (auth.test, chat.postMessage, chat.update,
chat.postEphemeral, conversations.members with pagination, users.info, and the file
upload flow: files.getUploadURLExternal, the upload URL, files.completeUploadExternal)
and behaves like Slack when asked to rate-limit: a 429 with ``Retry-After`` that blocks
the channel for that long; a call that comes back earlier is answered 429 again and
counted in ``early``. ``hold_answers`` makes posts to a channel visible at once but
answered late, as when people see a message before the poster's response arrives.
``members`` are every channel's members unless ``channel_members`` names a channel's own.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.bench.fake.slack import call_args

TOLERANCE = 0.01  # seconds; the fake and the bot read the same monotonic clock


@dataclass
class Post:
    method: str  # chat.postMessage, chat.update, chat.postEphemeral
    channel: str
    text: str
    ts: str
    thread_ts: str | None = None
    user: str | None = None  # ephemeral: who sees it
    blocks: list[dict[str, Any]] = field(default_factory=list)
    broadcast: bool = False  # a thread reply also shown in the channel

    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]

    def labels(self) -> list[str]:
        return [b["text"]["text"] for b in self.buttons()]

    def all_text(self) -> str:
        """The text and every text in the blocks, as one string (for assertions)."""
        found: list[str] = [self.text]

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("text"), str):
                    found.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.blocks)
        return "\n".join(found)


@dataclass
class SharedFile:
    """A file the bot uploaded and shared in a channel (``comment``: its message)."""

    channel: str
    name: str
    content: bytes
    comment: str


class FakeSlack:
    def __init__(self, *, members: set[str], users: dict[str, str], page_size: int = 2) -> None:
        self.members = members
        self.channel_members: dict[str, set[str]] = {}
        self.files: list[SharedFile] = []  # shared by files.completeUploadExternal
        self._uploads: dict[str, tuple[str, bytes]] = {}  # file id -> (name, bytes)
        self.users = users
        self.page_size = page_size
        self.calls: list[str] = []  # every method called, in order, 429s included
        self.connections: set[object] = set()  # the client's TCP connections (peer addresses)
        self.posts: list[Post] = []  # accepted writes, in order
        self.throttled = 0  # how many 429s were sent
        self.early: list[str] = []  # calls to a channel before its Retry-After had passed
        self.too_fast: list[str] = []  # writes to a channel closer than min_interval
        self.min_interval = 0.0
        self._throttle_next = 0
        self._throttle_after = 0
        self._retry_after = 1
        self._blocked: dict[str, float] = {}
        self._held: dict[str, asyncio.Event] = {}  # channel -> answers wait for it
        self._last_write: dict[str, float] = {}
        self._ts = 0
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.sockets: list[web.WebSocketResponse] = []  # Socket Mode connections, open ones
        self.acked: set[str] = set()  # Socket Mode envelopes the app acknowledged
        self.refuse_sockets = False  # apps.connections.open fails (Slack out of reach)
        self._envelopes = 0

    # control ----------------------------------------------------------------

    def throttle(self, writes: int, retry_after: int = 1, *, after: int = 0) -> None:
        """After ``after`` more accepted writes, the next ``writes`` get 429 with
        Retry-After: ``retry_after``."""
        self._throttle_next, self._retry_after, self._throttle_after = writes, retry_after, after

    def hold_answers(self, channel: str) -> asyncio.Event:
        """Posts to ``channel`` are accepted and shown at once, but chat.postMessage
        answers (with the ts) only once the returned event is set."""
        return self._held.setdefault(channel, asyncio.Event())

    def in_channel(self, channel: str, *, thread_ts: str | None = None) -> list[Post]:
        return [
            p for p in self.posts
            if p.channel == channel and p.method == "chat.postMessage"
            and (thread_ts is None or p.thread_ts == thread_ts)
        ]  # fmt: skip

    def card(self, channel: str, number: int) -> Post:
        """The card of case ``number`` as last posted or updated."""
        found = [
            p for p in self.posts
            if p.channel == channel and p.method in {"chat.postMessage", "chat.update"}
            and any(b.get("type") == "header" and b["text"]["text"] == f"Case #{number}"
                    for b in p.blocks)
        ]  # fmt: skip
        assert found, f"no card for case #{number}"
        return found[-1]

    def ephemerals(self, user: str) -> list[str]:
        return [p.text for p in self.posts if p.method == "chat.postEphemeral" and p.user == user]

    # server -----------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "apps.connections.open":  # Socket Mode: called with the app token
            if not request.headers.get("Authorization", "").startswith("Bearer xapp-"):
                return web.json_response({"ok": False, "error": "invalid_auth"})
            self.calls.append(method)
            if self.refuse_sockets:
                return web.json_response({"ok": False, "error": "internal_error"})
            socket_url = self.url.replace("http://", "ws://").removesuffix("api/")
            return web.json_response({"ok": True, "url": socket_url + "socket-mode"})
        if request.headers.get("Authorization") != "Bearer xoxb-test-token":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        args = await call_args(request)
        self.calls.append(method)
        if request.transport is not None:
            self.connections.add(request.transport.get_extra_info("peername"))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result: web.Response = await handler(args)
        return result

    # Socket Mode ------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's end of a Socket Mode connection: hello, then envelopes; acks back."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        debug = {"host": "fake", "approximate_connection_time": 3600}
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "A1"}, "debug_info": debug})  # fmt: skip
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    envelope_id = json.loads(message.data).get("envelope_id")
                    if envelope_id:
                        self.acked.add(envelope_id)
        finally:
            self.sockets.remove(ws)
        return ws

    async def drop_sockets(self) -> None:
        """Close every Socket Mode connection (the app will try to connect again)."""
        for ws in list(self.sockets):
            await ws.close()

    async def socket_event(self, body: dict[str, Any]) -> None:
        """Send an Events API payload over the open connection, as Slack does in Socket
        Mode, and wait until the app acknowledged it."""
        self._envelopes += 1
        envelope_id = f"env-{self._envelopes}"
        await self.sockets[-1].send_json({
            "envelope_id": envelope_id, "type": "events_api", "payload": body,
            "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": "",
        })  # fmt: skip
        await eventually(lambda: envelope_id in self.acked, what="the envelope's ack")

    async def _auth_test(self, args: dict[str, Any]) -> web.Response:
        who = {"user_id": "UBOT", "bot_id": "BBOT", "user": "supportbot"}
        return web.json_response({"ok": True, "team_id": "T1", "team": "Acme", **who})

    async def _chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        response = self._write("chat.postMessage", args)
        held = self._held.get(str(args.get("channel")))
        if held is not None and response.status == 200:
            await held.wait()
        return response

    async def _chat_update(self, args: dict[str, Any]) -> web.Response:
        return self._write("chat.update", args)

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        return self._write("chat.postEphemeral", args)

    async def _files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        file_id = f"F{len(self._uploads) + 1:04d}"
        self._uploads[file_id] = (str(args.get("filename")), b"")
        upload_url = self.url.removesuffix("api/") + f"upload/{file_id}"
        return web.json_response({"ok": True, "upload_url": upload_url, "file_id": file_id})

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._uploads:
            return web.Response(status=404)
        self._uploads[file_id] = (self._uploads[file_id][0], await request.read())
        return web.Response(text="OK - uploaded")

    async def _files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        shared = json.loads(str(args.get("files") or "[]"))
        channel = str(args.get("channel_id"))
        for item in shared:
            name, content = self._uploads[item["id"]]
            self.files.append(SharedFile(channel, name, content,
                                         str(args.get("initial_comment") or "")))  # fmt: skip
        return web.json_response({"ok": True, "files": [{"id": f["id"]} for f in shared]})

    async def _conversations_members(self, args: dict[str, Any]) -> web.Response:
        members = sorted(self.channel_members.get(str(args.get("channel")), self.members))
        start = int(args.get("cursor") or 0)
        page = members[start : start + self.page_size]
        more = start + self.page_size < len(members)
        cursor = str(start + self.page_size) if more else ""
        return web.json_response({"ok": True, "members": page,
                                  "response_metadata": {"next_cursor": cursor}})  # fmt: skip

    async def _users_info(self, args: dict[str, Any]) -> web.Response:
        user = str(args.get("user"))
        if user not in self.users:
            return web.json_response({"ok": False, "error": "user_not_found"})
        name = self.users[user]
        profile = {"display_name": name, "real_name": f"{name} Example"}
        return web.json_response({"ok": True, "user": {"id": user, "name": name.lower(),
                                                       "profile": profile}})  # fmt: skip

    def _write(self, method: str, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel"))
        now = time.monotonic()
        blocked = self._blocked.get(channel, 0.0)
        if now < blocked - TOLERANCE:
            self.early.append(f"{method} {channel}")
            return self._limited(blocked - now)
        if self._throttle_next > 0 and self._throttle_after == 0:
            self._throttle_next -= 1
            self._blocked[channel] = now + self._retry_after
            return self._limited(self._retry_after)
        last = self._last_write.get(channel)
        if last is not None and now - last < self.min_interval - TOLERANCE:
            self.too_fast.append(f"{method} {channel}")
        self._last_write[channel] = now
        self._throttle_after = max(0, self._throttle_after - 1)
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        self._ts += 1
        ts = str(args.get("ts") or f"1700000000.{self._ts:06d}")
        self.posts.append(Post(method, channel, str(args.get("text") or ""), ts,
                               args.get("thread_ts"), args.get("user"), blocks,
                               bool(args.get("reply_broadcast"))))  # fmt: skip
        return web.json_response({"ok": True, "channel": channel, "ts": ts, "message_ts": ts})

    def _limited(self, seconds: float) -> web.Response:
        self.throttled += 1
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers={"Retry-After": str(max(1, round(seconds)))})  # fmt: skip


async def eventually(predicate: Any, *, within: float = 15.0, what: str = "condition") -> None:
    """Wait until ``predicate()`` (sync or async) is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
