"""Who may act as an agent: the members of the agents' forum group, asked of Telegram.

The desk may span several forum groups (the agents' own and each routing group's
``desk_target``); an agent acts only in a group they are a member of, so a billing agent
cannot take a legal case by posting in its topic. Membership is checked on every agent
action (a post relayed to a customer, a command, a button), because a group's membership
changes and a button's data proves nothing about who tapped it. Answers are cached
briefly, per group, so a busy topic does not cost one getChatMember call per message; a
removed agent loses access within ``ttl`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiogram import Bot, types
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot import loggers
from bot.channels.telegram.translate import display_name

MEMBER_STATUSES = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR,
                   ChatMemberStatus.MEMBER}  # fmt: skip
CACHE_LIMIT = 10_000


class Agents:
    def __init__(
        self, bot: Bot, chat_id: int, *, ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.bot = bot
        self.chat_id = chat_id
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[int, int], tuple[bool, float]] = {}

    async def name_of(self, user: types.User | None, chat_id: int | None = None) -> str | None:
        """The agent's name (their first name, as customers will see it), or None if
        this user is not a member of the agents' group ``chat_id`` (default: the desk's)."""
        if user is None or user.is_bot:  # bots, and anonymous admins posting as the group
            return None
        return display_name(user) if await self.is_member(user.id, chat_id) else None

    async def is_member(self, user_id: int, chat_id: int | None = None) -> bool:
        chat = self.chat_id if chat_id is None else chat_id
        now = self.clock()
        cached = self._cache.get((chat, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await self.bot.get_chat_member(chat, user_id)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            loggers.channels.warning("telegram: membership of user %s unknown: %s", user_id, exc)
            return False  # not cached: a bot that lost access to the group should recover
        status = member.status
        is_member = status in MEMBER_STATUSES or (
            status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
        )
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[(chat, user_id)] = (is_member, now + self.ttl)
        return is_member
