"""The channel's parts on their own: pacing, splitting, signed buttons, settings, logs."""

from __future__ import annotations

import logging

import pytest

from bot.channels.telegram.callbacks import MAX_BYTES, CallbackSigner, Tapped
from bot.channels.telegram.limits import Limiter, Limits, split_text, truncate, utf16_len
from bot.channels.telegram.serve import RedactSecrets
from bot.channels.telegram.settings import TelegramSettings, load_telegram_settings
from bot.channels.telegram.topics import card_html
from bot.errors import ConfigError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sends_per_window(limiter: Limiter, clock: FakeClock, chat: int, count: int) -> list[float]:
    """When each of ``count`` back-to-back messages to ``chat`` may go out."""
    times = []
    for _ in range(count):
        times.append(clock.now + limiter.reserve_chat(chat, posting=True))
    return times


def most_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_one_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    clock = FakeClock()
    times = sends_per_window(Limiter(clock=clock), clock, 111, 6)
    assert [t - clock.now for t in times] == [0, 0, 0, 1, 2, 3]


def test_a_group_never_gets_more_than_20_messages_a_minute() -> None:
    clock = FakeClock()
    times = sends_per_window(Limiter(clock=clock), clock, -100123, 60)
    assert most_in_any_window(times, 60.0) <= 20
    assert most_in_any_window(times, 1.0) <= 3  # and still about one a second


def test_all_chats_together_stay_under_30_a_second() -> None:
    clock = FakeClock()
    limiter = Limiter(clock=clock)
    times = [clock.now + limiter.reserve_overall() for _ in range(1, 200)]
    assert most_in_any_window(times, 1.0) <= 30


def test_a_429_holds_that_chat_only_and_other_calls_are_not_paced() -> None:
    clock = FakeClock()
    limiter = Limiter(Limits(chat_burst=5), clock=clock)
    limiter.penalise(111, 7)
    assert limiter.reserve_chat(111, posting=True) == 7
    assert limiter.reserve_chat(222, posting=True) == 0
    assert limiter.reserve_chat(None, posting=False) == 0  # e.g. answering a button
    assert limiter.reserve_overall() == 0


def test_long_text_is_split_at_clean_boundaries() -> None:
    sentence = "Send the item back with the prepaid label. "
    text = "\n\n".join(sentence * 30 for _ in range(8))  # about 10,000 characters
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert all(c.endswith("label.") for c in chunks)  # paragraph or sentence ends
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_splitting_counts_utf16_units_and_never_breaks_an_emoji() -> None:
    family = "👩\u200d👩\u200d👧"  # one picture, five code points, eight units
    text = family * 1000
    chunks = split_text(text)
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert "".join(chunks) == text
    assert all(c.startswith("👩") and c.endswith("👧") for c in chunks)
    assert truncate("ab👍cd", 4) == "ab…"


def test_button_data_is_signed_per_chat_and_fits_64_bytes() -> None:
    signer = CallbackSigner("4242:secret")
    data = signer.quick_reply(111, "csat:5")
    assert len(data.encode()) <= MAX_BYTES
    assert signer.tapped(111, data) == Tapped(payload="csat:5")
    assert signer.tapped(222, data) is None  # another chat
    assert signer.tapped(111, data.replace("csat:5", "csat:1")) is None  # tampered
    assert signer.case_tapped(111, data) is None  # a customer's button is not a desk button
    assert CallbackSigner("4242:other").tapped(111, data) is None

    long_payload = "choice:" + "a-very-long-article-id-" * 4
    data = signer.quick_reply(111, long_payload)
    assert len(data.encode()) <= MAX_BYTES
    tapped = signer.tapped(111, data)
    assert tapped is not None and tapped.payload is None and tapped.digest

    claim = signer.case_action(-100123, "claim", 7)
    assert signer.case_tapped(-100123, claim) == ("claim", 7)
    assert signer.case_tapped(-100999, claim) is None


def test_settings_name_the_variable_and_keep_the_token_secret() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN: must look like 123456:ABC-def"):
        load_telegram_settings(bot_token="not-a-token")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET: must be 1-256 characters"):
        load_telegram_settings(bot_token="1:abc", webhook_secret="has spaces")
    settings = TelegramSettings(bot_token="1:abc")
    assert "1:abc" not in repr(settings)
    with pytest.raises(ConfigError, match="TELEGRAM_AGENTS_CHAT_ID: required"):
        settings.check_for("telegram", "polling")
    settings.check_for("slack", "polling")  # agents elsewhere: no group needed


def test_log_records_never_show_the_token() -> None:
    redact = RedactSecrets("4242:TOKEN", "TOKEN")
    record = logging.LogRecord("aiogram", logging.ERROR, __file__, 1,
                               "POST %s failed", ("/bot4242:TOKEN/getMe",), None)  # fmt: skip
    try:
        raise RuntimeError("https://api.telegram.org/bot4242:TOKEN/getUpdates")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert redact.filter(record)
    assert record.getMessage() == "POST /bot[redacted]/getMe failed"
    assert record.exc_text is not None and "TOKEN" not in record.exc_text


def test_the_case_card_escapes_everything_the_customer_wrote() -> None:
    card = card_html(
        {"number": 3, "priority": "high", "category": "billing", "reason_text": "legal",
         "customer": "<Eve & co>", "verified": True, "email": "e@x.io",
         "summary": "<script>&", "articles_tried": [], "transcript": [["customer", "a<b"]]},
        "", 0,
    )  # fmt: skip
    assert "&lt;Eve &amp; co&gt;" in card and "&lt;script&gt;&amp;" in card
    assert "a&lt;b" in card and "<script>" not in card
