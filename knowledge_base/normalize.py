"""Text normalisation shared by article indexing and query matching.

Customers type on phones, paste from PDFs and sometimes (on purpose or not) use
look-alike characters.  ``normalize`` folds all of that to one plain form so that
``rеfund`` (Cyrillic ``е``), ``re\\u200bfund`` and fullwidth ``ｒｅｆｕｎｄ`` compare
equal to ``refund``.  ``knowledge_base.terms`` goes on from there to the stemmed
terms the matcher counts.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt): zero-width
# spaces and joiners, soft hyphen, bidi controls, variation selectors, tag characters.
# They are invisible, so they only ever hide a word from the matcher.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_IGNORABLE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _IGNORABLE_RANGES) + "]")

# Cyrillic and Greek letters that render like Latin ones (a subset of Unicode's
# confusables.txt).  Mapped before casefolding so capitals map to the right letter.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic capitals and small letters
        **dict(zip("АВЕЅІЈКМНОРСТХУԚԜ", "ABESIJKMHOPCTXYQW", strict=True)),
        **dict(zip("аеѕіјһорсхуԁԛԝӏ", "aesijhopcxydqwl", strict=True)),
        # Greek capitals and small letters
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
        **dict(zip("αιοκνρυχ", "aiokvpux", strict=True)),
    }
)

_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SPACES = re.compile(r"\s+")


# Plain ASCII (most messages) needs none of the Unicode steps: it has no invisible or
# look-alike characters and NFKC leaves it as it is, so one table drops its apostrophes
# and turns its punctuation, symbols, controls and spaces into spaces (what
# ``unicodedata.category`` says of each), at a fifth of the cost.
_ASCII = str.maketrans(
    {chr(c): " " for c in range(128) if not chr(c).isalnum()} | {"'": None, "`": None}
)


def normalize(text: str) -> str:
    """Fold ``text`` to lower-case words separated by single spaces.

    Steps: drop invisible characters, NFKC (fullwidth and ligatures become plain
    letters), map Cyrillic/Greek look-alikes to Latin, casefold, join contractions
    ("don't" -> "dont"), turn every other punctuation or symbol into a space and
    collapse whitespace.  A text of only punctuation normalises to ``""``.
    """
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII).split())
    return _unicode(text)


def _unicode(text: str) -> str:
    text = _IGNORABLE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = _IGNORABLE.sub("", text)
    text = text.translate(_CONFUSABLES).casefold()
    text = _APOSTROPHES.sub("", text)
    chars = [" " if unicodedata.category(ch)[0] in "PSCZ" else ch for ch in text]
    return _SPACES.sub(" ", "".join(chars)).strip()
