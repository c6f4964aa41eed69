"""The small parts: escaping, splitting, settings, translating events, the card."""

from __future__ import annotations

import pytest

from bot.channels.slack.cards import CardData, card_blocks
from bot.channels.slack.escape import escape, escaped_len, to_plain
from bot.channels.slack.limits import retry_after, split, truncate
from bot.channels.slack.settings import load_slack_settings
from bot.channels.slack.translate import Ignored, choice_message, customer_message
from bot.errors import ConfigError


def test_escape_shows_what_was_written_and_to_plain_reads_what_slack_sends() -> None:
    trap = "<!channel> <@U123> <https://evil|bank.com> & co"
    shown = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|bank.com&gt; &amp; co"
    assert escape(trap) == shown
    assert escaped_len(trap) == len(escape(trap))
    assert to_plain(escape(trap)) == trap  # plain text survives a round trip
    assert to_plain("<!here> <@U1|bob> <#C1|general> <https://evil|bank.com>") == (
        "@here @bob #general bank.com (https://evil)"
    )
    assert to_plain("<mailto:a@b.example|a@b.example> <https://x.example> a &lt;b&gt; &amp;") == (
        "a@b.example https://x.example a <b> &"
    )


def test_split_cuts_at_spaces_and_never_inside_an_entity() -> None:
    assert split("short", 10) == ["short"]
    assert split("", 10) == [""]
    pieces = split("aaaa bbbb cccc", 10)
    assert pieces == ["aaaa bbbb", "cccc"]
    amps = split("&" * 7, 10)  # two "&amp;" fit in 10
    assert [escape(p) for p in amps] == ["&amp;&amp;"] * 3 + ["&amp;"]
    assert truncate("hello world", 6) == "hello…"
    assert truncate("hi", 6) == "hi"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "30"}, 30.0), ({"retry-after": "2"}, 2.0), ({}, 1.0),
     ({"Retry-After": "soon"}, 1.0), ({"Retry-After": "99999"}, 3600.0), (None, 1.0)],
)  # fmt: skip
def test_retry_after_is_read_from_the_429(headers: dict[str, str] | None, seconds: float) -> None:
    assert retry_after(headers) == seconds


def test_settings_name_the_variable_and_never_show_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN: is not set"):
        load_slack_settings(desk="local")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xapp-secret-value")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN: must be a bot token") as error:
        load_slack_settings(desk="local")
    assert "secret-value" not in str(error.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET: is not set"):
        load_slack_settings(desk="local")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    with pytest.raises(ConfigError, match="SLACK_AGENTS_CHANNEL: is not set"):
        load_slack_settings(desk="slack")
    monkeypatch.setenv("SLACK_AGENTS_CHANNEL", "#agents")
    with pytest.raises(ConfigError, match="SLACK_AGENTS_CHANNEL: must be a channel ID"):
        load_slack_settings(desk="slack")
    monkeypatch.setenv("SLACK_AGENTS_CHANNEL", "C0AGENTS")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    slack = load_slack_settings(desk="slack")
    assert (slack.agents_channel, slack.api_url, slack.socket_mode) == (
        "C0AGENTS", "http://127.0.0.1:9/api/", False,
    )  # fmt: skip
    assert "secret-value" not in repr(slack) and "s3cret" not in repr(slack)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert load_slack_settings(desk="slack").socket_mode  # Socket Mode needs no signing secret


def test_events_that_are_not_a_persons_message_are_ignored_with_a_reason() -> None:
    base = {"type": "message", "channel": "D1", "user": "U1", "ts": "1.0", "text": "hi"}
    assert customer_message({**base, "subtype": "message_changed"}, None) == Ignored(
        "message subtype message_changed"
    )
    assert customer_message({**base, "bot_id": "B1"}, None) == Ignored("a bot's message")
    assert customer_message({**base, "user": None}, None) == Ignored(
        "message without channel, user or ts"
    )
    assert customer_message({**base, "text": "  "}, None) == Ignored(
        "message with no text and no file"
    )
    message = customer_message({**base, "text": "a &amp; b"}, "Anna")
    assert not isinstance(message, Ignored)
    assert (message.text, message.message_id, message.user_name) == ("a & b", "1.0", "Anna")
    tap = {"channel": {"id": "C1"}, "user": {"id": "U1"}, "container": {"message_ts": "2.0"},
           "actions": [{"value": "yes", "text": {"text": "Yes"}}]}  # fmt: skip
    assert choice_message(tap, None) == Ignored("quick reply outside a direct message")
    assert choice_message({}, None) == Ignored("button tap without channel, user, message or value")


def test_the_card_stays_within_block_kit_limits_whatever_the_customer_wrote() -> None:
    fields = {
        "number": 7, "priority": "high", "category": "billing", "reason": "legal",
        "reason_text": "legal or regulatory matter", "customer": "<!here>" * 100,
        "verified": True, "email": "a@b.example", "summary": "<@U1> " * 2000,
        "articles_tried": ["refund-policy"] * 500,
        "transcript": [["customer", "& " * 400], ["Sam", "ok"], "broken"] * 10,
    }  # fmt: skip
    blocks = card_blocks(CardData(fields, "telegram", "assigned", "Bob"))
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) < 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        assert "<!here>" not in str(block) and "<@U1>" not in str(block)
    assert [e["text"]["text"] for e in blocks[-1]["elements"]] == ["Resolve"]
    assert "Claimed by Bob" in str(blocks) and "Telegram" in str(blocks)
