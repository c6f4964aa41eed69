"""A fake Slack for the bench: the Web API the bot calls, and signed events and button
taps to its ``/slack/events`` endpoint.

Customers write to the app in direct messages (``D…`` channels); the agents' desk is a
channel where the bot posts a card per case (``Case #12 from Anna17 (Slack): …``) whose
thread is the case. The agent answers in the thread (which claims the case) and taps the
card's Resolve button. Every request is signed with the app's signing secret (v0 HMAC
over the timestamp and the exact body) and a retry carries ``X-Slack-Retry-Num``, as
Slack's own deliveries do.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.bench.actors import AGENT_NAME, ChatLog, Line, Pace
from bot.bench.fake.base import FakePlatform, Request

TOKEN = "xoxb-bench-token"
AGENTS = "CBENCHDESK"
AGENT = "UBENCHAGENT"
BOT_USER = "UBENCHBOT"
CARD = re.compile(r"^Case #(\d+) from (\S+)")
AGENT_PREFIX = re.compile(r"^\*[^*\n]+\* \([^)\n]*\):\n")


def chat_prefix(tag: int) -> str:
    """How this run's customers' DM channels start (the bot's outbox addresses)."""
    return f"D{tag}"


def _plain(text: str) -> str:
    """What the customer reads: entities decoded, the agent's ``*Bob* (team):`` line
    dropped (the database holds the bare text)."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return AGENT_PREFIX.sub("", text, count=1)


def _buttons(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e for b in blocks or [] if b.get("type") == "actions" for e in b.get("elements", [])]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def call_args(request: web.Request) -> dict[str, Any]:
    """A Web API call's arguments, however slack-sdk sent them (query, JSON or form); the
    tests' fake Slack reads them with this too."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    elif request.can_read_body:
        args.update(dict(await request.post()))
    return args


class FakeSlack(FakePlatform):
    name = "slack"

    def __init__(self) -> None:
        super().__init__()
        self.secret = b""
        self.counter = itertools.count(1)
        self.names: dict[str, str] = {AGENT: AGENT_NAME}
        self.offers: dict[str, tuple[str, list[dict[str, Any]]]] = {}  # DM -> (ts, buttons)
        self.cards: dict[int, tuple[str, list[dict[str, Any]]]] = {}  # case -> (ts, buttons)

    def start(self, go: dict[str, Any], session: aiohttp.ClientSession, pace: Pace) -> None:
        super().start(go, session, pace)
        self.secret = str(go["signing_secret"]).encode()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self.handle)  # users.info is a GET

    def api_url(self, base: str) -> str:
        return f"{base}/api/"

    def customer(self, index: int, name: str) -> tuple[ChatLog, Line]:
        user, dm = f"U{self.tag}{index:06d}", f"{chat_prefix(self.tag)}{index:06d}"
        self.names[user] = name
        return self.register(ChatLog(dm, name)), SlackCustomer(self, user, dm)

    def ts(self) -> str:
        """Unique in the run and across runs (the bot keys redeliveries on it)."""
        return f"{int(time.time())}.{self.tag}{next(self.counter):07d}"

    # requests to the bot ------------------------------------------------------------

    async def send(self, body: bytes, content_type: str) -> None:
        def make(attempt: int) -> Request:
            stamp = str(int(time.time()))
            digest = hmac.new(self.secret, f"v0:{stamp}:".encode() + body, hashlib.sha256)
            headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": f"v0={digest.hexdigest()}"}  # fmt: skip
            if attempt:
                headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"}
            return body, headers

        await self.deliver(make)

    async def event(self, event: dict[str, Any]) -> None:
        envelope = {
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": f"Ev{self.tag}{next(self.counter)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        }  # fmt: skip
        await self.send(json.dumps(envelope).encode(), "application/json")

    async def tap(self, user: str, channel: str, message_ts: str, button: dict[str, Any]) -> None:
        payload = {
            "type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy",
            "user": {"id": user, "name": self.names.get(user, user).lower(), "team_id": "T1"},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel, "name": "bench"}, "trigger_id": "1.2.3",
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b",
                         "text": button["text"], "value": button.get("value", ""),
                         "action_ts": self.ts()}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)}).encode()
        await self.send(body, "application/x-www-form-urlencoded")

    # the agent (DeskActions) -----------------------------------------------------------

    async def reply(self, case: int, text: str) -> None:
        await self.event({"type": "message", "channel": AGENTS, "user": AGENT, "text": text,
                          "ts": self.ts(), "thread_ts": self.cards[case][0],
                          "channel_type": "channel"})  # fmt: skip

    async def resolve(self, case: int) -> None:
        ts, buttons = self.cards[case]
        button = next((b for b in buttons if b["text"]["text"] == "Resolve"), None)
        if button is None:
            raise LookupError(f"case #{case}: no Resolve button on its card")
        await self.tap(AGENT, AGENTS, ts, button)

    # the Web API --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        self.api_calls += 1
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        args = await call_args(request)
        method = request.match_info["method"].replace(".", "_")
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team_id": "T1", "team": "Acme", "user_id": BOT_USER,
                "bot_id": "BBENCH", "user": "supportbot"}  # fmt: skip

    def api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, text, ts = str(args.get("channel")), str(args.get("text") or ""), self.ts()
        buttons = _buttons(args.get("blocks"))
        log = self.logs.get(channel)
        if log is not None:
            if buttons:
                self.offers[channel] = (ts, buttons)
            log.reply(_plain(text), [b["text"]["text"] for b in buttons])
        elif channel == AGENTS:
            self._desk_post(text, ts, buttons, args.get("thread_ts"))
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"ts": ts, "text": text}}  # fmt: skip

    def api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("ts"))
        for case, (card_ts, _) in list(self.cards.items()):
            if card_ts == ts:
                self.cards[case] = (ts, _buttons(args.get("blocks")))
        return {"ok": True, "channel": args.get("channel"), "ts": ts}

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self.ts()}

    def api_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "members": [AGENT, BOT_USER], "response_metadata": {"next_cursor": ""}}

    def api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        if user not in self.names:
            return {"ok": False, "error": "user_not_found"}
        name = self.names[user]
        profile = {"display_name": name, "real_name": name}
        return {"ok": True, "user": {"id": user, "name": name.lower(), "real_name": name,
                                     "profile": profile}}  # fmt: skip

    def _desk_post(self, text: str, ts: str, buttons: list[dict[str, Any]], thread_ts: Any) -> None:
        """A card (a post outside any thread, ``Case #N from Name``) calls the agent."""
        self.desk_activity += 1
        found = CARD.match(_plain(text))
        if thread_ts or not found or int(found.group(1)) in self.cards:
            return
        case = int(found.group(1))
        self.cards[case] = (ts, buttons)
        self.agents.case_opened(case, self.by_name.get(found.group(2)))


class SlackCustomer:
    """A person writing to the app in a direct message."""

    def __init__(self, fake: FakeSlack, user: str, dm: str) -> None:
        self.fake, self.user, self.dm = fake, user, dm

    async def say(self, text: str) -> None:
        await self.fake.event({"type": "message", "channel": self.dm, "user": self.user,
                               "text": _escape(text), "ts": self.fake.ts(),
                               "channel_type": "im"})  # fmt: skip

    async def tap(self, label: str) -> None:
        ts, buttons = self.fake.offers.get(self.dm, ("", []))
        button = next((b for b in buttons if b["text"]["text"] == label), None)
        if button is None:
            await self.say(label)
            return
        await self.fake.tap(self.user, self.dm, ts, button)
