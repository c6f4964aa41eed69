"""Slack text in and out.

Slack's ``text`` is a markup: ``<!channel>`` pings everyone, ``<@U123>`` mentions a user,
``<https://evil|bank.com>`` shows "bank.com" and opens another site. Inside the bot every
text is plain, whatever the customer's platform, so:

- ``escape`` turns plain text into Slack text that shows exactly those characters (``&``,
  ``<``, ``>`` as entities, which is all Slack needs): a customer's ``<!channel>`` is shown,
  never executed, and it is applied to everything we post, names included;
- ``to_plain`` turns what Slack sends us (an agent's reply, a Slack customer's message)
  into readable plain text: mentions become ``@name``, links ``label (url)`` so a disguised
  link shows where it goes, entities are decoded. A Telegram customer then reads what the
  agent meant, and a Slack reader sees it escaped again.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"<([^<>]*)>")
_SPECIAL = {"channel": "@channel", "here": "@here", "everyone": "@everyone"}


def escape(text: str) -> str:
    """Plain text as Slack text that is shown literally (no mention, link or ping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_len(text: str) -> int:
    """Length of ``escape(text)`` without building it."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def to_plain(text: str) -> str:
    """Slack text (as received in events) as plain text."""
    return _unescape(_CONTROL.sub(_control, text))


def _control(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    label = _unescape(label)
    if target.startswith("@"):  # user: <@U123> or <@U123|bob>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # channel
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!channel>, <!subteam^S1|@team>, <!date^…|fallback>
        name = target[1:].split("^", 1)[0]
        return label or _SPECIAL.get(name, "@" + name)
    url = _unescape(target)
    shown = url.removeprefix("mailto:")
    if not label or label in (url, shown):
        return shown
    return f"{label} ({url})"


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
