"""Handlers while the bot owns the chat: understand, verify, answer, handle complaints."""

from __future__ import annotations

from bot.dialogue import texts
from bot.dialogue.escalation import (
    articles_category,
    closure,
    contact,
    escalate,
    escalate_requested,
    greeting,
    reask_rating,
)
from bot.dialogue.intents import classify, find_detail, is_complaint, is_filler, is_greeting
from bot.dialogue.privacy import open_privacy_case
from bot.dialogue.states import ConversationData, CustomerSaid, Event, State
from bot.dialogue.turn import Turn
from bot.messages import Button
from knowledge_base import Article, Decision

TOPICS = {"account": "your account", "billing": "billing"}
EXCHANGE_QUERY = "how do I exchange an item"


def _text(event: Event) -> str:
    return event.text.strip() if isinstance(event, CustomerSaid) else ""


async def greet(t: Turn, event: Event) -> State:
    """Start (or start again): the SOP greeting, then straight to the question if there is one."""
    await greeting(t)
    text = _text(event)
    if not text or text.startswith("/") or is_greeting(text):
        return State.AWAIT_ISSUE
    return await understand(t, event)


async def understand(t: Turn, event: Event) -> State:
    """Classify the issue, insist on verification where the SOP asks for it, then answer."""
    text = _text(event)
    settings = t.ctx.settings
    if is_filler(text):
        t.say(texts.WHAT_QUESTION)
        return State.AWAIT_ISSUE
    t.data.first_question = t.data.first_question or text
    if is_complaint(text, settings.escalation):
        t.data.complaint = True
        t.data.category = classify(text, settings.categories.keywords) or "product_malfunction"
        options = tuple(
            Button(texts.COMPLAINT_CHOICES[o], f"choice:{o}")
            for o in settings.escalation.complaint_options
        )
        t.say(texts.COMPLAINT.format(name=texts.with_name(t.customer_name)),
              (*options, Button("Talk to a person", "human")))  # fmt: skip
        return State.COMPLAINT_OPTIONS
    # Words that name a category set it. Otherwise a contact keeps the category it has:
    # "it has been 3 weeks", said of a delivery, would else be filed by whichever article
    # those words come closest to; only a contact without one is filed by the articles.
    known = t.data.category if t.data.category != "other" else None
    t.data.category = (
        classify(text, settings.categories.keywords)
        or known
        or articles_category(t, text)
        or "other"
    )
    if needs_identity(t) and not _public_answer(t, text):
        t.data.pending_query, t.data.after_verify = text, "answer"
        return ask_email(t)
    return await answer(t, text)


def needs_identity(t: Turn, article: Article | None = None) -> bool:
    """Account or billing help for someone not yet verified (the SOP), unless the answer
    is an article its editors marked ``public``: general information anyone may read."""
    required = t.ctx.settings.categories.verification_required
    if t.data.verified or t.data.category not in required:
        return False
    return article is None or not article.public


def _public_answer(t: Turn, text: str) -> bool:
    """The question has a confident answer, and it is a public article."""
    if not t.ctx.kb.has_public:  # most knowledge bases: no search before verification
        return False
    result = t.look_up(text, exclude=t.data.tried_articles)
    best = result.best
    return result.decision is Decision.ANSWER and best is not None and best.article.public


def ask_email(t: Turn) -> State:
    topic = TOPICS.get(t.data.category or "", "this")
    t.say(texts.ASK_EMAIL.format(topic=topic))
    return State.VERIFY_EMAIL


async def answer(t: Turn, query: str) -> State:
    """Answer only with a confident match; offer choices or a human otherwise."""
    result = t.look_up(query, exclude=t.data.tried_articles)
    t.data.last_query = query
    best = result.best
    if result.decision is Decision.ANSWER and best is not None:
        return await give_article(t, query, best.article, best.score, "answer")
    if result.decision is Decision.CLARIFY and best is not None:
        t.data.offered_articles = [m.article.id for m in result.matches]
        t.data.kb_query_id = await t.port.log_kb_query(
            query, best.article.id, best.score, "clarify", "clarify"
        )
        choices = tuple(Button(m.article.title, f"choice:{m.article.id}") for m in result.matches)
        t.say(texts.CLARIFY, (*choices, texts.NONE_OF_THESE))
        return State.CHOOSE_ARTICLE
    await t.port.log_kb_query(
        query, best.article.id if best else None, best.score if best else None, "none", "unanswered"
    )
    t.say(texts.NO_ANSWER, texts.OFFER_HUMAN_BUTTONS)
    return State.OFFER_HUMAN


async def give_article(t: Turn, query: str, article: Article, score: float, how: str) -> State:
    t.data.tried_articles.append(article.id)
    t.data.kb_query_id = await t.port.log_kb_query(query, article.id, score, how, "suggested")
    t.say(f"{article.body}\n\n{texts.SOLVED_QUESTION}", texts.YES_NO)
    return State.CONFIRM_SOLVED


async def chose_article(t: Turn, event: Event) -> State:
    choice = (event.payload or "").split(":", 1)[-1] if isinstance(event, CustomerSaid) else ""
    article = t.ctx.kb.get(choice) if choice in t.data.offered_articles else None
    if article is None:
        t.say("Please choose one of the articles above, or None of these.")
        return State.CHOOSE_ARTICLE
    if t.data.kb_query_id is not None:
        await t.port.set_kb_outcome(t.data.kb_query_id, "clarified")
    return await give_article(t, t.data.last_query or article.title, article, 100.0, "choice")


