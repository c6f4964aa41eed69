"""Reading a customer's words: the question in a chatty message, details in a sentence."""

from __future__ import annotations

import pytest

from bot.dialogue.intents import find_detail, is_filler, is_no, is_yes, the_question
from bot.settings import VerificationSettings
from knowledge_base import normalize

RULES = VerificationSettings()
IDENTIFIERS = (RULES.email_pattern, RULES.order_pattern)


@pytest.mark.parametrize(
    ("said", "question"),
    [
        ("hi my name is Lara, where is my parcel", "where is my parcel"),
        ("Hello! I ordered shoes last week, order A10001", "I ordered shoes last week, order"),
        ("Good morning there. My name's Bo - my app crashes", "my app crashes"),
        ("my invoice for anna@example.com is wrong", "my invoice for is wrong"),
        ("where is my parcel", "where is my parcel"),
        ("hi", "hi"),  # nothing else said: the words stay as they are
        ("A10001", "A10001"),
        ("history of my orders", "history of my orders"),  # "hi" only as a word of its own
    ],
)
def test_the_question_leaves_out_greeting_name_and_identifiers(said: str, question: str) -> None:
    assert the_question(said, IDENTIFIERS) == question


def test_a_detail_is_found_as_the_whole_answer_or_a_word_of_it() -> None:
    assert find_detail(RULES.email_pattern, "anna@example.com") == "anna@example.com"
    assert find_detail(RULES.email_pattern, "sure, it's (anna@example.com).") == "anna@example.com"
    assert find_detail(RULES.order_pattern, "order #A10001, I think") == "#A10001"
    assert find_detail(RULES.order_pattern, "I don't have it") is None


@pytest.mark.parametrize(
    ("said", "yes", "no"),
    [
        ("yes it did, thanks!", True, False),
        ("Yep, that worked. Thank you so much", True, False),
        ("yes it's all fixed now, thanks", True, False),
        ("yes please connect me", True, False),
        ("Nope, that didn't help at all", False, True),
        ("it didn't", False, True),  # "didn't" is "didnt" once normalised
        ("not really, sorry", False, True),
        ("yes but I still can't log in", False, False),  # more than a yes: read it
        ("no, my parcel is still missing", False, False),
        ("yesterday my order came", False, False),
    ],
)
def test_a_yes_or_a_no_in_a_few_more_words(said: str, yes: bool, no: bool) -> None:
    words = normalize(said)
    assert (is_yes(words), is_no(words)) == (yes, no)
    assert is_filler(said) == (yes or no)
