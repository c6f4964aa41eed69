"""The dialogue's ``Port``, bound to one conversation inside one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.dialogue import CaseDraft
from bot.dialogue.turn import CaseOpened, History
from bot.messages import Message, Reply
from bot.storage.models import (
    Case,
    Contact,
    Conversation,
    Customer,
    Feedback,
    FollowUp,
    KbQuery,
)
from bot.storage.repository import Tx
from handoff.cards import card_fields, case_card
from handoff.supervision import Supervision


class ConversationPort:
    def __init__(
        self, tx: Tx, conversation: Conversation, customer: Customer, *, desk: str,
        now: datetime, supervision: Supervision, inbound: Message | None = None,
    ) -> None:  # fmt: skip
        self.supervision = supervision
        self.inbound = inbound
        self.tx = tx
        self.conversation = conversation
        self.customer = customer
        self.desk = desk
        self.now = now
        self._files: int | None = None  # read by ``history``, before a case is opened

    async def open_case(self, draft: CaseDraft) -> CaseOpened:
        """Document first: the case, its opening event, then the card for the agents' desk."""
        case = Case(
            conversation_id=self.conversation.id, customer_id=self.customer.id, status="open",
            category=draft.category, priority=draft.priority, reason=draft.reason,
            summary=draft.summary, details=dict(draft.details), created_at=self.now,
        )  # fmt: skip
        self.supervision.new_case(case, self.now)
        self.tx.session.add(case)
        await self.tx.session.flush()
        self.tx.add_case_event(case.id, "bot", "opened", self.now, reason=draft.reason)
        opened = await self.supervision.case_opened(self.tx, case, self.now)
        extra: dict[str, Any] = {"kind": "case_opened", "case": case.id, "card": card_fields(case),
                                 "channel": self.conversation.channel}  # fmt: skip
        if self._files is not None:
            extra["files"] = self._files  # 0: the desk need not look for any
        notice = Reply(case_card(case), extra=extra)
        await self.tx.add_desk_notice(self.desk, case.id, notice, self.now)
        return opened

    async def reopen_case(self, case_number: int) -> bool:
        case = await self.tx.case(case_number, lock=True)
        return case is not None and await self.supervision.reopen(self.tx, case, self.now)

    async def alert_supervisor(self, text: str, case_number: int | None) -> None:
        case = await self.tx.case(case_number) if case_number is not None else None
        await self.supervision.notify(self.tx, case, "supervisor_alert", text, self.now,
                                      conversation=self.conversation.id)  # fmt: skip

    async def notify_desk(self, case_number: int, text: str) -> None:
        """Relay the customer's current message to the case's place on the desk; the
        case no longer waits on the customer, so its resolution clock runs again."""
        case = await self.tx.case(case_number, lock=True)
        if case is not None:
            await self.supervision.customer_wrote(self.tx, case, self.now)
        extra: dict[str, Any] = {"kind": "customer_message", "case": case_number, "text": text}
        if self.inbound is not None:
            extra["source"] = {"channel": self.inbound.channel, "chat_id": self.inbound.chat_id,
                               "message_id": self.inbound.message_id}  # fmt: skip
            extra["attachments"] = [a.to_json() for a in self.inbound.attachments]
            extra["customer"] = self.customer.display_name
        who = self.customer.display_name or "Customer"
        notice = Reply(f"Case #{case_number} · {who}: {text}", extra=extra)
        await self.tx.add_desk_notice(self.desk, case_number, notice, self.now)

    async def log_kb_query(
        self, query: str, article_id: str | None, score: float | None, decision: str, outcome: str
    ) -> int:
        """Written with the batch (``Deferred.insert_returning``); the id the dialogue keeps
        is a placeholder until then, and an unanswered question's is simply not kept."""
        return self.tx.deferred.insert_returning(
            KbQuery, conversation_id=self.conversation.id, query=query[:2000],
            article_id=article_id, score=score, decision=decision, outcome=outcome,
            created_at=self.now,
        )  # fmt: skip

    async def set_kb_outcome(self, query_id: int, outcome: str) -> None:
        self.tx.deferred.update(KbQuery, query_id, outcome=outcome)

    async def record_feedback(self, score: int, case_number: int | None, kind: str = "csat") -> int:
        row_id = self.tx.deferred.insert_returning(
            Feedback, conversation_id=self.conversation.id, case_id=case_number, score=score,
            kind=kind, created_at=self.now,
        )  # fmt: skip
        if case_number is not None:
            self.tx.add_case_event(
                case_number, "customer", "rated", self.now, score=score, scale=kind
            )
        return row_id

    async def add_feedback_comment(self, feedback_id: int, comment: str) -> None:
        self.tx.deferred.update(Feedback, feedback_id, comment=comment)  # nothing reads it back

    async def schedule_followup(self, due_at: datetime, case_number: int | None) -> None:
        self.tx.deferred.insert(FollowUp, conversation_id=self.conversation.id,
                                case_id=case_number, kind="followup", due_at=due_at,
                                status="pending", payload=None, created_at=self.now)  # fmt: skip

    async def close_case(self, case_number: int) -> None:
        case = await self.tx.case(case_number, lock=True)
        if case is not None and case.closed_at is None:
            case.status, case.closed_at = "closed", self.now
            self.tx.add_case_event(case_number, "bot", "closed", self.now)

    async def start_contact(self) -> int:
        return self.tx.deferred.insert_returning(
            Contact, conversation_id=self.conversation.id, channel=self.conversation.channel,
            outcome="open", started_at=self.now,
        )  # fmt: skip

    async def update_contact(
        self, contact_id: int, *, outcome: str | None = None, category: str | None = None,
        case_number: int | None = None, ended: bool = False,
    ) -> None:  # fmt: skip
        """Written with the batch's other updates: the first outcome stands, the end is set
        once (``deferred.KEEP_FIRST``), the latest category and case win."""
        values: dict[str, Any] = {}
        if outcome is not None:
            values["outcome"] = outcome
        if category:
            values["category"] = category
        if case_number:
            values["case_id"] = case_number
        if ended:
            values["ended_at"] = self.now
        if values:
            self.tx.deferred.update(Contact, contact_id, **values)

    async def history(self, since: datetime, limit: int) -> History:
        read = await self.tx.before_escalation(self.conversation.id, self.customer.id, since, limit)
        self._files = read.files  # the case's notice says whether the desk has files to copy
        return History(read.cases_since, read.transcript)
