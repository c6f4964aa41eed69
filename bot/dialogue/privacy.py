"""A customer's data-protection request in the chat ("delete my data", "what data do you
have about me?", /privacy): identity is verified as for account help, then a case with
the reason ``privacy_request`` goes to the data-protection group, and the customer hears
what happens next and the legal deadline. Nothing is ever erased on a chat message
alone: the team confirms the request and runs the erasure (``supportbot privacy erase``).
"""

from __future__ import annotations

import calendar
from datetime import date

from bot.dialogue import texts
from bot.dialogue.escalation import escalate, greeting
from bot.dialogue.intents import privacy_kind
from bot.dialogue.states import CustomerSaid, Event, State
from bot.dialogue.turn import Turn

REASON = "privacy_request"


async def privacy_request(t: Turn, event: Event) -> State:
    """Recognised in any state the bot owns: verify first, unless already verified."""
    text = event.text.strip() if isinstance(event, CustomerSaid) else ""
    if t.state in {State.START, State.CLOSED}:
        await greeting(t)
    t.data.privacy = privacy_kind(text)
    t.data.category = t.data.category or "account"
    if not text.startswith("/"):
        t.data.first_question = t.data.first_question or text
    t.data.first_question = t.data.first_question or texts.PRIVACY_SUMMARY[t.data.privacy]
    if t.data.verified:
        return await open_privacy_case(t)
    t.data.after_verify = "privacy"
    t.say(texts.PRIVACY_VERIFY)
    return State.VERIFY_EMAIL


async def open_privacy_case(t: Turn) -> State:
    """The case for the data-protection team, and the customer's deadline."""
    kind = t.data.privacy or "request"
    due = add_months(t.ctx.now().date(), t.ctx.settings.privacy.request_deadline_months)
    details: dict[str, object] = {"privacy": {"request": kind, "due": due.isoformat()}}
    state = await escalate(t, REASON, details)
    if state is State.WAITING_AGENT:
        months = t.ctx.settings.privacy.request_deadline_months
        t.say(texts.PRIVACY_NEXT.format(
            what=texts.PRIVACY_WHAT[kind], due=f"{due:%d %B %Y}",
            period="one month" if months == 1 else f"{months} months",
        ))  # fmt: skip
    return state


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))  # fmt: skip
