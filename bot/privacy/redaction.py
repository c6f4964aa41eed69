"""Redaction: a pipeline of named rules that mask secrets and personal data in text.

Two pipelines are built from settings: the *chat* rules run on every customer message
before it is stored, shown to an agent or logged (payment cards, their security codes,
IBANs, passwords: things nobody should keep); the *log* rules also mask what is fine in a
transcript but not in an operator's log (emails, phone numbers, order numbers). Rules run
in a fixed order (a card before a phone number, which could otherwise eat its digits),
whatever order the settings list them in; custom rules (a name and a regular
expression) run last.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Rule = Callable[[str, set[str]], tuple[str, int]]  # (text, rules fired so far) -> (text, hits)

_CARD = re.compile(r"(?<![\d+])\d(?:[ \t.\-]?\d){12,18}(?![\d])")
_CODE_WORDS = (
    r"cvv2?|cvc2?|cvn|csc|cid|security\s+code|card\s+code|verification\s+(?:code|number)"
    r"|\d[- ]digit\s+code|code\s+on\s+the\s+back"
)
_LABELLED_CODE = re.compile(
    rf"(?i)\b(?:{_CODE_WORDS})\b[\s:=#\-]*(?:(?:is|was)\s+)?(\d{{3,4}})(?!\d)"
)
_CODE_AFTER_CARD = re.compile(
    r"(?i)(\[card ending \d{4}\][\s,;]*(?:(?:exp\w*\.?|valid\s+thru)?\s*\d{1,2}\s*/\s*\d{2,4}"
    r"[\s,;]*)?)(\d{3,4})(?![\d/])"
)
_IBAN_START = re.compile(r"(?i)(?<![a-z0-9])[a-z]{2}\d{2}(?=[a-z0-9 ]{11})")
_PASSWORD = re.compile(
    r"(?i)\b(pass(?:word|wort|code|phrase)?|pwd|pin)\b"
    r"(\s*[:=]\s*|\s+(?:is|was|would\s+be|should\s+be)\s*:?\s+)"
    r"(\"[^\"]+\"|'[^']+'|\S+)"
)
_NOT_A_PASSWORD = frozenset(
    """not wrong incorrect invalid expired too the a an my your correct right reset blocked
    locked forgotten lost empty still no being also case same changed working weak short
    long required needed missing fine ok okay and but for in on to of with at that this it
    because compromised stolen rejected accepted different new old""".split()  # noqa: SIM905
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_PHONE = re.compile(
    r"(?<![\w+])\+\d{1,3}(?:[ .\-/]?\(?\d{1,5}\)?){2,6}(?![\w])"
    r"|(?<![\w])0\d{2,4}(?:[ .\-/]?\d{2,8}){1,4}(?![\w])"
    r"|\(\d{3}\)\s?\d{3}[\s.\-]\d{4}(?![\w])"
)
_ORDER = re.compile(r"(?<![\w#])(?:#?[A-Z]{1,3}-?\d{5,10}|#\d{5,10})(?![\w])")


def luhn_ok(digits: str) -> bool:
    """The check digit payment card numbers carry (ISO/IEC 7812)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97."""
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _cards(text: str, fired: set[str]) -> tuple[str, int]:
    hits = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal hits
        found = _card_window(match.group())
        if found is None:
            return match.group()
        start, end, digits = found
        hits += 1
        return match.group()[:start] + f"[card ending {digits[-4:]}]" + match.group()[end:]

    return _CARD.sub(mask, text), hits


def _card_window(run: str) -> tuple[int, int, str] | None:
    """The longest run of whole digit groups (13-19 digits) passing the Luhn check, so a
    card typed next to its expiry or code ("4111 ... 1111 12 27") is still found."""
    groups = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\d+", run)]
    windows = [
        (groups[i][0], groups[j][1], "".join(g[2] for g in groups[i : j + 1]))
        for i in range(len(groups))
        for j in range(i, len(groups))
    ]
    for start, end, digits in sorted(windows, key=lambda w: w[0] - w[1]):
        # Issuers' numbers start with 1-6 (ISO/IEC 7812); phone numbers often with 0.
        if 13 <= len(digits) <= 19 and digits[0] in "123456" and luhn_ok(digits):
            return start, end, digits
    return None


def _security_codes(text: str, fired: set[str]) -> tuple[str, int]:
    """Only beside a card number: a lone "CVV 123" is useless to a thief, and three digits
    on their own are far more often a quantity or a price."""
    if "card_number" not in fired:
        return text, 0
    text, after = _CODE_AFTER_CARD.subn(lambda m: m.group(1) + "[security code]", text)
    text, labelled = _LABELLED_CODE.subn(
        lambda m: m.group()[: m.start(1) - m.start()] + "[security code]", text
    )
    return text, after + labelled


def _ibans(text: str, fired: set[str]) -> tuple[str, int]:
    out, hits, position = [], 0, 0
    for start in _IBAN_START.finditer(text):
        if start.start() < position:
            continue
        end = _iban_end(text, start.start())
        if end is not None:
            out.append(text[position : start.start()] + "[IBAN removed]")
            position, hits = end, hits + 1
    return "".join(out) + text[position:], hits


def _iban_end(text: str, start: int) -> int | None:
    """Where a valid IBAN starting at ``start`` ends: the longest prefix (spaces allowed
    between characters) that passes the check and ends at a word boundary."""
    compact, ends = "", []
    for index in range(start, min(len(text), start + 50)):
        char = text[index]
        if char == " ":
            if index + 1 < len(text) and text[index + 1] == " ":
                break
            continue
        if not char.isascii() or not char.isalnum():
            break
        compact += char.upper()
        ends.append((index + 1, compact))
    for end, candidate in reversed(ends):
        boundary = end == len(text) or not text[end].isalnum()
        if boundary and iban_ok(candidate):
            return end
    return None


def _passwords(text: str, fired: set[str]) -> tuple[str, int]:
    hits = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal hits
        value = match.group(3)
        plain_words = not match.group(2).strip() or match.group(2).strip() in {":", "="}
        if not plain_words and value.strip(".,!?").lower() in _NOT_A_PASSWORD:
            return match.group()
        hits += 1
        return f"{match.group(1)}{match.group(2)}[password removed]"

    return _PASSWORD.sub(mask, text), hits


def _pattern(regex: re.Pattern[str], label: str) -> Rule:
    def rule(text: str, fired: set[str]) -> tuple[str, int]:
        return regex.subn(label, text)

    return rule


def _phones(text: str, fired: set[str]) -> tuple[str, int]:
    hits = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal hits
        if 8 <= sum(ch.isdigit() for ch in match.group()) <= 15:
            hits += 1
            return "[phone]"
        return match.group()

    return _PHONE.sub(mask, text), hits


# The built-in rules, in the order they run.
RULES: dict[str, Rule] = {
    "card_number": _cards,
    "security_code": _security_codes,
    "iban": _ibans,
    "password": _passwords,
    "email": _pattern(_EMAIL, "[email]"),
    "phone": _phones,
    "order_number": _pattern(_ORDER, "[order]"),
}
SECRET_RULES = ("card_number", "security_code", "iban", "password")


@dataclass(frozen=True)
class Redacted:
    text: str
    rules: tuple[str, ...]  # the names of the rules that masked something

    @property
    def changed(self) -> bool:
        return bool(self.rules)


class Redactor:
    """A pipeline of rules chosen by name (built-in or custom regular expressions)."""

    def __init__(self, names: Sequence[str], custom: Mapping[str, str] | None = None) -> None:
        custom = dict(custom or {})
        unknown = [n for n in names if n not in RULES and n not in custom]
        if unknown:
            msg = f"unknown redaction rule {unknown[0]!r}; known: {', '.join([*RULES, *custom])}"
            raise ValueError(msg)
        chosen = set(names)
        self.rules: list[tuple[str, Rule]] = [(n, r) for n, r in RULES.items() if n in chosen]
        self.rules += [
            (name, _pattern(re.compile(regex), f"[{name} removed]"))
            for name, regex in custom.items()
            if name in chosen
        ]

    def redact(self, text: str) -> Redacted:
        fired: set[str] = set()
        order: list[str] = []
        for name, rule in self.rules:
            text, hits = rule(text, fired)
            if hits:
                fired.add(name)
                order.append(name)
        return Redacted(text, tuple(order))

    def __call__(self, text: str) -> str:
        return self.redact(text).text
