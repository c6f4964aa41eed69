"""Did every reply arrive exactly once and in order? The bot's outbox says what it meant
to send to each customer, in order (one address is delivered strictly in outbox order);
the platform, or the local channel's collector, says what arrived. Both sides are
compared per conversation by fingerprint (``actors.reply_key``), each repeat of the same
text counted as its own reply ("Did this solve your issue?" is asked many times).

- lost: meant to be sent and never arrived (a reply still pending counts here too, and
  is also counted in ``pending``);
- duplicated: arrived more often than it was sent;
- out of order: arrived, but would have to move to restore the outbox's order (the
  number of replies outside the longest run that is in order);
- unexpected: arrived without being in the outbox at all (a platform adapter's direct
  answer, e.g. an apology after a failure).

The outbox is read through a connection of its own, after the bot has stopped, so the
check depends on the outbox table only, not on the repository's API.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.bench.actors import reply_key
from bot.messages import Reply
from bot.storage.db import create_engine
from bot.storage.models import Case, Conversation, FollowUp, OutboxItem


@dataclass(frozen=True)
class Tally:
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unexpected: int = 0
    pending: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.lost + other.lost, self.duplicated + other.duplicated,
                     self.out_of_order + other.out_of_order,
                     self.unexpected + other.unexpected, self.pending + other.pending)  # fmt: skip


def _numbered(keys: Sequence[str]) -> list[tuple[str, int]]:
    """Each key with how many times it came before: the second "Did this solve your
    issue?" is a different reply from the first."""
    seen: Counter[str] = Counter()
    numbered = []
    for key in keys:
        numbered.append((key, seen[key]))
        seen[key] += 1
    return numbered


def _longest_increasing(values: Sequence[int]) -> int:
    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
        else:
            tails[at] = value
    return len(tails)


def compare(expected: Sequence[str], received: Sequence[str]) -> Tally:
    """One conversation: what the outbox held against what arrived, both in order."""
    position = {item: i for i, item in enumerate(_numbered(expected))}
    known = set(expected)
    arrived = _numbered(received)
    in_outbox = [position[item] for item in arrived if item in position]
    others = [key for key, n in arrived if (key, n) not in position]
    repeats = sum(1 for key in others if key in known)
    return Tally(
        lost=len(position) - len(in_outbox),
        duplicated=repeats,
        out_of_order=len(in_outbox) - _longest_increasing(in_outbox),
        unexpected=len(others) - repeats,
    )


def compare_all(
    expected: Mapping[str, Sequence[str]], received: Mapping[str, Sequence[str]], pending: int = 0
) -> Tally:
    total = Tally(pending=pending)
    for chat in set(expected) | set(received):
        total += compare(expected.get(chat, ()), received.get(chat, ()))
    return total


async def end_of_run(
    database_url: str, channel: str, prefix: str
) -> tuple[dict[str, list[str]], int]:
    """What this run's customers were meant to get and what is still pending
    (``expected_replies``); then they leave (``retire_run``). One connection for both."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            found = await expected_replies(conn, channel, prefix)
            await retire_run(conn, channel, prefix)
    finally:
        await engine.dispose()
    return found


async def expected_replies(
    conn: AsyncConnection, channel: str, prefix: str
) -> tuple[dict[str, list[str]], int]:
    """Per address starting with ``prefix`` (this run's customers), the fingerprints of
    what the outbox of ``channel`` held, in order; and how many are still pending, with
    the desk's notices about this run's cases (cards, relays: agents wait for them)."""
    run_cases = select(Case.id).where(Case.conversation_id.in_(_conversations(channel, prefix)))
    rows = (
        await conn.execute(
            select(OutboxItem.address, OutboxItem.payload, OutboxItem.status)
            .where(OutboxItem.channel == channel, OutboxItem.address.startswith(prefix))
            .order_by(OutboxItem.id)
        )
    ).all()
    notices = OutboxItem.channel == "desk", OutboxItem.case_id.in_(run_cases)
    desk_pending = await conn.scalar(
        select(func.count()).where(*notices, OutboxItem.status == "pending")
    )
    expected: dict[str, list[str]] = {}
    pending = desk_pending or 0
    for address, payload, status in rows:
        expected.setdefault(address, []).append(reply_key(Reply.from_json(payload).text))
        pending += status == "pending"
    return expected, pending


async def retire_run(conn: AsyncConnection, channel: str, prefix: str) -> None:
    """The run's customers leave without a word: their conversations are closed and
    their timers cancelled, so that a later run on the same database does not find them
    idling out, asking for follow-ups or reminding agents of SLAs while it measures."""
    run = _conversations(channel, prefix)
    await conn.execute(
        update(FollowUp)
        .where(FollowUp.conversation_id.in_(run), FollowUp.status == "pending")
        .values(status="cancelled")
    )
    await conn.execute(
        update(Conversation)
        .where(Conversation.id.in_(run), Conversation.state != "closed")
        .values(state="closed")
    )


def _conversations(channel: str, prefix: str) -> Any:
    """The ids of this run's conversations: its customers' chats start with ``prefix``."""
    return select(Conversation.id).where(
        Conversation.channel == channel, Conversation.chat_id.startswith(prefix)
    )