async def solved(t: Turn, event: Event) -> State:
    if t.data.kb_query_id is not None:
        await t.port.set_kb_outcome(t.data.kb_query_id, "accepted")
    article = t.ctx.kb.get(t.data.tried_articles[-1]) if t.data.tried_articles else None
    t.data.resolution = article.title if article else None
    await contact(t, outcome="bot_resolved", ended=True)
    t.say(texts.BOT_RESOLVED.format(title=t.data.resolution or "your question is answered"))
    return await closure(t)


async def not_solved(t: Turn, event: Event) -> State:
    """A "no": count it, escalate after too many, else the next article or a question."""
    if t.data.kb_query_id is not None:
        await t.port.set_kb_outcome(t.data.kb_query_id, "rejected")
    return await _failed_try(t, texts.TELL_MORE)


async def none_fit(t: Turn, event: Event) -> State:
    return await _failed_try(t, texts.REPHRASE)


async def _failed_try(t: Turn, ask_more: str) -> State:
    t.data.failed_answers += 1
    if t.data.failed_answers >= t.ctx.settings.escalation.failed_answers:
        return await escalate(t, "failed_resolution")
    if t.data.last_query and t.state is State.CONFIRM_SOLVED:
        nxt = t.look_up(t.data.last_query, exclude=t.data.tried_articles).best
        if nxt is not None and nxt.score >= t.ctx.kb.thresholds.clarify:
            if needs_identity(t, nxt.article):  # a public answer did not help: the rest
                t.data.pending_query, t.data.after_verify = t.data.last_query, "answer"
                return ask_email(t)  # are for a verified customer only
            t.say(texts.NEXT_ARTICLE)
            return await give_article(t, t.data.last_query, nxt.article, nxt.score, "next")
    t.say(ask_more)
    return State.AWAIT_ISSUE


async def after_resolution(t: Turn, event: Event) -> State:
    """Words instead of a rating after a resolution: the customer has moved on to
    something new, or was still writing when an agent resolved the case. Either way the
    words start a new contact and the bot reads them (it answers, asks which article, or
    offers a person), so they are never left unread; "ok" or "thanks" is asked for the
    rating again. The resolved case stays as it is; the next day's follow-up still asks
    whether it is fixed, and reopens it on a "no"."""
    if is_filler(_text(event)):
        return await reask_rating(t, event)
    t.data = ConversationData(contact_id=await t.port.start_contact())
    return await understand(t, event)


async def rephrase(t: Turn, event: Event) -> State:
    t.say(texts.REPHRASE)
    return State.AWAIT_ISSUE


async def complaint_choice(t: Turn, event: Event) -> State:
    choice = (event.payload or "").split(":", 1)[-1] if isinstance(event, CustomerSaid) else ""
    if choice not in t.ctx.settings.escalation.complaint_options:
        t.say("Please choose one of the options above.")
        return State.COMPLAINT_OPTIONS
    if choice == "refund":
        t.data.category = "billing"
        if not t.data.verified:
            t.data.after_verify = "refund"
            return ask_email(t)
        return await refund(t)
    if choice == "exchange":
        return await answer(t, EXCHANGE_QUERY)
    t.data.category = "technical"
    t.say(texts.DESCRIBE_PROBLEM)
    return State.AWAIT_ISSUE


async def refund(t: Turn) -> State:
    t.say(texts.REFUND_POLICY)
    return await escalate(t, "beyond_authority")


async def check_email(t: Turn, event: Event) -> State:
    """The email, or both details in one message, or the order number first (kept,
    and the email asked for): in whatever order the customer gives them."""
    rules = t.ctx.settings.verification
    text = _text(event)
    email = find_detail(rules.email_pattern, text)
    order = find_detail(rules.order_pattern, text) or t.data.order_number
    if email is None:
        if order is not None and t.data.order_number is None:
            t.data.order_number = order
            t.say(texts.ASK_EMAIL_TOO)
            return State.VERIFY_EMAIL
        return await _verification_failed(t, texts.BAD_EMAIL, State.VERIFY_EMAIL)
    t.data.email = email
    if order is not None:
        return await _verify(t, order)
    t.say(texts.ASK_ORDER)
    return State.VERIFY_ORDER


async def check_order(t: Turn, event: Event) -> State:
    order = find_detail(t.ctx.settings.verification.order_pattern, _text(event))
    if order is None:
        return await _verification_failed(t, texts.BAD_ORDER, State.VERIFY_ORDER)
    return await _verify(t, order)


async def _verify(t: Turn, order: str) -> State:
    t.data.order_number = None  # asked again from the start if this pair fails
    result = await t.ctx.verifier.verify(t.data.email or "", order)
    if not result.ok:
        return await _verification_failed(t, texts.VERIFY_FAILED, State.VERIFY_EMAIL)
    t.data.verified = True
    t.customer_name = t.customer_name or result.customer_name
    t.say(texts.VERIFIED.format(name=texts.with_name(t.customer_name)))
    if t.data.after_verify == "refund":
        return await refund(t)
    if t.data.after_verify == "privacy":
        return await open_privacy_case(t)
    return await answer(t, t.data.pending_query or t.data.first_question or "")


async def human_while_verifying(t: Turn, event: Event) -> State:
    """Asked for a person while we wait for their email or order number: an explicit
    request wins (SOP), and the team verifies them. A data-protection request still
    gets its own case (its group, its legal deadline), as when verification fails."""
    if t.data.after_verify == "privacy":
        return await open_privacy_case(t)
    return await escalate_requested(t, event)


async def _verification_failed(t: Turn, message: str, retry: State) -> State:
    t.data.verification_attempts += 1
    if t.data.verification_attempts >= t.ctx.settings.escalation.verification_attempts:
        if t.data.after_verify == "privacy":  # the team verifies them another way
            return await open_privacy_case(t)
        return await escalate(t, "verification_failed")
    t.say(message)
    return retry
