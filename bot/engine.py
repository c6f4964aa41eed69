"""The engine: one event at a time per conversation, load -> dialogue -> persist -> deliver.

Each event runs in one transaction that stores the inbound message (a redelivered
platform message is recognised and dropped here), the new dialogue state, and the
replies together with their outbox rows. Only after the commit does the outbox send.
Customers' messages are group-committed (``bot.group_commit``): those that arrive while
a transaction is being written share the next one, so under load the cost of a commit
is paid per batch; at light load a message is committed at once, alone.
A crash before the commit loses nothing (the platform or the person sends again and
nothing was recorded); a crash after it loses nothing either (the outbox is delivered
by the next process).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot import loggers
from bot.delivery import Outbox
from bot.dialogue import AgentDid, Context, ConversationData, CustomerSaid, Event, State, Turn, step
from bot.dialogue.states import HANDOFF_STATES, IDLE_STATES, TimerFired
from bot.errors import CaseNotFound, DatabaseUnavailable, HandoffError
from bot.group_commit import GroupCommit
from bot.inbox import Inbox
from bot.locks import KeyedLocks
from bot.messages import Message, Reply
from bot.privacy.guard import FLOODING, SECRETS_REMOVED, SLOW_DOWN, InboundGuard, Pace
from bot.storage.dialogue_port import ConversationPort
from bot.storage.models import Conversation, Customer
from bot.storage.outbox_rows import OutboxRow
from bot.storage.repository import Repository, Tx
from handoff.supervision import Supervision

CASE_KEYS = 10_000  # case numbers whose chat the engine remembers (desk actions)
MAX_TEXT = 20_000  # characters kept of one message; the rest is cut, and the customer told
TEXT_ONLY = (
    "I can read text only, so I've kept your file with your conversation: "
    "if a member of our team takes over, they will see it."
)
EMPTY = "I didn't catch that. Please type your question."
TOO_LONG = "Your message was very long, so I kept the first {limit} characters."


@dataclass(frozen=True, slots=True)  # slots: the flood guard keeps many at once
class Key:
    channel: str
    chat_id: str


@dataclass(frozen=True)
class DeskJob:
    """An agent's action on a case (``handoff.service``), run like a customer's message:
    under its conversation's lock, in the group commit's transaction with whatever else
    arrived meanwhile. ``run`` returns what the agent is told; a ``HandoffError`` it
    raises (a case already closed, another agent's case) is the agent's answer and
    leaves nothing behind."""

    key: Key
    run: Callable[[Tx], Awaitable[str]]
    case: int | None = None  # the case it acts on: the batch reads and locks them together
    event: str | None = None  # the platform's id of the action: the batch claims them together


CASE_STATES = HANDOFF_STATES | {State.CSAT, State.CSAT_COMMENT, State.NPS}  # turns that lock
# the conversation's case: relaying to the desk, and closing it after the rating


def batch_cases(tx: Tx, jobs: Sequence[DeskJob] = ()) -> list[int]:
    """The cases a batch will lock (after ``Tx.prefetch``, for ``Tx.lock_cases``): its
    agents' cases, and those of its conversations in a state whose turn touches the case.
    Read together, not one per turn, by the engine's batches and the workers' passes."""
    cases = [j.case for j in jobs if j.case is not None]
    for conversation in tx.loaded():
        number = (conversation.data or {}).get("case_number")
        if isinstance(number, int) and conversation.state in CASE_STATES:
            cases.append(number)
    return cases


class _Refused(Exception):
    """A desk job of a batch raised a ``HandoffError``: roll back, go on without it."""

    def __init__(self, index: int, error: HandoffError) -> None:
        super().__init__(str(error))
        self.index, self.error = index, error


class Engine:
    def __init__(
        self, ctx: Context, repo: Repository, *, desk: str = "local", outbox: Outbox | None = None
    ) -> None:
        self.ctx = ctx
        self.repo = repo
        self.desk = desk
        self.outbox = outbox
        self.locks = KeyedLocks()
        self.supervision = Supervision(ctx.settings, ctx.hours)
        self.guard = InboundGuard(ctx.settings)  # redaction and flood limits (bot.privacy)
        self.inbox: Inbox | None = None  # set when workers process messages (bot.inbox)
        self._case_keys: dict[int, Key] = {}  # case number -> its chat (see conversation_key)
        # Who else sends what a batch committed (a Telegram process's delivery outboxes):
        # called with the batch's outbox rows right after its commit, so that they are
        # sent at once instead of selected again from the database.
        self.committed: list[Callable[[Sequence[OutboxRow]], None]] = []
        lanes = 1 if repo.engine.dialect.name == "sqlite" else ctx.settings.commit_lanes
        self.inbound: GroupCommit[Message | DeskJob, bool | str] = GroupCommit(
            self._handle_batch, lane_of=_lane_of, lanes=lanes,
            max_batch=ctx.settings.commit_batch,
        )  # fmt: skip

    # customers ---------------------------------------------------------------

    async def handle_message(self, msg: Message) -> bool:
        """Process one customer message; False if it was a repeat of one already processed.

        Returns once the message, the new state and the replies are committed (group
        commit: under load, with the other messages that arrived meanwhile) and this
        customer's replies were handed to the channel."""
        if self.inbox is not None:  # separate workers run the dialogue (bot.worker)
            pace = self.guard.throttle.check(_key(msg), self.ctx.now())
            return await self.inbox.put(msg, pace)  # the verdict travels with the message
        accepted = await self.inbound.submit(msg)
        if self.outbox is not None:
            await self.outbox.deliver_queued([(msg.channel, msg.chat_id)])
        return accepted is True

    async def close(self) -> None:
        await self.inbound.close()

    async def _handle_batch(
        self, batch: list[Message | DeskJob], *, retry: bool = True
    ) -> list[bool | str | BaseException]:
        """One transaction for the whole batch. A message whose turn fails (a bug) must not
        take the others down: the batch is then rolled back and replayed one by one. A
        lone message that lost a race (the same platform message stored meanwhile by
        another process) is tried once more, and then recognised as a repeat. A desk job
        refused (``HandoffError``) is taken out and the rest run again together."""
        keys = [_lane_of(item) for item in batch]
        messages = [m for m in batch if isinstance(m, Message)]
        dedupe = [d for m in messages if (d := m.dedupe_key)]
        try:
            async with self.locks.hold_many(keys), self.repo.transaction() as tx:
                users = first_users(messages)  # a new chat's customer: who wrote first
                jobs = [j for j in batch if isinstance(j, DeskJob)]
                chats = [*users, *((j.key.channel, j.key.chat_id) for j in jobs)]
                await tx.prefetch(chats, dedupe, users=users, now=self.ctx.now())
                await tx.lock_cases(batch_cases(tx, jobs))
                await tx.claim_events([j.event for j in jobs if j.event], self.ctx.now())
                results: list[bool | str | BaseException] = [
                    await self._one(tx, index, item) for index, item in enumerate(batch)
                ]
        except DatabaseUnavailable:
            raise
        except _Refused as refused:
            rest = batch[: refused.index] + batch[refused.index + 1 :]
            others = await self._handle_batch(rest) if rest else []
            others.insert(refused.index, refused.error)
            return others
        except IntegrityError as exc:
            if len(batch) == 1 and retry:
                return await self._handle_batch(batch, retry=False)
            if len(batch) == 1:
                return [exc]
            return [(await self._handle_batch([item]))[0] for item in batch]
        except Exception as exc:
            if len(batch) == 1:
                loggers.engine.exception("conversation %s: message failed", keys[0])
                return [exc]
            loggers.engine.warning("a batch of %d failed (%s): one by one", len(batch), exc)
            return [(await self._handle_batch([item]))[0] for item in batch]
        if self.outbox is not None:
            self.outbox.enqueue(tx.queued)
        for hand_to in self.committed:
            hand_to(tx.queued)
        return results

    async def _one(self, tx: Tx, index: int, item: Message | DeskJob) -> bool | str:
        if isinstance(item, Message):
            with tx.session.no_autoflush:
                return await self.receive(tx, item)
        try:
            return await item.run(tx)
        except HandoffError as exc:
            raise _Refused(index, exc) from exc

    async def receive(self, tx: Tx, msg: Message, pace: Pace | None = None) -> bool:
        """Handle one customer message inside the caller's transaction (a batch, or a
        worker's pass). False if it was a repeat of one already processed. ``pace`` is
        the flood guard's verdict when the receiving process took it (workers)."""
        now = self.ctx.now()
        key = _key(msg)
        conv, customer = await tx.conversation(
            msg.channel, msg.chat_id, user_id=msg.user_id, user_name=msg.user_name, now=now
        )
        state = State(conv.state)
        data = ConversationData.model_validate(conv.data)
        case_id = data.case_number if state in HANDOFF_STATES else None
        # Secrets are masked before the text is stored, relayed or logged.
        redacted = self.guard.chat.redact(msg.text)
        text = redacted.text[:MAX_TEXT]
        dedupe = msg.dedupe_key
        if not await tx.record_inbound(
            conv.id, case_id, text, dedupe_key=dedupe, sender="customer", author=None,
            internal=False, now=now, attachments=msg.attachments,
        ):  # fmt: skip
            loggers.engine.info("duplicate message %s ignored", dedupe)
            return False
        turn = self._turn(tx, conv, customer, state, data, msg)
        if pace is None:
            pace = self.guard.throttle.check(key, now)
        if pace == "ok":
            new_state = await self._understand(turn, msg, state, text, conv.id)
        else:  # kept, unanswered: a flood costs others nothing
            await self._slow_down(tx, turn, conv.id, pace, case_id)
            new_state = state
        if redacted.changed:
            masked = ", ".join(redacted.rules)
            loggers.engine.info("conversation %s: masked %s", conv.id, masked)
            if not data.secrets_warned:  # once; after the greeting if there is one
                first = 1 if state in {State.START, State.CLOSED} and turn.replies else 0
                turn.replies.insert(first, Reply(SECRETS_REMOVED))
            turn.data.secrets_warned = True
        await self._save(tx, conv, customer, turn, new_state, case_id)
        return True

    async def _understand(
        self, turn: Turn, msg: Message, state: State, text: str, conversation: int
    ) -> State:
        """Run the dialogue on a customer's (redacted) message."""
        if len(msg.text) > MAX_TEXT:
            loggers.engine.info(
                "conversation %s: message cut to %s characters", conversation, MAX_TEXT
            )
            turn.say(TOO_LONG.format(limit=MAX_TEXT))
        if msg.attachments and state not in HANDOFF_STATES:
            # kept with the conversation; an agent gets them if the case is escalated
            turn.say(TEXT_ONLY)
        if state in HANDOFF_STATES and msg.attachments and not text.strip():
            text = " ".join(f"[{a.kind}]" for a in msg.attachments)
        if text.strip() or msg.payload is not None:
            return await step(turn, CustomerSaid(text, msg.payload))
        if not msg.attachments:
            loggers.engine.info("conversation %s: empty message", conversation)
            turn.say(EMPTY)
        return state

    async def _slow_down(
        self, tx: Tx, turn: Turn, conversation: int, pace: str, case_id: int | None
    ) -> None:
        """Over the flood limit: say so once; agents get one notice, not every message."""
        loggers.engine.info("conversation %s: throttled (%s)", conversation, pace)
        if pace == "slow_down":
            turn.say(SLOW_DOWN)
            if case_id is not None:
                notice = Reply(FLOODING.format(case=case_id),
                               extra={"kind": "case_status", "case": case_id})  # fmt: skip
                await tx.add_desk_notice(self.desk, case_id, notice, self.ctx.now())

    # agents ------------------------------------------------------------------

    async def desk_action(self, job: DeskJob) -> str:
        """Run an agent's action in the group commit; returns once it is committed and
        the customer's replies were handed to their channel."""
        result = await self.inbound.submit(job)
        if self.outbox is not None:
            await self.outbox.deliver_queued([(job.key.channel, job.key.chat_id)])
        return str(result)

    async def agent_event(self, number: int, event: AgentDid, tx: Tx) -> None:
        """Apply an agent's action to the customer's conversation (caller holds the lock)."""
        case = await tx.case(number)
        if case is None:
            raise CaseNotFound(number)
        conv, customer = await tx.conversation_by_id(case.conversation_id)
        state = State(conv.state)
        data = ConversationData.model_validate(conv.data)
        turn = self._turn(tx, conv, customer, state, data)
        new_state = await step(turn, event)
        await self._save(tx, conv, customer, turn, new_state, number)

    async def conversation_key(self, number: int) -> Key:
        """The chat whose lock a desk action on the case takes. A case never moves to
        another chat, so the answer is remembered (the last CASE_KEYS cases): an agent's
        reply and resolve then cost no transaction of their own for it. (Erasure renames
        the chat, but also closes its cases, which refuses further desk actions.)"""
        key = self._case_keys.get(number)
        if key is not None:
            return key
        async with self.repo.transaction() as tx:
            case = await tx.case(number)
            if case is None:
                raise CaseNotFound(number)
            conv, _ = await tx.conversation_by_id(case.conversation_id)
            key = Key(conv.channel, conv.chat_id)
        self._remember_case(number, key)
        return key

    def _remember_case(self, number: int, key: Key) -> None:
        if number not in self._case_keys and len(self._case_keys) >= CASE_KEYS:
            del self._case_keys[next(iter(self._case_keys))]  # the oldest
        self._case_keys[number] = key

    # timers ------------------------------------------------------------------

    async def fire_due_timers(self) -> int:
        """Send due follow-ups and close idle chats; returns how many events ran."""
        now = self.ctx.now()
        cutoff = now - timedelta(minutes=self.ctx.settings.timing.idle_timeout_minutes)
        async with self.repo.transaction() as tx:
            due = [
                (f.id, f.kind, f.conversation_id, f.case_id) for f in await tx.due_followups(now)
            ]
            idle = await tx.idle_conversations([s.value for s in IDLE_STATES], cutoff)
        fired = 0
        for timer_id, kind, conversation_id, case_id in due:
            if kind == "followup":
                event = TimerFired("followup", case_id)
                fired += await self._timer(conversation_id, event, timer_id)
            else:
                fired += await self._case_timer(timer_id)
        for conversation_id in idle:
            fired += await self._timer(conversation_id, TimerFired("idle"), None)
        if fired:
            await self.deliver()
        return fired

    async def _timer(self, conversation_id: int, event: TimerFired, followup_id: int | None) -> int:
        async with self.repo.transaction() as tx:
            conv, _ = await tx.conversation_by_id(conversation_id)
            key = Key(conv.channel, conv.chat_id)
        async with self.locks.hold(key), self.repo.transaction() as tx:
            conv, customer = await tx.conversation_by_id(conversation_id)
            state = State(conv.state)
            if followup_id is not None:
                followup = await tx.followup(followup_id)
                if followup is None or followup.status != "pending":
                    return 0
                # A customer who is talking to us again is not interrupted by a check-in.
                followup.status = "done" if state is State.CLOSED else "skipped"
                if state is not State.CLOSED:
                    return 0
            elif state not in IDLE_STATES:
                return 0
            data = ConversationData.model_validate(conv.data)
            turn = self._turn(tx, conv, customer, state, data)
            new_state = await step(turn, event)
            await self._save(tx, conv, customer, turn, new_state, data.case_number, touch=False)
            return 1

    async def _case_timer(self, timer_id: int) -> int:
        """An SLA, routing or escalation timer: one short transaction each, so a burst of
        due timers never holds up conversations for long."""
        async with self.repo.transaction() as tx:
            timer = await tx.followup(timer_id)
            if timer is None or timer.status != "pending":
                return 0
            timer.status = "done"
            case = await tx.case(timer.case_id, lock=True) if timer.case_id else None
            if case is not None:
                await self.supervision.fire(tx, timer, case, self.ctx.now())
            return 1

    # shared ------------------------------------------------------------------

    async def deliver(self, only: Collection[Key] | None = None, *, wait: bool = True) -> None:
        """Send pending messages; wait for the given conversations' (all when None)."""
        if self.outbox is not None:
            targets = None if only is None else [(k.channel, k.chat_id) for k in only]
            await self.outbox.deliver(targets, wait=wait)

    def _turn(
        self, tx: Tx, conv: Conversation, customer: Customer, state: State,
        data: ConversationData, inbound: Message | None = None,
    ) -> Turn:  # fmt: skip
        port = ConversationPort(
            tx, conv, customer, desk=self.desk, now=self.ctx.now(),
            supervision=self.supervision, inbound=inbound,
        )  # fmt: skip
        return Turn(self.ctx, port, state, data, customer.display_name)

    async def _save(
        self, tx: Tx, conv: Conversation, customer: Customer, turn: Turn, new_state: State,
        case_id: int | None, *, touch: bool = True,
    ) -> None:  # fmt: skip
        now = self.ctx.now()
        if new_state is not State(conv.state):
            loggers.engine.info("conversation %s: %s -> %s", conv.id, conv.state, new_state)
        # Only what differs from a new conversation: most fields are empty most of the
        # time, and the stored JSON is written and read back on every message.
        data = turn.data.model_dump(mode="json", exclude_defaults=True)
        values: dict[str, Any] = {"state": new_state.value, "data": data,
                                  "version": conv.version + 1}  # fmt: skip
        if touch:
            values["last_activity_at"] = now
        tx.save_conversation(conv, **values)
        if turn.data.case_number is not None:
            self._remember_case(turn.data.case_number, Key(conv.channel, conv.chat_id))
        if turn.customer_name and turn.customer_name != customer.display_name:
            customer.display_name = turn.customer_name
        if turn.data.verified and turn.data.email and turn.data.email != customer.email:
            customer.email = turn.data.email  # verified: the profile's email (export by email)
        await tx.add_replies(conv, turn.data.case_number or case_id, turn.replies, now)


def _key(msg: Message) -> Key:
    return Key(msg.channel, msg.chat_id)


def _lane_of(item: Message | DeskJob) -> Key:
    """A conversation's messages and desk jobs share a lane, so they keep their order."""
    return item.key if isinstance(item, DeskJob) else _key(item)


__all__ = ["DeskJob", "Engine", "Event", "Key"]


def first_users(messages: Iterable[Message]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Each chat's first writer in arrival order (user id, name): the customer a new
    chat's conversation belongs to (``Tx.prefetch`` creates it)."""
    users: dict[tuple[str, str], tuple[str, str | None]] = {}
    for msg in messages:
        users.setdefault((msg.channel, msg.chat_id), (msg.user_id, msg.user_name))
    return users
