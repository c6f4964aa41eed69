"""Grouping customers' questions by similarity, for ``supportbot kb gaps``.

Editors need to see "34 people asked how to pair the headphones", not 34 lines.
Questions are grouped greedily, most frequent wording first: a question joins the
first group whose example it resembles closely enough (token-set ratio of their
topic words), else it starts a new group.  Greedy grouping is order-dependent, but
it is predictable, needs no model and handles thousands of questions in a second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from knowledge_base.normalize import normalize
from knowledge_base.terms import keywords

# Two questions whose topic words are at least this similar (0-100) are one group.
SAME_GROUP = 75.0


@dataclass
class Group:
    """Questions about one thing: how many, and the most common wording."""

    example: str
    count: int = 0
    questions: list[str] = field(default_factory=list)
    key: str = ""


def group_questions(questions: list[str], threshold: float = SAME_GROUP) -> list[Group]:
    """Groups, biggest first (ties by example text)."""
    counts = Counter(q.strip() for q in questions if q.strip())
    groups: list[Group] = []
    for question, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        key = " ".join(sorted(set(keywords(question)))) or normalize(question)
        home = None
        for group in groups:
            if key == group.key or fuzz.token_set_ratio(key, group.key) >= threshold:
                home = group
                break
        if home is None:
            home = Group(example=question, key=key)
            groups.append(home)
        home.count += count
        home.questions.append(question)
    return sorted(groups, key=lambda g: (-g.count, g.example))
