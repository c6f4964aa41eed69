"""A customer in a private chat with the bot, from /start to the satisfaction rating."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Feedback
from tests.bot.channels.telegram.conftest import Bench
from tests.bot.channels.telegram.fake_world import buttons_of


async def test_a_customer_conversation_from_start_to_csat(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)

    assert await anna.says("/start") == [
        "Hello Anna, thank you for contacting Acme Customer Support. "
        "My name is Sam. How can I assist you today?"
    ]

    answer = await anna.says("How do I exchange an item for another size?")
    assert "Exchanges are free within 30 days" in answer[0]
    assert answer[-1].endswith("Did this solve your issue?")
    assert anna.buttons() == ["Yes", "No"]

    thanks = await anna.taps("Yes")
    assert "glad that helped" in thanks[0]
    assert "Thank you for contacting Acme, Anna." in thanks
    assert thanks[-1].startswith("How would you rate the help you received today")
    assert anna.buttons() == ["1", "2", "3", "4", "5", "Skip"]

    assert await anna.taps("5") == [
        "Thank you! Would you like to add a comment about your experience?"
    ]
    assert await anna.says("Quick and clear") == [
        "Thank you for your feedback, Anna. Have a great day!"
    ]

    async with tg.bot.runtime.app.repo.transaction() as tx:
        feedback = (await tx.session.execute(select(Feedback))).scalar_one()
    assert (feedback.score, feedback.comment) == (5, "Quick and clear")
    # Long polling: any webhook was removed first, without dropping waiting updates.
    assert [c.method for c in tg.fake.calls[:3]] == ["getMe", "deleteWebhook", "getUpdates"]
    assert not tg.fake.called("deleteWebhook")[0].get("drop_pending_updates")


async def test_every_tap_is_answered_and_its_keyboard_removed(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    await anna.says("How do I exchange an item for another size?")
    question = tg.last_with_button(111, "Yes")

    await anna.taps("Yes")

    assert len(tg.fake.called("answerCallbackQuery")) == 1
    assert buttons_of(question) == []  # nobody can vote twice on the same question
    edits = tg.fake.called("editMessageReplyMarkup")
    assert [(e["chat_id"], e["message_id"]) for e in edits] == [(111, question["message_id"])]


async def test_a_photo_is_kept_and_the_customer_told_the_bot_reads_text(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    replies = await anna.sends("photo")
    assert any("I can read text only" in r for r in replies)


async def test_content_without_a_kind_of_its_own_is_answered_once_and_edits_ignored(
    tg: Bench,
) -> None:
    """A game (or a story, an invoice, a kind newer than aiogram) is kept and answered
    like a file, once: Telegram delivering the update again gets no second answer."""
    anna = tg.customer("Anna", 111)
    await anna.says("hi")

    game = {"title": "Chess", "description": "a game", "photo": []}
    [answer] = await anna.sends_content(game=game)
    assert answer.startswith("I can read text only, so I've kept your file")
    update = tg.fake.push(tg.fake.delivered[max(tg.fake.delivered)], force=True)
    await tg.bot.settle(update, times=2)
    assert anna.news() == []

    edited = tg.fake.world.new_message(anna.chat, anna.person, text="hi again")
    update = tg.fake.push({"edited_message": {**edited, "edit_date": edited["date"]}})
    await tg.bot.settle(update)
    assert anna.news() == []
