"""What each simulated customer will do: a script of steps, built before the run.

Scripts are built in the bench process, which has the knowledge base, from the articles'
own example questions with one typo each (customers do not type the way articles are
written), and then handed to whoever plays the customers: the local driver in-process, or
the fake platform in its own process as JSON, so that process never loads the knowledge
base or the engine. The same seed gives the same conversations, so two runs (SQLite and
PostgreSQL, before and after a change) are comparable.

A step says what the customer means, not what the bot will answer: ``answer`` taps the
offered button with that label (or the first one offered, or types the label when nothing
is offered), because the bot's exact path (answer, clarify, verification) depends on the
matcher and is not the bench's business.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

StepKind = Literal["say", "answer", "escalate"]
NAMES = ("Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kemal", "Lena", "Marta", "Nils", "Olga", "Pedro")  # fmt: skip
GREETINGS = ("hi", "Hello", "hello there", "Hi, I need some help")
ASK_HUMAN = ("I want to talk to a person", "Can I speak to a human please?",
             "I'd like to talk to an agent")  # fmt: skip
ESCALATING = 0.2  # share of customers who ask for a person at some point
SAYS_NO = 0.4  # share of answers that did not help
RATINGS = ("5", "4", "3", "Skip")


@dataclass(frozen=True)
class Step:
    """One customer message: ``say`` types ``text``; ``answer`` taps the button labelled
    ``text``; ``escalate`` types ``text``, a request for a person (the customer then waits
    for the team, as every customer told that a case was opened does: see ``actors``)."""

    kind: StepKind
    text: str

    def to_json(self) -> list[str]:
        return [self.kind, self.text]

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Step:
        kind, text = str(data[0]), str(data[1])
        if kind not in ("say", "answer", "escalate"):
            raise ValueError(f"unknown step kind {kind!r}")
        return cls(kind, text)  # type: ignore[arg-type]


Script = list[Step]


def customer_name(index: int) -> str:
    """A first name that is unique in the run and one word, so the desk's case titles
    (``#12 Anna17 · shipping``) tell the fake agent whose case it is."""
    return f"{NAMES[index % len(NAMES)]}{index}"


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring characters, as a hurried customer would."""
    if len(text) < 8:
        return text
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def build_scripts(questions: Sequence[str], count: int, messages: int, seed: int) -> list[Script]:
    """``count`` scripts of exactly ``messages`` steps each: a greeting, then questions
    answered yes (and rated) or no, and for about one customer in five a request for a
    person somewhere in the middle, answered by an agent and rated."""
    if not questions:
        raise ValueError("the knowledge base has no example questions to ask")
    rng = random.Random(seed)
    return [_script(questions, messages, rng) for _ in range(count)]


def _script(questions: Sequence[str], messages: int, rng: random.Random) -> Script:
    steps = [Step("say", rng.choice(GREETINGS))]
    escalate_after = rng.randrange(1, max(2, messages - 1)) if rng.random() < ESCALATING else -1
    while len(steps) < messages:
        if 0 <= escalate_after <= len(steps):
            escalate_after = -1
            steps += [Step("escalate", rng.choice(ASK_HUMAN)), Step("answer", "5")]
            continue
        steps.append(Step("say", typo(rng.choice(questions), rng)))
        if rng.random() < SAYS_NO:
            steps.append(Step("answer", "No"))
        else:
            steps += [Step("answer", "Yes"), Step("answer", rng.choice(RATINGS))]
    return steps[:messages]


def scripts_to_json(scripts: Sequence[Script]) -> list[list[list[str]]]:
    return [[step.to_json() for step in script] for script in scripts]


def scripts_from_json(data: Sequence[Sequence[Sequence[Any]]]) -> list[Script]:
    return [[Step.from_json(step) for step in script] for script in data]
