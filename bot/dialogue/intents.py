"""Reading what a customer's words mean for the dialogue: the triggers, best first.

Matching runs on normalised text (``knowledge_base.normalize``), so look-alike letters,
zero-width characters and fullwidth forms cannot dodge the legal or human rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Literal

from bot.dialogue.states import AgentDid, CustomerSaid, Event, TimerFired, Trigger
from bot.settings import EscalationSettings
from knowledge_base import normalize

_YES = {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "it did", "solved",
        "yes please", "yes thanks", "yes thank you", "that helped", "it worked",
        "perfect"}  # fmt: skip
_NO = {"no", "n", "nope", "nah", "not really", "it didnt", "it did not", "no it didnt",
       "didnt help", "did not help", "no thanks", "no thank you", "not solved"}  # fmt: skip
_SKIP = {"skip", "no comment", "nothing", "none", "no thanks", "no thank you", "no"}
_THANKS = {"thanks", "thank you", "thx", "cheers", "ty"}
_GREETINGS = {"hi", "hello", "hey", "hi there", "hello there", "good morning", "good afternoon",
              "good evening", "start", "help", "hiya"}  # fmt: skip
_FILLER = frozenset(_SKIP | _GREETINGS | _THANKS)  # and any yes or no: ``is_filler``


# What opens a message before its question: a greeting, the customer's name. Said to
# the knowledge base, "hi my name is Lara, where is my parcel" scored 53 (no answer)
# where "where is my parcel" scored 99: the extra words dilute the match.
_OPENING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?\b\W*)?"
    r"(?:(?:my name is|my name's) \w+\b\W*)?",
    re.IGNORECASE,
)


def the_question(text: str, identifiers: Iterable[str] = ()) -> str:
    """The words of a message to look up: without its greeting or the customer's name in
    front, or identifiers (an email, an order number: ``identifiers`` are their patterns,
    which no article's words share). The whole text if nothing else is left."""
    question = _OPENING.sub("", text, count=1)
    if identifiers and _HAS_DIGIT_OR_AT.search(question):  # emails, order numbers: rare
        kept = [w for w in question.split() if not _is_identifier(w, identifiers)]
        question = " ".join(kept)
    return question if question.strip() else text


# An identifier has a digit or an @ (emails; order numbers): a message without either
# (most) is not split into words and matched against the patterns (20 µs a question).
_HAS_DIGIT_OR_AT = re.compile(r"[\d@]")


def _is_identifier(word: str, patterns: Iterable[str]) -> bool:
    return any(find_detail(pattern, word) for pattern in patterns)


_EDGES = "\"'()[]{}<>,.;:!?"  # around a word, not part of an address or an order number


def find_detail(pattern: str, text: str) -> str | None:
    """The customer's whole answer if it fits ``pattern``, else the first word of it that
    does: people write "sure, it's anna@example.com." or "order #A10001, I think" rather
    than the detail alone, and must not be refused (and after a few tries handed to the
    team as unverifiable) for being polite."""
    text = text.strip()
    if re.fullmatch(pattern, text):
        return text
    for word in text.split():
        if (bare := word.strip(_EDGES)) and re.fullmatch(pattern, bare):
            return bare
    return None


# An explicit request for a person in the customer's own words, whatever the settings'
# phrases list: a verb of getting in touch, then someone ("I want to talk to a person",
# "can I speak with a real human", "put me through to somebody"). A person merely
# mentioned ("the person at the store said ...") asks for nobody, so it takes the verb.
_ASKS_FOR_A_PERSON = re.compile(
    r"\b(?:talk|speak|chat|connect me|transfer me|put me through|pass me)"
    r" (?:to|with)(?: (?:a|an|the|some|one of your|your|real|actual|live|human))*"
    r" (?:person|people|human|humans|someone|somebody|agent|representative|rep|staff"
    r"|member of staff|team member|operator)\b"
)


# Asking to be called is asking for a person too ("can I get a call back", "please call
# me"): the bot cannot call, and the team answers in the chat or calls as it sees fit.
_ASKS_FOR_A_CALL = re.compile(
    r"\b(?:(?:please |can you |could you )call me|call me (?:back|about|asap|today|tomorrow"
    r"|now|urgently|on|at)|call me$|call back|callback|phone me|ring me|give me a call"
    r"|get a call|have someone call|someone (?:to )?call)\b"
)  # not "call me Anna": that is a name


def asks_for_a_person(text: str) -> bool:
    """``text`` normalised (``knowledge_base.normalize``)."""
    return _ASKS_FOR_A_PERSON.search(text) is not None or _ASKS_FOR_A_CALL.search(text) is not None


def _contains_phrase(text: str, phrases: Iterable[str]) -> bool:
    pattern = _phrases_pattern(tuple(phrases))
    return pattern is not None and pattern.search(text) is not None


@functools.lru_cache(maxsize=64)
def _phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled alternation per list of phrases (normalised once, not per message)."""
    words = sorted({normalize(p) for p in phrases if p.strip()} - {""}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


def is_greeting(text: str) -> bool:
    return normalize(text) in _GREETINGS


# A yes or a no said in a few more words ("yes it did, thanks!", "nope, that didn't help
# at all"): it opens with one, and the rest is only such words. Anything else in it ("yes
# but I still can't log in", "no, my parcel is still missing") is read as what it says.
# Written as people type them; compared after ``normalize`` ("didn't" -> "didnt").
def _normalized(phrases: str) -> tuple[str, ...]:
    return tuple(normalize(p) for p in phrases.split("|"))


_YES_OPENERS = _normalized(
    "yes|yeah|yep|yup|sure|correct|perfect|great|solved|it did|that helped|it helped"
    "|it worked|that worked|that did"
)
_YES_REST = frozenset(_normalized(
    "it|it's|is|did|does|that|that's|this|thanks|thank|you|so|much|a|lot|helped|helps"
    "|helpful|worked|works|great|perfect|very|all|good|sorted|fixed|now|yes|indeed|exactly"
    "|awesome|brilliant|cheers|thx|ty|please|connect|me|go|ahead|do|and|really"
))  # fmt: skip
_NO_OPENERS = _normalized(
    "no|nope|nah|not really|not solved|it didn't|it did not|that didn't|that did not"
    "|didn't|did not|it doesn't|unfortunately not|sadly not"
)
_NO_REST = frozenset(_normalized(
    "it|that|this|did|didn't|not|help|helped|work|worked|really|thanks|thank|you|at|all"
    "|sorry|unfortunately|sadly|solve|solved|my|the|problem|issue|question|answer"
    "|doesn't|does|still|is|it's"
))  # fmt: skip


def _opens_with(text: str, openers: tuple[str, ...], rest: frozenset[str]) -> bool:
    for opener in openers:
        if text == opener or text.startswith(opener + " "):
            return all(word in rest for word in text[len(opener) :].split())
    return False


def is_yes(text: str) -> bool:
    """``text`` normalised: a yes, alone or with a few words of thanks."""
    return text in _YES or _opens_with(text, _YES_OPENERS, _YES_REST)


def is_no(text: str) -> bool:
    """``text`` normalised: a no, alone or with a few words of regret."""
    return text in _NO or _opens_with(text, _NO_OPENERS, _NO_REST)


def is_filler(text: str) -> bool:
    """A reply with no question in it ("ok", "no", "great, thanks!"): nothing to look up."""
    words = normalize(text)
    return words in _FILLER or is_yes(words) or is_no(words)


def triggers(event: Event, rules: EscalationSettings) -> list[Trigger]:
    """Candidate triggers in priority order; the dialogue takes the first it has a rule for."""
    if isinstance(event, AgentDid):
        return [Trigger(f"agent_{event.action}")]
    if isinstance(event, TimerFired):
        return [Trigger(event.kind)]
    return _customer_triggers(event, rules)


def _customer_triggers(event: CustomerSaid, rules: EscalationSettings) -> list[Trigger]:
    found: list[Trigger] = []
    payload = event.payload or ""
    if payload:
        kind = payload.split(":", 1)[0]
        if kind in {"yes", "no", "skip", "human"}:
            found.append(Trigger(kind))
        elif kind == "csat":
            found.append(Trigger.RATING)
        elif kind == "choice":
            found.append(Trigger.CHOICE)
    raw = event.text.strip()
    text = normalize(raw)
    if raw.lower() in {"/human", "/agent"}:
        found.append(Trigger.HUMAN)
    if _contains_phrase(text, rules.legal_phrases):
        found.append(Trigger.LEGAL)
    if raw.lower() == "/privacy" or _contains_phrase(text, rules.privacy_phrases):
        found.append(Trigger.PRIVACY)
    if _contains_phrase(text, rules.human_phrases) or asks_for_a_person(text):
        found.append(Trigger.HUMAN)
    if _contains_phrase(text, rules.authority_phrases):
        found.append(Trigger.AUTHORITY)
    if is_yes(text):
        found.append(Trigger.YES)
    if is_no(text):
        found.append(Trigger.NO)
    if rating(event) is not None:
        found.append(Trigger.RATING)
    if text in _SKIP:
        found.append(Trigger.SKIP)
    found.append(Trigger.TEXT)
    return found


_ERASURE = ("delete", "erase", "remove", "forget", "forgotten")
_ACCESS = ("what data", "which data", "copy", "export", "download", "access", "hold", "have")


def privacy_kind(text: str) -> Literal["access", "erasure", "request"]:
    """Whether a data-protection request asks for erasure or for a copy (or is unclear)."""
    words = normalize(text)
    if any(re.search(rf"\b{w}", words) for w in _ERASURE):
        return "erasure"
    if any(re.search(rf"\b{w}\b", words) for w in _ACCESS):
        return "access"
    return "request"


def rating(event: CustomerSaid) -> int | None:
    """A 1-5 score from a button (``csat:4``) or typed ("4", "4/5", "4 stars")."""
    if event.payload and event.payload.startswith("csat:"):
        value = event.payload.split(":", 1)[1]
    else:
        match = re.fullmatch(r"\s*([1-5])\s*(?:/\s*5|stars?|out of 5)?\s*", event.text.lower())
        value = match.group(1) if match else ""
    return int(value) if value.isdigit() and 1 <= int(value) <= 5 else None


def is_complaint(text: str, rules: EscalationSettings) -> bool:
    return _contains_phrase(normalize(text), rules.complaint_phrases)


def classify(text: str, keywords: dict[str, list[str]]) -> str | None:
    """The first category whose words appear in the text (settings order breaks ties)."""
    normalised = normalize(text)
    for category, words in keywords.items():
        if _contains_phrase(normalised, words):
            return category
    return None
