"""aiogram's HTTP session, made cheaper per Bot API call in two ways.

**Calls go as JSON.** aiogram's ``AiohttpSession`` sends every call as a form (each
value that is not a string JSON-encoded on its own, then the form encoded again), which
the Bot API accepts, as it accepts ``application/json``. A call with nothing to upload
is sent here as one JSON object instead: a ``sendMessage`` with a keyboard costs about
60 µs of CPU (15%) less, of 300-500 µs on this project's machine, aiohttp's own request
being 100-180 of them (``benchmarks/telegram_calls.py``). Values are prepared by aiogram
(``prepare_value``: bot defaults, dates, enums, nested objects) and, as in its form, a
top-level value that is None or an empty string is left out. A call with a file to
upload (``InputFile``) goes as aiogram's multipart form.

**The response models it builds stay alive.** For every call aiogram validates the
answer with ``Response[T]``, a pydantic generic model parametrised by what the method
returns (``Message``, ``bool``, ``ForumTopic`` ...). pydantic caches parametrised
classes in a ``WeakValueDictionary``: nothing else holds them, so the garbage collector
frees them between calls and the next call builds the class again, about 5 ms of CPU
each time. Profiled under ``supportbot bench --channel telegram``: 538 such rebuilds for
5,011 API calls, 11% of the process's CPU time. Holding each ``Response[T]`` once it was
first built keeps pydantic's cache warm; there are a few dozen return types at most.

**A call whose outcome is unknown says so.** A timeout, or the connection closing under
a request already sent, leaves open whether Telegram carried the call out; that is
``OutcomeUnknown`` (still a ``TelegramNetworkError``), which the outbox tries once more
at most (``bot.delivery.DeliveryUncertain``) instead of until an answer comes.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

from bot.channels.http import UNANSWERED

JSON_HEADERS = {"Content-Type": "application/json"}


class OutcomeUnknown(TelegramNetworkError):
    """The call went out and no answer came back: Telegram may have carried it out."""


class BotApiSession(AiohttpSession):
    """``AiohttpSession`` that posts JSON and keeps every ``Response[T]`` it used."""

    pinned: ClassVar[dict[Any, type[Response[Any]]]] = {}  # the classes are global anyway

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The call as one JSON object, or None when it uploads a file (a form then)."""
        files: dict[str, InputFile] = {}
        fields: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":  # what aiogram's form leaves out
                fields[key] = prepared
        if files:
            return None
        return self.json_dumps(fields).encode()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:  # fmt: skip
        body = self.json_body(bot, method)
        if body is None:  # an upload: aiogram's form, its errors told apart here
            try:
                return await super().make_request(bot, method, timeout)
            except TelegramNetworkError as e:
                if isinstance(e.__context__, UNANSWERED):
                    raise OutcomeUnknown(method=method, message=e.message) from e.__context__
                raise
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        limit = ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.post(url, data=body, headers=JSON_HEADERS, timeout=limit) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise OutcomeUnknown(method=method, message="Request timeout error") from e
        except UNANSWERED as e:
            raise OutcomeUnknown(method=method, message=f"{type(e).__name__}: {e}") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(bot, method, resp.status, raw_result)
        return cast(TelegramType, response.result)

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        returning = method.__returning__
        if returning not in self.pinned:
            self.pinned[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)
