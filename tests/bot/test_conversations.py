"""Customer conversations driven through the engine, written as transcripts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.dialogue import ConversationData
from bot.messages import Attachment, Message, Reply
from bot.storage.models import Case, Conversation, Feedback, FollowUp, KbQuery
from tests.conftest import Chat, joined


async def test_greeting_uses_the_sop_template_and_the_customer_name(chat: Chat) -> None:
    replies = await chat.say("hi")
    assert chat.texts() == [
        "Hello Anna, thank you for contacting Acme Customer Support. "
        "My name is Sam. How can I assist you today?"
    ]
    assert replies[0].buttons == ()


async def test_greeting_without_a_known_name(chat: Chat) -> None:
    chat.name = None
    await chat.say("/start")
    assert chat.texts()[0].startswith("Hello, thank you for contacting Acme Customer Support.")


async def test_a_no_without_another_good_article_asks_for_more_detail(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("How do I exchange an item?")
    replies = await chat.press("No")
    assert "tell me a bit more" in replies[0].text


async def test_a_bare_yes_or_no_is_not_looked_up_as_a_question(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("no")
    assert replies[0].text.startswith("How can I help?")


async def test_answer_confirmed_then_csat_comment_and_follow_up(chat: Chat) -> None:
    await chat.say("hello")
    replies = await chat.say("How do I exchange an item for another size?")
    assert "Did this solve your issue?" in replies[-1].text
    assert [b.label for b in replies[-1].buttons] == ["Yes", "No"]

    replies = await chat.press("Yes")
    text = joined(replies)
    assert "glad that helped" in text
    assert "Thank you for contacting Acme, Anna." in text
    assert "rate the help" in replies[-1].text
    assert [b.label for b in replies[-1].buttons] == ["1", "2", "3", "4", "5", "Skip"]

    await chat.press("5")
    assert "add a comment" in chat.texts()[0]
    await chat.say("Quick and clear, thanks")
    assert chat.texts() == ["Thank you for your feedback, Anna. Have a great day!"]

    async with chat.app.repo.transaction() as tx:
        feedback = (await tx.session.execute(select(Feedback))).scalar_one()
        query = (await tx.session.execute(select(KbQuery))).scalar_one()
        followup = (await tx.session.execute(select(FollowUp))).scalar_one()
    assert (feedback.score, feedback.comment, feedback.case_id) == (
        5,
        "Quick and clear, thanks",
        None,
    )
    assert (query.article_id, query.outcome) == ("exchange-item", "accepted")
    assert followup.due_at == chat.clock() + timedelta(hours=24)

    replies = await chat.tick(hours=24, minutes=1)
    assert "following up" in replies[0].text and "still working" in replies[0].text
    await chat.press("Yes, all good")
    assert "Great to hear" in chat.texts()[0]


async def test_first_message_with_a_question_gets_greeting_and_answer(chat: Chat) -> None:
    replies = await chat.say("I need to change the email address on my account")
    assert replies[0].text.startswith("Hello Anna")
    # account help needs identity first
    assert "verify your identity" in replies[1].text
    # how to reset a password is public: anyone may read it
    assert "Forgot password?" in (await new_customer_says(chat, "I forgot my password"))[0].text


async def test_a_greeting_and_a_name_in_front_of_the_question_do_not_hide_it(
    chat: Chat,
) -> None:
    replies = await chat.say("hi my name is Lara, where is my parcel")
    assert replies[0].text.startswith("Hello Anna")
    assert "Track parcel" in replies[1].text
    chatty = "Hello! I ordered shoes last week and they still haven't shipped, order A10001"
    replies = await new_customer_says(chat, chatty)
    assert "don't have a confident answer" not in joined(replies)


async def test_yes_and_no_in_the_customers_own_words(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("How do I exchange an item?")
    replies = await chat.say("yes it did, thanks!")
    assert "glad that helped" in joined(replies)
    assert await chat.say("5 stars") and "add a comment" in chat.texts()[0]

    await new_customer_says(chat, "where is my package")
    assert "Here is another article" in joined(await chat.say("Nope, that didn't help at all"))


async def test_a_no_offers_the_next_article_and_then_escalates(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("where is my package")
    replies = await chat.press("No")
    assert "Here is another article" in replies[0].text
    assert "Did this solve your issue?" in replies[-1].text
    replies = await chat.press("No")
    text = joined(replies)
    assert "opened case #1" in text
    assert "couldn't solve it myself" in text
    assert "within 2 hours" in text
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None
    assert (case.reason, case.status) == ("failed_resolution", "open")
    assert len(case.details["articles_tried"]) == 2
    notices = await chat.desk()
    assert notices[0].startswith("New case #1")
    assert "Anna" in notices[0]


async def test_no_confident_answer_is_said_honestly_and_a_human_offered(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("What is the airspeed velocity of an unladen swallow?")
    assert "don't have a confident answer" in replies[0].text
    replies = await chat.press("Yes, connect me")
    assert "opened case #1" in replies[0].text
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
        query = (await tx.session.execute(select(KbQuery))).scalar_one()
    assert case is not None and case.reason == "no_answer"
    assert (query.decision, query.outcome) == ("none", "unanswered")


async def test_declining_the_human_lets_the_customer_rephrase(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("blorp fizzle wump")
    replies = await chat.press("No, I'll rephrase")
    assert "more detail" in replies[0].text


async def test_billing_help_requires_verification(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("I was charged twice for my order")
    assert "verify your identity" in replies[0].text
    replies = await chat.say("not an email")
    assert "doesn't look like an email" in replies[0].text
    await chat.say("anna@example.com")
    assert "order number" in chat.texts()[0]
    replies = await chat.say("A10001")
    assert replies[0].text == "Thank you, Anna, your identity is verified."
    assert "Did this solve your issue?" in replies[-1].text


async def test_verification_details_are_found_in_the_customers_sentences(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I was charged twice for my order")
    await chat.say("sure, it's anna@example.com.")
    assert "order number" in chat.texts()[0]
    replies = await chat.say("I think it was order #A10001, from May")
    assert replies[0].text == "Thank you, Anna, your identity is verified."


async def test_the_order_number_given_first_is_kept_while_the_email_is_asked_for(
    chat: Chat,
) -> None:
    await chat.say("hi")
    await chat.say("I was charged twice for my order")
    assert await chat.say("my order number is A10001") and chat.texts() == [
        "Thank you, I have your order number. And what is the email address on your account?"
    ]
    replies = await chat.say("anna@example.com")
    assert replies[0].text == "Thank you, Anna, your identity is verified."
    assert "Did this solve your issue?" in replies[-1].text


async def test_both_details_in_one_message_verify_at_once(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I need to change my account password")
    replies = await chat.say("anna@example.com / A10001")
    assert replies[0].text == "Thank you, Anna, your identity is verified."


async def test_a_detail_keeps_the_contacts_category_and_new_words_change_it(
    chat: Chat,
) -> None:
    async def category() -> str | None:
        async with chat.app.repo.transaction() as tx:
            data = await tx.session.scalar(select(Conversation.data))
        return ConversationData.model_validate(data).category

    await chat.say("hi")
    await chat.say("how long does shipping take to germany")
    assert await category() == "shipping"
    await chat.say("it has been 3 weeks")  # no category's words: still about the delivery
    assert await category() == "shipping"
    await chat.say("and my password does not work either")
    assert await category() == "account"


async def test_general_information_needs_no_identity_check_but_account_help_does(
    chat: Chat,
) -> None:
    """Payment methods are public (``public: true``); a charge on the customer's card is
    theirs, and is asked about only once they are verified, even after a public answer."""
    replies = await new_customer_says(chat, "Can I pay with PayPal?")
    assert "PayPal" in replies[0].text and "verify your identity" not in joined(replies)
    assert "verify your identity" in joined(await chat.press("No"))

    replies = await new_customer_says(chat, "I was charged twice for my order")
    assert "verify your identity" in replies[0].text


async def test_repeated_failed_verification_escalates(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I need to change my account password")
    await chat.say("anna@example.com")
    replies = await chat.say("A99999")
    assert "couldn't match" in replies[0].text
    await chat.say("anna@example.com")
    await chat.say("A99998")
    await chat.say("anna@example.com")
    replies = await chat.say("A99997")
    assert "opened case #1" in joined(replies)
    assert "couldn't verify your details" in joined(replies)


async def test_legal_matter_escalates_immediately_with_high_priority(chat: Chat) -> None:
    replies = await chat.say("My lawyer will take legal action about this order")
    assert replies[0].text.startswith("Hello Anna")
    assert "opened case #1" in replies[1].text
    assert "legal or regulatory" in replies[1].text
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None
    assert (case.reason, case.priority, case.category) == ("legal", "high", "legal")


async def test_legal_words_cannot_hide_behind_lookalike_letters(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("I will contact my lаwyer")  # Cyrillic а
    assert "legal or regulatory" in joined(replies)


async def test_explicit_request_for_a_human_by_words_or_command(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("/human")
    assert "you asked for a person" in replies[0].text
    replies = await chat.say("hello? talk to someone please")
    assert replies == []  # the bot is silent while the case waits; the desk hears it
    assert any("hello? talk to someone please" in n for n in (await chat.desk()))


async def new_customer_says(chat: Chat, words: str) -> list[Reply]:
    """A new customer (their own chat) greets the bot, then says ``words``: the replies."""
    chat.user = f"customer-{abs(hash(words))}"
    await chat.say("hi")
    return await chat.say(words)


async def test_asking_to_be_called_back_is_asking_for_a_person(chat: Chat) -> None:
    for words in ("can i get a call back from someone", "Please call me about my order",
                  "could someone call me? it's urgent"):  # fmt: skip
        assert "you asked for a person" in joined(await new_customer_says(chat, words)), words

    chat.user = "customer-named"
    named = await chat.say("hi, call me Anna")  # a name, not a request
    assert "you asked for a person" not in joined(named)
    assert "opened case" not in joined(await chat.say("where is my parcel"))


async def test_a_discount_asked_for_needs_the_team_and_a_code_that_fails_is_a_question(
    chat: Chat,
) -> None:
    asked = joined(await new_customer_says(chat, "Can I get a discount on my next order?"))
    assert "opened case" in asked and "needs a decision from our team" in asked
    code = joined(await new_customer_says(chat, "my discount code is not working"))
    assert "opened case" not in code  # looked up, as any question is


async def test_complaint_is_acknowledged_with_apology_and_policy_options(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("This is unacceptable, the blender I bought is broken again")
    assert "very sorry" in replies[0].text
    assert [b.label for b in replies[0].buttons] == [
        "A refund", "An exchange", "Technical support", "Talk to a person",
    ]  # fmt: skip
    replies = await chat.press("An exchange")
    assert "Did this solve your issue?" in replies[-1].text


async def test_dissatisfaction_in_plain_words_is_a_complaint_too(chat: Chat) -> None:
    """People rarely say "complaint": they say they are unhappy, fed up, disappointed."""
    for words in ("this is the third time my order arrived broken, I am really unhappy",
                  "I'm fed up with waiting for my parcel",
                  "Honestly disappointed with the quality of the jacket"):  # fmt: skip
        replies = await new_customer_says(chat, words)
        assert "very sorry" in replies[0].text, words
        assert "Talk to a person" in [b.label for b in replies[0].buttons]


async def test_complaint_refund_is_verified_then_escalated_beyond_authority(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I want to complain, the kettle leaks")
    await chat.press("A refund")
    assert "verify your identity" in chat.texts()[0]
    await chat.say("ben@example.com")
    replies = await chat.say("#A-10002")
    text = joined(replies)
    assert "within 30 days of purchase with a valid receipt" in text
    assert "opened case #1" in text
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.reason == "beyond_authority"
    assert case.details["verified"] is True


async def test_complaint_technical_support_asks_for_the_problem(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("Terrible experience, the app keeps crashing")
    replies = await chat.press("Technical support")
    assert "describe the problem" in replies[0].text


async def test_request_beyond_authority_escalates(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("I want compensation for the delay")
    assert "needs a decision from our team" in joined(replies)


async def test_clarifying_choice_between_close_articles(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("what are my options for getting my money back")
    assert "Which one is closest" in replies[0].text
    labels = [b.label for b in replies[0].buttons]
    assert labels[-1] == "None of these"
    replies = await chat.press(labels[0])
    assert "Did this solve your issue?" in replies[-1].text


async def test_idle_conversation_is_closed_politely(chat: Chat) -> None:
    await chat.say("hi")
    assert await chat.tick(minutes=10) == []
    replies = await chat.tick(minutes=25)
    assert "closing this chat for now" in replies[0].text
    assert await chat.tick(minutes=60) == []  # closed once, not again
    replies = await chat.say("hello again")
    assert replies[0].text.startswith("Hello Anna")


async def test_redelivered_message_is_processed_once(chat: Chat) -> None:
    await chat.say("hi", message_id="m-1")
    assert len(chat.last) == 1
    assert await chat.say("hi", message_id="m-1") == []
    async with chat.app.repo.transaction() as tx:
        messages = await tx.messages(1, 100)
    assert [m.direction for m in messages] == ["in", "out"]


async def test_empty_huge_and_attachment_only_messages(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("   ")
    assert replies[0].text == "I didn't catch that. Please type your question."
    replies = await chat.say("refund " * 10_000)
    assert "very long" in replies[0].text
    await chat.app.engine.handle_message(
        Message("test", "anna", "anna", "", attachments=(Attachment("photo", "file-1"),))
    )
    assert "text only" in (await chat.replies())[0].text


async def test_files_sent_to_the_bot_are_kept_and_reach_the_agent(chat: Chat) -> None:
    await chat.say("hi")
    photo = Attachment("photo", "file-1")
    await chat.app.engine.handle_message(
        Message("test", "anna", "anna", "the broken part", message_id="7", attachments=(photo,))
    )
    assert "text only" in (await chat.replies())[0].text
    await chat.say("/human")
    await chat.app.engine.handle_message(
        Message("test", "anna", "anna", "", message_id="9", attachments=(photo,))
    )
    assert (await chat.replies()) == []
    notice = chat.desk_inbox.sent[-1][1]
    assert notice.text == "Case #1 · Anna: [photo]"
    assert notice.extra["text"] == "[photo]"
    assert notice.extra["attachments"] == [{"kind": "photo", "ref": "file-1", "name": None}]
    assert notice.extra["source"] == {"channel": "test", "chat_id": "anna", "message_id": "9"}
    async with chat.app.repo.transaction() as tx:
        kept = await tx.conversation_attachments(1)
    assert [m.text for m in kept] == ["the broken part", ""]


async def test_escalation_documents_before_telling_the_customer(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I'd like to speak to a human")
    async with chat.app.repo.transaction() as tx:
        case = (await tx.session.execute(select(Case))).scalar_one()
        events = await tx.case_events(case.id)
        outbox = await tx.pending_outbox(["test", "desk"])
    assert [e.kind for e in events] == ["opened"]
    assert case.details["transcript"][-1] == ["customer", "I'd like to speak to a human"]
    assert outbox == []  # everything was delivered


async def test_a_second_case_carries_the_last_twenty_messages_but_no_agents_notes(
    chat: Chat,
) -> None:
    await chat.say("hi")
    for _ in range(4):
        await chat.say("Where is my order?")
    await chat.say("I'd like to speak to a human")
    desk = chat.app.desk
    await desk.claim(1, "Bob")
    await desk.note(1, "Bob", "Customer is a VIP; be generous")
    await desk.resolve(1, "Bob", "Sorted")
    await chat.press("4")
    await chat.press("No, thanks")
    await chat.say("Can I talk to someone again?")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(2)
        stored = [(m.author or m.sender, m.text) for m in await tx.messages(1, 100)]
    assert case is not None
    asked = stored.index(("customer", "Can I talk to someone again?"))  # this very turn's
    before = stored[: asked + 1][-20:]  # the twenty messages up to it, the note among them
    assert ("Bob", "Customer is a VIP; be generous") in before
    transcript = [tuple(line) for line in case.details["transcript"]]
    assert transcript == [line for line in before if "VIP" not in line[1]]
    assert len(transcript) == 19 and len(stored) > 21


async def test_the_stored_state_keeps_only_what_the_dialogue_set(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("How do I exchange an item for another size?")
    async with chat.app.repo.transaction() as tx:
        stored = (await tx.session.execute(select(Conversation.data))).scalar_one()
    defaults = ConversationData().model_dump(mode="json")
    assert stored["tried_articles"] == ["exchange-item"]
    assert [key for key, value in stored.items() if value == defaults[key]] == []
    replies = await chat.press("Yes")  # read back whole: the answer it gave is remembered
    assert "glad that helped" in joined(replies)
