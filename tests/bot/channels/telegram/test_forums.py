"""What the desk remembers of its cases' topics: the latest place only, and a bounded
number of cases."""

from __future__ import annotations

from bot.channels.telegram.forums import KnownTopics, Topic

DESK_CHAT, BILLING_CHAT = -1001, -1002


def topic(chat: int, thread: int, card: int | None = None) -> Topic:
    return Topic(chat, thread, card, f"#{thread} Anna · billing")


def test_a_case_moved_to_another_forum_is_no_longer_found_in_its_old_topic() -> None:
    known = KnownTopics()
    known.remember(1, topic(DESK_CHAT, 10, card=11), "general")
    assert known.case_at(DESK_CHAT, 10) == 1

    known.remember(1, topic(BILLING_CHAT, 20), "billing")  # re-offered to billing
    assert known.case_at(DESK_CHAT, 10) is None  # posts there are no longer the case's
    assert known.case_at(BILLING_CHAT, 20) == 1
    assert known.of(1) == (topic(BILLING_CHAT, 20), "billing")

    known.remember(1, topic(BILLING_CHAT, 20, card=21))  # its card: the group is kept
    assert known.of(1) == (topic(BILLING_CHAT, 20, card=21), "billing")


def test_only_the_most_recent_cases_are_kept() -> None:
    known = KnownTopics(size=2)
    for case in (1, 2, 3):
        known.remember(case, topic(DESK_CHAT, case * 10), "general")
    assert known.of(1) is None and known.case_at(DESK_CHAT, 10) is None  # read again
    assert [known.case_at(DESK_CHAT, t) for t in (20, 30)] == [2, 3]


def test_nothing_is_remembered_without_a_group() -> None:
    known = KnownTopics()
    known.remember(1, topic(DESK_CHAT, 10))  # a card for a case not placed here
    assert known.of(1) is None and known.case_at(DESK_CHAT, 10) is None
