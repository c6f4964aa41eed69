"""Each routing group's place on the desk: its own ``desk_target`` or the desk's, checked
at start-up so a typo stops the bot with one line instead of losing cases."""

from __future__ import annotations

import pytest

from bot.channels.slack.settings import channel_id
from bot.channels.telegram.forums import forum_places, parse_topic_ref, topic_ref
from bot.errors import ConfigError
from bot.settings import GroupSettings
from handoff.places import desk_places

GROUPS = [
    GroupSettings(name="legal", reasons=["legal"], desk_target=" C0LEGAL "),
    GroupSettings(name="billing", categories=["billing"], desk_target=""),
    GroupSettings(name="general"),
]


def test_a_group_without_a_target_uses_the_desks_own_place() -> None:
    places = desk_places(GROUPS, "C0AGENTS", channel_id, desk="slack")
    assert [places.of(g) for g in ("legal", "billing", "general")] == [
        "C0LEGAL",
        "C0AGENTS",
        "C0AGENTS",
    ]
    assert places.of("renamed since") == places.of(None) == "C0AGENTS"
    assert places.all == {"C0LEGAL", "C0AGENTS"}


@pytest.mark.parametrize(
    ("desk", "target", "problem"),
    [
        ("slack", "#legal", "must be a channel ID like C0123ABCD"),
        ("telegram", "legal-team", "must be a forum supergroup's id"),
        ("telegram", "12345", "must be a forum supergroup's id"),
    ],
)
def test_a_bad_target_stops_start_up_naming_the_group(desk: str, target: str, problem: str) -> None:
    groups = [GroupSettings(name="general"), GroupSettings(name="legal", desk_target=target)]

    def start() -> object:
        if desk == "slack":
            return desk_places(groups, "C0AGENTS", channel_id, desk=desk)
        return forum_places(groups, -100111)

    with pytest.raises(ConfigError) as raised:
        start()
    assert str(raised.value).startswith(
        f"invalid setting routing.groups[1].desk_target (group 'legal'): {problem}"
    )
    assert str(raised.value).endswith(f"(the desk is {desk})")


def test_topics_outside_the_agents_forum_are_stored_with_their_chat() -> None:
    places = forum_places([GroupSettings(name="legal", desk_target="-100222")], -100111)
    assert topic_ref(places, -100111, 7) == "7"  # as before forums per group existed
    assert topic_ref(places, -100222, 7) == "-100222:7"
    assert parse_topic_ref(places, "7") == (-100111, 7)
    assert parse_topic_ref(places, "-100222:7") == (-100222, 7)
