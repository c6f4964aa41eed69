"""Handlers for handoff and closure: escalate, relay while an agent owns the chat,
hand back, ask for CSAT, follow up, close idle chats."""

from __future__ import annotations

from datetime import timedelta

from bot.dialogue import texts
from bot.dialogue.intents import classify, rating
from bot.dialogue.states import AgentDid, ConversationData, CustomerSaid, Event, State, TimerFired
from bot.dialogue.turn import CaseDraft, CaseOpened, Turn

PRIORITY = {"legal": "high", "complaint": "high", "beyond_authority": "high",
            "privacy_request": "high"}  # fmt: skip


async def escalate(t: Turn, reason: str, extra: dict[str, object] | None = None) -> State:
    """Document the case first, then tell the customer; the desk is notified with the case.
    ``extra`` joins the case's details. A customer who opened ``abuse.cases_per_hour``
    cases in the last hour is asked to wait for those instead."""
    if t.state in {State.START, State.CLOSED} and t.data.contact_id is None:
        await greeting(t)
    limit = t.ctx.settings.abuse.cases_per_hour
    recent, transcript = await t.port.history(t.ctx.now() - timedelta(hours=1), 20)
    if recent >= limit:
        t.say(texts.TOO_MANY_CASES.format(count=recent))
        return State.AWAIT_ISSUE
    data = t.data
    draft = CaseDraft(
        reason=reason,
        category=data.category or ("legal" if reason == "legal" else "other"),
        priority=PRIORITY.get(reason, "normal"),
        summary=(data.first_question or (transcript[-1][1] if transcript else ""))[:500],
        details={
            "customer": t.customer_name,
            "verified": data.verified,
            "email": data.email,
            "articles_tried": list(data.tried_articles),
            "failed_answers": data.failed_answers,
            "complaint": data.complaint,
            "transcript": [list(line) for line in transcript],
            **(extra or {}),
        },
    )
    opened = await t.port.open_case(draft)
    data.case_number = opened.number
    await contact(t, outcome="escalated", case_number=opened.number)
    t.say(escalation_notice(t, opened, reason))
    return State.WAITING_AGENT


def escalation_notice(t: Turn, opened: CaseOpened, reason: str) -> str:
    """The case number and an honest expectation: when, and where they are in the queue."""
    why = texts.REASONS.get(reason, reason)
    if opened.answer_from is not None:
        when = t.ctx.hours.describe(opened.answer_from)
        return texts.ESCALATED_CLOSED.format(number=opened.number, reason=why, when=when)
    text = texts.ESCALATED.format(
        number=opened.number, reason=why,
        response=texts.duration(t.ctx.settings.sla.first_response_minutes),
    )  # fmt: skip
    if opened.position > 1:
        text += " " + texts.QUEUE.format(ahead=opened.position - 1)
    if opened.typical_wait is not None:
        minutes = max(1, round(opened.typical_wait.total_seconds() / 60))
        text += " " + texts.TYPICAL_WAIT.format(wait=texts.duration(minutes))
    return text


async def greeting(t: Turn) -> None:
    """The SOP greeting, personalised when the name is known; a new contact starts."""
    company = t.ctx.settings.company
    template = company.greeting_named if t.customer_name else company.greeting
    t.say(template.format(company=company.name, bot=company.bot_name, customer=t.customer_name))
    t.data = ConversationData(contact_id=await t.port.start_contact())


async def contact(
    t: Turn, *, outcome: str | None = None, case_number: int | None = None, ended: bool = False
) -> None:
    """Record how the current contact is going (for FCR, escalation rate, handling time)."""
    if t.data.contact_id is not None:
        await t.port.update_contact(
            t.data.contact_id, outcome=outcome, category=t.data.category,
            case_number=case_number, ended=ended,
        )  # fmt: skip


def categorise(t: Turn, text: str) -> str | None:
    """The issue category from the customer's words, or the best article's if confident."""
    return classify(text, t.ctx.settings.categories.keywords) or articles_category(t, text)


def articles_category(t: Turn, text: str) -> str | None:
    """The category of the article that best fits ``text``, if it fits well enough."""
    best = t.look_up(text).best
    if best is not None and best.score >= t.ctx.kb.thresholds.clarify:
        return best.article.category
    return None


async def _escalate_now(t: Turn, event: Event, reason: str) -> State:
    """Escalation straight from the customer's words: keep them as the case's question."""
    if isinstance(event, CustomerSaid) and event.text.strip() and not event.payload:
        text = event.text.strip()
        if t.state in {State.START, State.CLOSED}:
            await greeting(t)  # a new contact: its data starts afresh
            t.data.first_question, t.data.category = text, categorise(t, text)
        else:
            t.data.first_question = t.data.first_question or text
            t.data.category = t.data.category or categorise(t, text)
    return await escalate(t, reason)


async def escalate_requested(t: Turn, event: Event) -> State:
    return await _escalate_now(t, event, "requested")


async def escalate_legal(t: Turn, event: Event) -> State:
    return await _escalate_now(t, event, "legal")


async def escalate_authority(t: Turn, event: Event) -> State:
    return await _escalate_now(t, event, "beyond_authority")


async def escalate_no_answer(t: Turn, event: Event) -> State:
    return await escalate(t, "no_answer")


async def relay_to_agent(t: Turn, event: Event) -> State:
    """The bot stays silent; the customer's words go to the case on the desk."""
    if t.data.case_number is not None and isinstance(event, CustomerSaid):
        await t.port.notify_desk(t.data.case_number, event.text)
    return t.state


