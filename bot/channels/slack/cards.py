"""The case card in the agents' channel, as Block Kit.

Everything on it that came from a customer (name, email, question, transcript) is
escaped, so a customer cannot ping the channel or disguise a link on the agents' screen.
The buttons follow the status: Claim and Resolve while open, Resolve once claimed, none
once resolved, or once the case has moved to another group's channel (the old card then
says where it went). The card is re-rendered from the case on every status change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels.slack.escape import escape
from bot.channels.slack.limits import SECTION_LIMIT, truncate
from bot.channels.slack.web import Blocks
from bot.messages import clean_name

CLAIM, RESOLVE = "case_claim", "case_resolve"
ORIGINS = {"slack": "Slack", "telegram": "Telegram", "local": "terminal chat"}


@dataclass(frozen=True)
class CardData:
    fields: dict[str, Any]  # handoff.cards.card_fields
    origin: str  # the customer's channel
    status: str
    agent: str | None
    moved_to: str | None = None  # the channel the case moved to (this card is left behind)


def status_line(card: CardData) -> str:
    agent = escape(card.agent or "")
    if card.moved_to is not None:
        group = escape(str(card.fields.get("group") or "another group"))
        return f":arrow_right: *Moved to <#{card.moved_to}>* ({group}): it continues there"
    if card.status == "open":
        return ":large_green_circle: *Open*: waiting for an agent to claim it"
    if card.status == "assigned":
        return f":large_yellow_circle: *Claimed by {agent}*"
    if agent:
        return f":white_check_mark: *Resolved by {agent}*"
    return f":white_check_mark: *{escape(card.status.capitalize())}*"


def fallback_text(card: CardData) -> str:
    f = card.fields
    who = escape(clean_name(f.get("customer")) or "a customer")
    return f"Case #{f.get('number')} from {who} ({origin(card.origin)}): {status_line(card)}"


def origin(channel: str) -> str:
    """Where a customer writes from, as agents read it."""
    return ORIGINS.get(channel, escape(channel))


def card_blocks(card: CardData) -> Blocks:
    f = card.fields
    number = f.get("number")
    identity = "verified" if f.get("verified") else "not verified"
    if f.get("email"):
        identity += f" ({_plain(f['email'], 200)})"
    facts = [
        ("Customer", _plain(clean_name(f.get("customer")) or "unknown", 200)),
        ("Channel", origin(card.origin)),
        ("Category", _plain(f.get("category"), 100)),
        ("Priority", _plain(f.get("priority"), 50)),
        ("Reason", _plain(f.get("reason_text") or f.get("reason"), 300)),
        ("Group", _plain(f.get("group") or "general", 64)),
        ("Identity", identity),
    ]
    tried = ", ".join(str(a) for a in f.get("articles_tried") or []) or "none"
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Case #{number}"[:150]}},
        {"type": "section", "fields": [_md(f"*{k}*\n{v}") for k, v in facts]},
        _section(f"*Question:* {_plain(f.get('summary') or '(none)', SECTION_LIMIT - 20)}"),
        _section(f"*Articles tried:* {_plain(tried, SECTION_LIMIT - 20)}"),
    ]
    transcript = _transcript(f.get("transcript") or [])
    if transcript:
        blocks.append(_section(transcript))
    blocks.append({"type": "context", "elements": [_md(status_line(card))]})
    buttons = [] if card.moved_to is not None else _buttons(card.status, number)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def _buttons(status: str, number: Any) -> list[dict[str, Any]]:
    claim = {"type": "button", "action_id": CLAIM, "value": str(number), "style": "primary",
             "text": {"type": "plain_text", "text": "Claim"}}  # fmt: skip
    resolve = {"type": "button", "action_id": RESOLVE, "value": str(number),
               "text": {"type": "plain_text", "text": "Resolve"}}  # fmt: skip
    if status == "open":
        return [claim, resolve]
    if status == "assigned":
        return [resolve]
    return []


def _transcript(lines: list[Any]) -> str:
    out = ["*Recent transcript:*"]
    budget = SECTION_LIMIT - len(out[0])
    for line in lines:
        if not isinstance(line, list | tuple) or len(line) != 2:
            continue
        who, text = line
        entry = f"> *{_plain(who, 60)}*: {_plain(' '.join(str(text).split()), 300)}"
        if len(entry) + 1 > budget:
            break
        out.append(entry)
        budget -= len(entry) + 1
    return "\n".join(out) if len(out) > 1 else ""


def _plain(value: Any, limit: int) -> str:
    return escape(truncate(str(value), limit))


def _md(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text)}
