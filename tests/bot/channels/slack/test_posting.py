"""What the Slack desk remembers of its cards: each case's latest thread and card, for a
bounded number of cases."""

from __future__ import annotations

from bot.channels.slack.cards import CardData
from bot.channels.slack.posting import CardsInFlight


def card(status: str, agent: str | None = None) -> CardData:
    return CardData({"number": 1, "customer": "Anna", "group": "general"}, "slack", status, agent)


def test_a_case_moved_to_another_channel_is_no_longer_found_in_its_old_thread() -> None:
    cards = CardsInFlight()
    cards.remember(1, "C1:100.1", card("open"))
    assert (cards.case_of("C1:100.1"), cards.card_of(1)) == (1, card("open"))

    cards.remember(1, "C2:200.2", card("open"))  # re-offered to another group's channel
    assert cards.case_of("C1:100.1") is None
    assert (cards.case_of("C2:200.2"), cards.thread_of(1)) == (1, "C2:200.2")

    cards.remember(1, "C2:200.2")  # stored without a card: the old one is not trusted
    assert cards.card_of(1) is None and cards.thread_of(1) == "C2:200.2"


def test_threads_and_cards_are_kept_for_the_most_recent_cases_only() -> None:
    cards = CardsInFlight(remembered=3, cards=2)
    for case in (1, 2, 3):
        cards.remember(case, f"C1:{case}.0", card("assigned", "Bob"))
    assert cards.card_of(1) is None  # read again if its case needs it
    assert cards.thread_of(1) == "C1:1.0"  # threads are smaller: more are kept
    assert [cards.card_of(c) for c in (2, 3)] == [card("assigned", "Bob")] * 2
    cards.remember(4, "C1:4.0")
    assert cards.thread_of(1) is None and cards.case_of("C1:1.0") is None