async def agent_joined(t: Turn, event: Event) -> State:
    assert isinstance(event, AgentDid)
    t.data.agent = event.agent
    t.say(texts.AGENT_JOINED.format(agent=event.agent))
    return State.WITH_AGENT


async def relay_to_customer(t: Turn, event: Event) -> State:
    assert isinstance(event, AgentDid)
    t.data.agent = t.data.agent or event.agent
    t.relay(event.text, event.agent, event.extra)
    return State.WITH_AGENT


async def hand_back(t: Turn, event: Event) -> State:
    """The agent resolved the case: the bot resumes with the closure and CSAT."""
    assert isinstance(event, AgentDid)
    t.data.resolution = event.text or None
    await contact(t, ended=True)
    summary = f": {event.text}" if event.text else ""
    t.say(texts.RESOLVED_BY_AGENT.format(
        agent=event.agent, number=t.data.case_number, summary=summary
    ))  # fmt: skip
    return await closure(t)


async def closure(t: Turn) -> State:
    settings = t.ctx.settings
    t.say(texts.THANKS.format(company=settings.company.name, name=texts.with_name(t.customer_name)))
    t.say(texts.CSAT_QUESTION, texts.CSAT_BUTTONS)
    due = t.ctx.now() + timedelta(hours=settings.timing.followup_delay_hours)
    await t.port.schedule_followup(due, t.data.case_number)
    return State.CSAT


async def rate(t: Turn, event: Event) -> State:
    assert isinstance(event, CustomerSaid)
    score = rating(event)
    if score is None:
        return await reask_rating(t, event)
    t.data.feedback_id = await t.port.record_feedback(score, t.data.case_number)
    t.data.csat = score
    t.say(texts.COMMENT_QUESTION, texts.COMMENT_BUTTONS)
    return State.CSAT_COMMENT


async def reask_rating(t: Turn, event: Event) -> State:
    t.say(texts.CSAT_REASK, texts.CSAT_BUTTONS)
    return State.CSAT


async def comment(t: Turn, event: Event) -> State:
    text = event.text.strip()[:4000] if isinstance(event, CustomerSaid) else ""
    if t.data.feedback_id is not None and text:
        await t.port.add_feedback_comment(t.data.feedback_id, text)
    return await after_csat(t, text)


async def skip_comment(t: Turn, event: Event) -> State:
    return await after_csat(t, "")


async def after_csat(t: Turn, comment_text: str) -> State:
    """A low score alerts the supervisor; some customers are also asked for NPS."""
    settings = t.ctx.settings
    if t.data.csat is not None and t.data.csat <= settings.feedback.low_csat_alert_at_or_below:
        number = t.data.case_number
        await t.port.alert_supervisor(texts.LOW_CSAT.format(
            score=t.data.csat, customer=t.customer_name or "a customer",
            case=f" on case #{number}" if number else "", comment=comment_text or "no comment",
            link=f"supportbot cases show {number}" if number else "the conversation log",
        ), number)  # fmt: skip
    if t.ctx.random() < settings.feedback.nps_rate:
        t.say(texts.NPS_QUESTION.format(company=settings.company.name), texts.NPS_BUTTONS)
        return State.NPS
    return await finish(t, None)


async def nps(t: Turn, event: Event) -> State:
    score = nps_score(event)
    if score is None:
        t.say(texts.NPS_REASK, (*texts.NPS_BUTTONS, texts.CSAT_BUTTONS[-1]))
        return State.NPS
    await t.port.record_feedback(score, t.data.case_number, kind="nps")
    return await finish(t, event)


def nps_score(event: Event) -> int | None:
    if not isinstance(event, CustomerSaid):
        return None
    raw = (event.payload or "").removeprefix("nps:") if event.payload else event.text.strip()
    return int(raw) if raw.isdigit() and 0 <= int(raw) <= 10 else None


async def finish(t: Turn, event: Event | None) -> State:
    if t.data.case_number is not None:
        await t.port.close_case(t.data.case_number)
    await contact(t, ended=True)
    t.say(texts.FEEDBACK_THANKS.format(name=texts.with_name(t.customer_name)))
    return State.CLOSED


async def follow_up(t: Turn, event: Event) -> State:
    assert isinstance(event, TimerFired)
    company = t.ctx.settings.company
    what = f"case #{event.case_number}" if event.case_number else "your recent request"
    t.say(texts.FOLLOWUP.format(
        name=texts.with_name(t.customer_name), bot=company.bot_name, company=company.name, what=what
    ), texts.FOLLOWUP_BUTTONS)  # fmt: skip
    return State.FOLLOWUP_CHECK


async def followup_good(t: Turn, event: Event) -> State:
    t.say(texts.FOLLOWUP_GOOD.format(company=t.ctx.settings.company.name))
    return State.CLOSED


async def followup_bad(t: Turn, event: Event) -> State:
    """Not fixed after all: reopen the case (within the window) with its history."""
    number = t.data.case_number
    if number is not None and await t.port.reopen_case(number):
        t.say(texts.REOPENED.format(number=number, who=t.data.agent or "our team"))
        return State.WITH_AGENT if t.data.agent else State.WAITING_AGENT
    t.data = ConversationData(contact_id=await t.port.start_contact())
    t.say(texts.FOLLOWUP_BAD)
    return State.AWAIT_ISSUE


async def close_idle(t: Turn, event: Event) -> State:
    await contact(t, outcome="abandoned", ended=True)
    if t.data.case_number is not None:
        await t.port.close_case(t.data.case_number)
    t.say(texts.IDLE_CLOSED.format(company=t.ctx.settings.company.name))
    return State.CLOSED
