"""Text normalisation shared by article indexing and query matching.

Customers type on phones, paste from PDFs and sometimes (on purpose or not) use
look-alike characters.  ``normalize`` folds all of that to one plain form so that
``rеfund`` (Cyrillic ``е``), ``re\\u200bfund`` and fullwidth ``ｒｅｆｕｎｄ`` compare
equal to ``refund``.  ``keywords`` goes one step further for fuzzy matching: it
drops filler words, maps a few domain synonyms and strips common suffixes, so
"refunds were charged" and "refund charge" look the same to the matcher.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


def normalize(text: str) -> str:
    """Fold ``text`` to lower-case words separated by single spaces.

    Steps: drop invisible characters, NFKC (fullwidth and ligatures become plain
    letters), map Cyrillic/Greek look-alikes to Latin, casefold, join contractions
    ("don't" -> "dont"), turn every other punctuation or symbol into a space and
    collapse whitespace.  A text of only punctuation normalises to ``""``.
    """
    text = _IGNORABLE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = _IGNORABLE.sub("", text)
    text = text.translate(_CONFUSABLES).casefold()
    text = _APOSTROPHES.sub("", text)
    chars = [" " if unicodedata.category(ch)[0] in "PSCZ" else ch for ch in text]
    return _SPACES.sub(" ", "".join(chars)).strip()


# Words that carry no topic.  Deliberately includes chat filler ("hi", "please",
# "help") and modal verbs, but keeps negations and topic verbs such as "cancel",
# "change" or "return", which are what separates many articles.
_STOPWORD_TEXT = """
    a about after again all also am an and any anyone anything are as at be been
    before being both but by can could did do does doing done for from
    had has have having he her here hers him his how i id if im in into is it its
    itself ive just lets me mine my myself of on once only or other our ours out
    over own please pls plz same she should so some someone something such than
    thank thanks thx that thats the their them then there these they this those
    through to too under until up very was we were what whats which
    while who whom why will with would you your youre yours yourself hi hello hey
    dear team support guys ok okay hiya yes yeah sir madam urgent urgently asap
    help want wanted wanna need needs like know tell way possible able still
    already really actually ever even get got getting go going gonna trying try
    tried u ur r am pm today yet anymore now mean means meaning
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

# Multi-word and spelling variants folded to one token before stemming, so that
# "log in", "sign-in" and "login" (or "e-mail" and "email") count as the same word.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{pattern}\b"), repl)
    for pattern, repl in (
        (r"e mail", "email"),
        (r"(?:log|sign)(?:ged|ging|ed|ing)? ?(?:in|on|into)", "login"),
        (r"(?:log|sign)(?:ged|ging|ed|ing)? ?(?:out|off)", "logout"),
        (r"sign ?up", "register"),
        (r"(?:two|2) ?(?:factor|step)(?: auth\w*| verification)?|2fa|mfa|otp", "2fa"),
        (r"pass ?word|passwd|pwd|pw", "password"),
        (r"money back", "refund"),
        (r"(?:two|2|several|multiple) times|more than once", "double"),
        (r"right to be forgotten", "erasure data"),
        (r"auto ?renew\w*", "renew"),
        (r"gift ?cards?|gift ?vouchers?|e ?gift", "giftcard"),
        (r"store ?credits?", "storecredit"),
        (r"credit ?cards?|debit ?cards?", "card"),
        (r"turn(?:s|ed|ing)? on|switch(?:es|ed|ing)? on|power(?:s|ed|ing)? (?:on|up)", "poweron"),
        (r"user ?name", "username"),
        (r"post ?code|zip ?code", "postcode"),
        (r"customer (?:service|care|support)|help ?desk|support team", "customerservice"),
    )
)

# Single-word synonyms, applied after phrase folding and before stemming.  Grouped
# as canonical word -> the variants customers use for it; British and American
# spellings are folded here too.
_SYNONYM_GROUPS: dict[str, str] = {
    "refund": "reimburse reimbursement reimbursed",
    "package": "parcel parcels shipment shipments box",
    "cancel": "cancellation canceled cancelled canceling cancelling",
    "order": "purchase purchased purchases bought",
    "damaged": "smashed cracked shattered dented crushed",
    "defect": "faulty defective malfunction malfunctioning",
    "item": "product products goods",
    "device": "gadget tablet laptop headphones earbuds earphones speaker camera console",
    "not": "dont wont doesnt isnt didnt havent hasnt cannot cant unable never nothing",
    "crash": "crashing crashes crashed freezes freezing froze frozen",
    "website": "site webpage web",
    "invoice": "receipt receipts",
    "email": "emails mail",
    "double": "twice duplicate",
    "subscribe": "subscription subscriptions membership",
    "agent": "human person representative rep operator staff",
    "talk": "speak speaking connect chat",
    "international": "abroad overseas worldwide country countries",
    "data": "information info",
    "used": "wore worn wearing",
    "colour": "color colors colours",
    "recognise": "recognize recognized recognised",
    "renew": "renewal renews renewed autorenew",
    "2fa": "authenticator",
}
_SYNONYMS: dict[str, str] = {
    variant: canonical
    for canonical, variants in _SYNONYM_GROUPS.items()
    for variant in variants.split()
}

_DOUBLE_CONSONANT = re.compile(r"([b-df-hj-np-rtv-z])\1$")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Strip common English suffixes so inflections share one key.

    Deliberately crude (a few Porter-like rules): the same function runs on both
    articles and queries, so it only has to be consistent, not linguistically
    right.  ``charge``, ``charged``, ``charges`` and ``charging`` all become
    ``charg``; ``shipping`` and ``shipped`` become ``ship``.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ss") or word.endswith("us") or word.endswith("is"):
        pass
    elif word.endswith("s"):
        word = word[:-1]
    for suffix, min_stem in (("ing", 3), ("ed", 3), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            word = word[: -len(suffix)]
            break
    if len(word) > 3:
        word = _DOUBLE_CONSONANT.sub(r"\1", word)
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def keywords(text: str) -> list[str]:
    """Return the topic-bearing, stemmed tokens of ``text`` in their original order."""
    folded = normalize(text)
    for pattern, repl in _PHRASES:
        folded = pattern.sub(repl, folded)
    words = (_SYNONYMS.get(word, word) for word in folded.split())
    return [stem(word) for word in words if word not in STOPWORDS]
