"""The inbox: where the receiving process leaves customers' messages for the workers.

With ``processing = "workers"`` (PostgreSQL only) a process that talks to Telegram or
Slack does not run the dialogue itself: it stores each message here, group-committed,
and answers the platform once the message is durable. Workers (``bot.worker``) take it
from there. A redelivered platform message is dropped here by its key while it waits,
and by the messages table once it was processed, so it is answered once.

The flood guard's verdict (``Pace``) is taken here and stored with the message: the
receiving process sees every message of its platform, while a conversation's messages
may be processed by different workers, each of which would see only its share.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from bot.group_commit import GroupCommit
from bot.messages import Attachment, Message
from bot.notify import INBOX, notify
from bot.privacy.guard import Pace
from bot.storage.models import InboxItem
from bot.storage.repository import Repository


def message_to_json(msg: Message) -> dict[str, Any]:
    return {
        "channel": msg.channel, "chat_id": msg.chat_id, "user_id": msg.user_id,
        "text": msg.text, "message_id": msg.message_id, "user_name": msg.user_name,
        "payload": msg.payload, "attachments": [a.to_json() for a in msg.attachments],
    }  # fmt: skip


class Waiting(NamedTuple):
    """A message as the inbox keeps it: with the flood guard's verdict."""

    msg: Message
    pace: Pace


def waiting_from_json(data: dict[str, Any]) -> Waiting:
    pace = data.get("pace")
    return Waiting(message_from_json(data), pace if pace in ("slow_down", "quiet") else "ok")


def message_from_json(data: dict[str, Any]) -> Message:
    attachments = tuple(
        Attachment(a["kind"], a["ref"], a.get("name")) for a in data.get("attachments") or ()
    )
    return Message(
        data["channel"], data["chat_id"], data["user_id"], data["text"],
        message_id=data.get("message_id"), user_name=data.get("user_name"),
        payload=data.get("payload"), attachments=attachments,
    )  # fmt: skip


class Inbox:
    """The receiving side: ``put`` returns once the message is stored (True), or False
    when the same platform message is already waiting."""

    def __init__(self, repo: Repository, now: Callable[[], datetime], *, lanes: int = 4) -> None:
        self.repo = repo
        self.now = now
        self.commits: GroupCommit[Waiting, bool] = GroupCommit(
            self._store, lane_of=lambda w: (w.msg.channel, w.msg.chat_id), lanes=lanes
        )

    async def put(self, msg: Message, pace: Pace = "ok") -> bool:
        return await self.commits.submit(Waiting(msg, pace))

    async def close(self) -> None:
        await self.commits.close()

    async def _store(self, batch: list[Waiting]) -> list[bool | BaseException]:
        now = self.now()
        rows: list[dict[str, Any]] = []
        first: list[bool] = []  # the same platform message twice in one batch: once
        for m, pace in batch:
            key = m.dedupe_key
            first.append(key is None or all(r["dedupe_key"] != key for r in rows))
            if first[-1]:
                kept = {**message_to_json(m), "pace": pace}
                rows.append({"channel": m.channel, "chat_id": m.chat_id, "dedupe_key": key,
                             "message": kept, "received_at": now})  # fmt: skip
        from sqlalchemy.dialects import postgresql  # not imported on SQLite (2.7 MB)

        async with self.repo.transaction() as tx:
            stmt = postgresql.insert(InboxItem).on_conflict_do_nothing(
                index_elements=["dedupe_key"]
            )
            result = await tx.session.execute(
                stmt.values(rows).returning(InboxItem.dedupe_key, InboxItem.id)
            )
            stored = {key for key, _ in result.all()}
            await tx.session.execute(notify(INBOX))  # workers wake at the commit
        keys = iter(r["dedupe_key"] for r in rows)
        return [ok and ((key := next(keys)) is None or key in stored) for ok in first]
