"""What the routers' handlers are given (as aiogram workflow data named ``tg``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import App
from bot.channels.telegram.agents import Agents
from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.forums import KnownTopics
from handoff.places import DeskPlaces


@dataclass
class Context:
    app: App
    signer: CallbackSigner
    agents: Agents | None = None  # None unless the agents work in a Telegram forum group
    places: DeskPlaces[int] | None = None  # each routing group's forum group (same condition)
    topics: KnownTopics | None = None  # where the desk's sender placed recent cases (same)
