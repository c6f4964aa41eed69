"""The dialogue as a transition table: (state, trigger) -> handler; the handler returns
the next state. ``step`` tries the event's triggers in priority order and runs the
first rule that exists, so "talk to a human" wins over everything while the bot owns
the chat, and plain text is the fallback everywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import loggers
from bot.dialogue import answering as a
from bot.dialogue import escalation as e
from bot.dialogue import privacy as p
from bot.dialogue.intents import triggers
from bot.dialogue.states import BOT_STATES, HANDOFF_STATES, IDLE_STATES, Event, State, Trigger
from bot.dialogue.turn import Turn

Handler = Callable[[Turn, Event], Awaitable[State]]
S, T = State, Trigger

TABLE: dict[tuple[State, Trigger], Handler] = {
    **{(s, T.LEGAL): e.escalate_legal for s in BOT_STATES},
    **{(s, T.PRIVACY): p.privacy_request for s in BOT_STATES},
    **{(s, T.HUMAN): e.escalate_requested for s in BOT_STATES},
    **{(s, T.AUTHORITY): e.escalate_authority for s in BOT_STATES},
    **{(s, T.IDLE): e.close_idle for s in IDLE_STATES},
    (S.START, T.TEXT): a.greet,
    (S.CLOSED, T.TEXT): a.greet,
    (S.AWAIT_ISSUE, T.TEXT): a.understand,
    (S.VERIFY_EMAIL, T.HUMAN): a.human_while_verifying,  # instead of an email
    (S.VERIFY_ORDER, T.HUMAN): a.human_while_verifying,
    (S.VERIFY_EMAIL, T.TEXT): a.check_email,
    (S.VERIFY_ORDER, T.TEXT): a.check_order,
    (S.CONFIRM_SOLVED, T.YES): a.solved,
    (S.CONFIRM_SOLVED, T.NO): a.not_solved,
    (S.CONFIRM_SOLVED, T.TEXT): a.understand,
    (S.CHOOSE_ARTICLE, T.CHOICE): a.chose_article,
    (S.CHOOSE_ARTICLE, T.NO): a.none_fit,
    (S.CHOOSE_ARTICLE, T.TEXT): a.understand,
    (S.OFFER_HUMAN, T.YES): e.escalate_no_answer,
    (S.OFFER_HUMAN, T.NO): a.rephrase,
    (S.OFFER_HUMAN, T.TEXT): a.understand,
    (S.COMPLAINT_OPTIONS, T.CHOICE): a.complaint_choice,
    (S.COMPLAINT_OPTIONS, T.TEXT): a.understand,
    **{(s, T.TEXT): e.relay_to_agent for s in HANDOFF_STATES},
    **{(s, T.AGENT_REPLY): e.relay_to_customer for s in HANDOFF_STATES},
    **{(s, T.AGENT_RESOLVE): e.hand_back for s in HANDOFF_STATES},
    (S.WAITING_AGENT, T.AGENT_CLAIM): e.agent_joined,
    (S.CSAT, T.RATING): e.rate,
    (S.CSAT, T.SKIP): e.finish,
    (S.CSAT, T.TEXT): a.after_resolution,
    (S.CSAT_COMMENT, T.SKIP): e.skip_comment,
    (S.CSAT_COMMENT, T.TEXT): e.comment,
    (S.NPS, T.SKIP): e.finish,
    (S.NPS, T.TEXT): e.nps,
    (S.CLOSED, T.FOLLOWUP): e.follow_up,
    (S.FOLLOWUP_CHECK, T.YES): e.followup_good,
    (S.FOLLOWUP_CHECK, T.NO): e.followup_bad,
    (S.FOLLOWUP_CHECK, T.TEXT): a.understand,
}


async def step(turn: Turn, event: Event) -> State:
    """Run the first rule that matches; an event with no rule leaves the state as it is."""
    for trigger in triggers(event, turn.ctx.settings.escalation):
        handler = TABLE.get((turn.state, trigger))
        if handler is not None:
            loggers.dialogue.debug("%s + %s -> %s", turn.state, trigger, handler.__name__)
            return await handler(turn, event)
    loggers.dialogue.info("no rule for %s in state %s; ignored", type(event).__name__, turn.state)
    return turn.state
