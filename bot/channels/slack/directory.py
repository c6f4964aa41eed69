"""Who is who on Slack: the members of the agents' channels and people's display names.

Being a member of an agents' channel (the desk's own, or a routing group's) is what makes
someone an agent *there*, so adding or removing an agent is done in Slack itself, and an
agent of one group cannot act on another group's cases. Each channel's member list is
cached briefly (``members_ttl``): a removed agent loses access within that time, and a
busy thread costs one ``conversations.members`` call a minute, not one per message. Names
are cached longer; they are only shown, never used for access.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import clean_name


class Directory:
    def __init__(
        self, client: AsyncWebClient, agents_channel: str | None, *, members_ttl: float = 60.0,
        names_ttl: float = 600.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.client = client
        self.agents_channel = agents_channel
        self.members_ttl = members_ttl
        self.names_ttl = names_ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    async def is_agent(self, user: str, channel: str | None = None) -> bool:
        """Whether ``user`` is a member of ``channel`` (default: the desk's agents'
        channel). Errors propagate, so the event is answered with 500 and Slack
        redelivers it."""
        channel = channel or self.agents_channel
        if channel is None:
            return False
        now = self.clock()
        cached = self._members.get(channel)
        if cached is None or now - cached[0] > self.members_ttl:
            cached = self._members[channel] = (now, await self._fetch_members(channel))
        return user in cached[1]

    async def name(self, user: str, profile: dict[str, Any] | None = None) -> str | None:
        """The person's display name (the event's own profile if it has one, else
        ``users.info``); None if Slack does not know. A passing failure (429, 5xx)
        raises."""
        from_event = _profile_name(profile)
        if from_event:
            return from_event
        now = self.clock()
        cached = self._names.get(user)
        if cached is not None and now - cached[0] <= self.names_ttl:
            return cached[1]
        info: dict[str, Any] = {}
        try:
            info = (await self.client.users_info(user=user)).get("user") or {}
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 0) or 0
            if status == 429 or status >= 500:
                raise  # passing: the event fails and Slack redelivers it
            # otherwise (e.g. user_not_found) the caller has a fallback
        name = (_profile_name(info.get("profile")) or clean_name(info.get("real_name"))
                or clean_name(info.get("name")) or None)  # fmt: skip
        self._names[user] = (now, name)
        self._names.move_to_end(user)
        while len(self._names) > 5000:
            self._names.popitem(last=False)
        return name

    async def _fetch_members(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor: str | None = None
        while True:
            args: dict[str, Any] = {"channel": channel, "limit": 1000}
            if cursor:
                args["cursor"] = cursor
            response = await self.client.conversations_members(**args)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)


def _profile_name(profile: dict[str, Any] | None) -> str | None:
    if not profile:
        return None
    for key in ("display_name", "real_name"):
        value = profile.get(key)
        name = clean_name(value) if isinstance(value, str) else ""
        if name:
            return name
    return None
