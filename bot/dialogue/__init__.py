"""The channel-independent dialogue that follows the customer-service SOPs."""

from bot.dialogue.states import (
    AgentDid,
    ConversationData,
    CustomerSaid,
    Event,
    State,
    TimerFired,
    Trigger,
)
from bot.dialogue.table import TABLE, step
from bot.dialogue.turn import CaseDraft, Context, Port, Turn

__all__ = [
    "TABLE",
    "AgentDid",
    "CaseDraft",
    "Context",
    "ConversationData",
    "CustomerSaid",
    "Event",
    "Port",
    "State",
    "TimerFired",
    "Trigger",
    "Turn",
    "step",
]
