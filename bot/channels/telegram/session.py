"""aiogram's HTTP session, with the response models it builds kept alive.

For every Bot API call aiogram validates the answer with ``Response[T]``, a pydantic
generic model parametrised by what the method returns (``Message``, ``bool``,
``ForumTopic`` ...). pydantic caches parametrised classes in a ``WeakValueDictionary``:
nothing else holds them, so the garbage collector frees them between calls and the next
call builds the class again, about 5 ms of CPU each time. Profiled under
``supportbot bench --channel telegram``: 538 such rebuilds for 5,011 API calls, 11% of
the process's CPU time. Holding each ``Response[T]`` once it was first built keeps
pydantic's cache warm; there are a few dozen return types at most.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response


class PinnedResponsesSession(AiohttpSession):
    """``AiohttpSession`` that keeps a strong reference to every ``Response[T]`` it used."""

    pinned: ClassVar[dict[Any, type[Response[Any]]]] = {}  # the classes are global anyway

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        returning = method.__returning__
        if returning not in self.pinned:
            self.pinned[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)
