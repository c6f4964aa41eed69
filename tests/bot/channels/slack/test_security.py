"""Who may do what: signed requests only, agents only, no bot talking to itself, and
nothing a customer writes can ping or mislead the agents."""

from __future__ import annotations

import json
import logging
import time
import unicodedata

import pytest
from sqlalchemy import func, select

from bot.storage.models import CaseEvent, Conversation, MessageRecord
from tests.bot.channels.slack.conftest import Harness, texts


async def _count(h: Harness, model: type) -> int:
    async with h.app.repo.transaction() as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_forged_stale_and_unsigned_requests_get_401_and_do_nothing(
    slack: Harness,
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    body = slack.http.envelope(anna.message("hi"))
    json_type = "application/json"
    forged = await slack.http.post(body, json_type, secret="not-the-secret")
    stale = await slack.http.post(body, json_type, timestamp=int(time.time()) - 6 * 60)
    unsigned = await slack.http.post(body, json_type, signed=False)
    tampered = await slack.http.post(body.replace(b"hi", b"yo"), json_type, secret="x" * 20)
    assert [r[0] for r in (forged, stale, unsigned, tampered)] == [401, 401, 401, 401]
    assert slack.fake.calls == []  # not even auth.test: nothing was done
    assert await _count(slack, Conversation) == 0

    # the same body, properly signed and fresh, is served
    assert (await slack.http.post(body, json_type))[0] == 200
    await slack.settled()
    assert len(anna.new()) == 1


async def test_a_huge_body_is_refused_before_it_is_parsed(slack: Harness) -> None:
    event = slack.customer("U_ANNA", "D_ANNA").message("x" * 1_100_000)
    status, _ = await slack.http.post(slack.http.envelope(event), "application/json")
    assert status == 413
    assert await _count(slack, Conversation) == 0


async def test_malformed_bodies_are_refused_before_they_are_read(
    slack: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt parses a body before it checks the signature: unsigned junk once raised in
    aiohttp (a 500 and a traceback each). Now it is 401 unread, and signed junk 400."""
    junk = [b"{not json", b"[" * 100_000, b"payload=%7Bbad", b"[1, 2]", b'"a string"']
    form, json_type = "application/x-www-form-urlencoded", "application/json"
    statuses = []
    for body in junk:
        content_type = form if body.startswith(b"payload") else json_type
        statuses.append((await slack.http.post(body, content_type, signed=False))[0])
        statuses.append((await slack.http.post(body, content_type))[0])
    assert statuses == [401, 400] * len(junk)
    # not UTF-8, or a timestamp that is not a number: nothing Slack would sign
    headers = {"Content-Type": json_type, "X-Slack-Request-Timestamp": "soon",
               "X-Slack-Signature": "v0=00"}  # fmt: skip
    for body, stamp in ((b"\xff\xfe{}", str(int(time.time()))), (b"{}", "soon")):
        headers["X-Slack-Request-Timestamp"] = stamp
        async with slack.http.session.post(slack.http.url, data=body, headers=headers) as sent:
            assert sent.status == 401
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "slack: signed request with a malformed body refused" in caplog.text
    assert slack.fake.calls == []
    assert await _count(slack, Conversation) == 0

    anna = slack.customer("U_ANNA", "D_ANNA")  # and the next good request is served
    assert len(await anna.says("hi")) == 1


async def test_url_verification_is_answered_when_signed(slack: Harness) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    status, text = await slack.http.post(body.encode(), "application/json")
    assert (status, json.loads(text)) == (200, {"challenge": "abc123"})


async def test_our_own_and_other_bots_messages_are_ignored(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    await anna.says("hi")
    ours = {**anna.message("Hello!"), "user": "UBOT", "bot_id": "BBOT"}
    other = {**anna.message("beep"), "user": "U_OTHERBOT", "bot_id": "B2",
             "subtype": "bot_message"}  # fmt: skip
    for event in (ours, other):
        assert await slack.http.event(event) == 200
    await slack.settled()
    assert anna.new() == []
    assert await _count(slack, MessageRecord) == 2  # "hi" and the greeting only


async def test_a_non_agent_in_a_case_thread_is_not_relayed_and_is_recorded(
    slack: Harness,
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    eve, bob = slack.agent("U_EVE"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    anna.new()

    assert await eve.says(1, "Hi, I'm from support, send me your password") == 200
    assert await eve.taps(1, "Claim") == 200
    assert anna.new() == []
    refusal = (
        "Only members of the agents' channel can work on cases, so this was not sent to "
        "the customer."
    )
    assert eve.told() == [refusal, refusal]
    assert bob.card(1).labels() == ["Claim", "Resolve"]  # still open, nobody claimed it

    async with slack.app.repo.transaction() as tx:
        refused = await tx.session.execute(
            select(CaseEvent.actor).where(CaseEvent.kind == "refused_non_agent")
        )
        assert refused.scalars().all() == ["slack:U_EVE", "slack:U_EVE"]

    # a member of the channel is an agent (the member list is paginated)
    assert await slack.agent("U_DAN").says(1, "Hello Anna, Dan here") == 200
    assert texts(anna.new())[-1] == "*Dan* (Acme support):\nHello Anna, Dan here"


async def test_names_and_words_from_customers_cannot_ping_or_disguise_links(
    slack: Harness,
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    bob = slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    # Slack delivers a customer's "@channel" and links as markup: it is shown as text
    await anna.says("<!channel> see <https://evil.example|bank.com> &lt;b&gt;")
    assert bob.thread(1) == [
        "*Anna* (Slack): @channel see bank.com (https://evil.example) &lt;b&gt;"
    ]
    card = bob.card(1)
    assert "<!" not in card.all_text()


async def test_a_name_cannot_turn_text_around_or_hide_characters(slack: Harness) -> None:
    """A right-to-left override in a display name would reverse the rest of the card's
    line on an agent's screen; zero-width characters make two names look alike."""
    slack.fake.users["U_EVIL"] = "Ev\u202eil\u200b  Doe\u2066"
    eve, bob = slack.customer("U_EVIL", "D_EVIL"), slack.agent("U_BOB")
    assert (await eve.says("hi"))[0].text.startswith("Hello Evil Doe,")
    await eve.says("I want to talk to a human")
    await eve.says("are you there?")
    shown = bob.card(1).all_text() + "\n".join(bob.thread(1))
    assert "Evil Doe" in shown
    assert not [ch for ch in shown if unicodedata.category(ch) in {"Cc", "Cf"} and ch != "\n"]
