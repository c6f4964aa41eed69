"""Each redaction rule, with what it must catch and what it must leave alone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.privacy import logs
from bot.privacy.redaction import RULES, Redactor, iban_ok, luhn_ok
from bot.settings import load_settings
from tests.bot.privacy.scenario import bench, scenario_settings
from tests.conftest import Clock
from tests.databases import Database

CHAT = Redactor(["card_number", "security_code", "iban", "password"])
LOGS = Redactor(list(RULES))

# (rule, text, expected text): positive examples mask, negative ones leave the text as is.
EXAMPLES = [
    ("card_number", "card 4111 1111 1111 1111 please", "card [card ending 1111] please"),
    ("card_number", "4111111111111111", "[card ending 1111]"),
    ("card_number", "5500-0000-0000-0004", "[card ending 0004]"),
    ("card_number", "amex 3782 822463 10005.", "amex [card ending 0005]."),
    ("card_number", "4111 11111111 1111", "[card ending 1111]"),
    ("card_number", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "[card ending 1111]"),
    ("card_number", "4111 1111 1111 1111 12/27", "[card ending 1111] 12/27"),
    ("card_number", "order 1234567812345678 arrived", None),  # 16 digits, fails Luhn
    ("card_number", "order 4111 1111 1111 1112 arrived", None),  # one digit off
    ("card_number", "call +49 30 1234 5678 90", None),
    ("card_number", "tracking 0012 3456 7890 1234 52", None),
    ("card_number", "it cost 1299 and took 12 days", None),
    ("security_code", "4111 1111 1111 1111 cvv 123", "[card ending 1111] cvv [security code]"),
    (
        "security_code",
        "4111111111111111, exp 12/27, 987",
        "[card ending 1111], exp 12/27, [security code]",
    ),
    (
        "security_code",
        "card 5500000000000004 security code: 1234",
        "card [card ending 0004] security code: [security code]",
    ),
    ("security_code", "the CVV field rejects 123", None),  # no card: not a secret
    ("card_number", "4111111111111111 and 3 items", "[card ending 1111] and 3 items"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN [IBAN removed] thanks"),
    ("iban", "gb82west12345698765432", "[IBAN removed]"),
    ("iban", "DE89 3704 0044 0532 0130 01", None),  # checksum fails
    ("iban", "parcel JD014600006281230 is late", None),
    ("iban", "see DE89 for details", None),
    ("password", "my password is hunter2", "my password is [password removed]"),
    ("password", "Password: Tr0ub4dor&3", "Password: [password removed]"),
    ("password", 'pwd="correct horse"', "pwd=[password removed]"),
    ("password", "my new pin is 4321", "my new pin is [password removed]"),
    ("password", "I forgot my password", None),
    ("password", "my password is not working", None),
    ("password", "the password is wrong, can you reset it", None),
    ("password", "how do I change my password?", None),
]
LOG_EXAMPLES = [
    ("email", "sent to anna@example.com today", "sent to [email] today"),
    ("email", "user@localhost", None),
    ("phone", "call +44 20 7946 0958", "call [phone]"),
    ("phone", "call 030 1234567 now", "call [phone] now"),
    ("phone", "(555) 123-4567", "[phone]"),
    ("phone", "on 2026-03-02 at 09:00", None),
    ("phone", "group -1001234567890", None),
    ("order_number", "order A10001 and #123456", "order [order] and [order]"),
    ("order_number", "conversation 12345 case 7", None),
]


@pytest.mark.parametrize(("rule", "text", "expected"), EXAMPLES)
def test_chat_rules(rule: str, text: str, expected: str | None) -> None:
    result = CHAT.redact(text)
    assert result.text == (text if expected is None else expected)
    assert (rule in result.rules) is (expected is not None and text != expected)


@pytest.mark.parametrize(("rule", "text", "expected"), LOG_EXAMPLES)
def test_log_rules(rule: str, text: str, expected: str | None) -> None:
    assert CHAT(text) == text  # contact details are fine in a transcript
    assert LOGS(text) == (text if expected is None else expected)


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("1234567812345678")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


def test_rules_are_chosen_by_name_and_custom_ones_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_cards = Redactor(["card_number"])
    assert only_cards("my password is hunter2") == "my password is hunter2"
    ticket = Redactor(["ticket"], {"ticket": r"TCK-\d{6}"})
    assert ticket("about TCK-123456") == "about [ticket removed]"
    file = tmp_path / "s.toml"
    file.write_text('[redaction]\nchat_rules = ["card_number", "passport"]\n')
    with pytest.raises(ConfigError, match="unknown redaction rule 'passport'"):
        load_settings(file)
    file.write_text('[redaction]\ncustom = { bad = "(" }\n')
    with pytest.raises(ConfigError, match="custom rule 'bad' is not a valid"):
        load_settings(file)


def test_log_records_are_redacted_whoever_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    logs.install(LOGS)
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info("mail %s, card %s", "a@b.co", "4111111111111111")
    logging.getLogger("supportbot.x").warning("order A10001 by +44 20 7946 0958")
    assert [r.getMessage() for r in caplog.records] == [
        "mail [email], card [card ending 1111]",
        "order [order] by [phone]",
    ]


async def test_a_card_in_the_chat_is_masked_before_storage_desk_and_logs_and_told_once(
    tmp_path: Path, database: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await b.say("ann", "Ann", "hi, my card 4111 1111 1111 1111 cvv 737 was charged twice")
        first = [r.text for r in b.seen_by("ann")]
        assert first[0].startswith("Hello Ann") and first[1].startswith("For your safety")
        await b.say("ann", "Ann", "I want a human")
        await b.say("ann", "Ann", "my password is S3cret! and IBAN GB82WEST12345698765432")
        assert sum("For your safety" in r.text for r in b.seen_by("ann")) == 1
        async with b.app.repo.transaction() as tx:
            stored = [m.text for m in await tx.messages(1, 100) if m.direction == "in"]
            case = await tx.case(1)
        assert stored == [
            "hi, my card [card ending 1111] cvv [security code] was charged twice",
            "I want a human",
            "my password is [password removed] and IBAN [IBAN removed]",
        ]
        assert case is not None and "4111" not in str(case.details)
        await b.app.engine.deliver()  # the desk's notices too
        desk = "\n".join(r.text for _, r in b.desk.sent)
        assert "[password removed]" in desk
        everything = desk + "\n".join(r.getMessage() for r in caplog.records)
        for secret in ("4111 1111", "737", "S3cret", "GB82", "WEST1234"):
            assert secret not in everything
