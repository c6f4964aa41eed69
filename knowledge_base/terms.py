"""From normalised text to the terms the matcher counts.

``Analyzer.terms`` folds spelling variants every knowledge base shares ("e-mail",
"log in", "can't"), applies the knowledge base's own synonyms (``synonyms.yaml``,
see ``knowledge_base.synonyms``) and strips common English suffixes.  Function words
are kept: with IDF weighting they cost little, and "what is on my list" differs from
"add to my list" mostly by them.  Only pure chat filler ("hi", "please") is dropped,
so that a greeting never looks like a question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from functools import lru_cache
from typing import TYPE_CHECKING

from knowledge_base.normalize import normalize

if TYPE_CHECKING:
    from knowledge_base.synonyms import Synonyms

# Chat filler: never evidence for any article, so dropped from every text.
_FILLER_TEXT = "hi hello hey hiya please pls plz thanks thx help dear team guys ok okay"
FILLER: frozenset[str] = frozenset(_FILLER_TEXT.split())

# Function words.  Kept as terms, but one the knowledge base does not know does not
# count against an article the way an unknown topic word does ("weather on mars").
_STOPWORD_TEXT = """
    a about after again all also am an and any anyone anything are as at be been
    before being both but by can could did do does doing done for from had has have
    having he her here hers him his how i id if im in into is it its itself ive just
    lets me mine my myself of on once only or other our ours out over own same she
    should so some someone something such than that thats the their them then there
    these they this those through to too under until up very was we were what whats
    which while who whom why will with would you your youre yours yourself yes yeah
    sir madam urgent urgently asap want wanted wanna need needs like know tell way
    possible able still already really actually ever even get got getting go going
    gonna trying try tried u ur r today yet anymore now mean means
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

# Spelling variants of one word that are the same in every knowledge base, folded
# before stemming so "log in", "sign-in" and "login" (or "e-mail" and "email") match.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{pattern}\b"), repl)
    for pattern, repl in (
        (r"e mail", "email"),
        (r"(?:log|sign)(?:ged|ging|ed|ing)? ?(?:in|on|into)", "login"),
        (r"(?:log|sign)(?:ged|ging|ed|ing)? ?(?:out|off)", "logout"),
        (r"sign ?up", "register"),
        (r"(?:two|2) ?(?:factor|step)(?: auth\w*| verification)?|2fa|mfa|otp", "2fa"),
        (r"pass ?word|passwd|pwd", "password"),
        (r"user ?name", "username"),
        (r"post ?code|zip ?code", "postcode"),
    )
)
_VARIANTS = {
    "not": "dont wont doesnt isnt didnt havent hasnt cannot cant",
    "colour": "color colors colours",
    "recognise": "recognize recognized recognised",
}
_WORDS: dict[str, str] = {v: word for word, variants in _VARIANTS.items() for v in variants.split()}
_DOUBLE_CONSONANT = re.compile(r"([b-df-hj-np-rtv-z])\1$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English suffixes so inflections share one key.

    Deliberately crude (a few Porter-like rules): the same function runs on articles
    and queries, so it only has to be consistent, not linguistically right, and on
    CLINC150 it matches the Snowball stemmer's accuracy.  ``charge``, ``charged``,
    ``charges`` and ``charging`` all become ``charg``.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("ss", "us", "is")):
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


STOP_TERMS: frozenset[str] = frozenset(stem(word) for word in STOPWORDS)


def surface(text: str) -> str:
    """``normalize`` plus the shared spelling variants: the text fuzzy scoring sees."""
    folded = normalize(text)
    for pattern, repl in _PHRASES:
        folded = pattern.sub(repl, folded)
    return " ".join(_WORDS.get(word, word) for word in folded.split() if word not in FILLER)


def base_terms(text: str) -> list[str]:
    """Stemmed terms of ``text`` without any knowledge base's synonyms."""
    return [stem(word) for word in surface(text).split()]


class Analyzer:
    """The terms of a text as one knowledge base sees them (its synonyms applied)."""

    def __init__(self, synonyms: Synonyms | None = None) -> None:
        self.synonyms = synonyms

    def terms(self, text: str) -> list[str]:
        return self.of_surface(surface(text))

    def of_surface(self, text: str) -> list[str]:
        """Terms of a text already passed through ``surface``."""
        return self.fold([stem(word) for word in text.split()])

    def fold(self, stems: list[str]) -> list[str]:
        """Apply the synonyms to stemmed words."""
        return self.synonyms.apply(stems) if self.synonyms else stems


def keywords(text: str) -> list[str]:
    """Topic-bearing terms only (no function words): for near-duplicate checks."""
    return [term for term in base_terms(text) if term not in STOP_TERMS]


class Surfaces:
    """Each article's texts through ``surface``, for building an index: one string.

    An index build reads every text's surface on ten passes.  Kept as a list of
    20,000 short strings, they were freed at the end of the build from among the
    index's own objects, which left about 2 MB of the allocator's pools empty but held
    for good; one string is given back whole, and each pass splits copies that die
    young.
    """

    def __init__(self, articles: Iterable[Iterable[str]]) -> None:
        # surface() leaves single spaces only: tabs and newlines can separate.
        joined = ["\t".join(map(surface, texts)) for texts in articles]
        self._count = len(joined)
        self._joined = "\n".join(joined)
        self._heads: Sequence[int] | None = None

    def heads(self, counts: Sequence[int]) -> Surfaces:
        """The same, with only the first ``counts[i]`` texts of article ``i``."""
        view = copy(self)
        view._heads = counts
        return view

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[list[str]]:
        joined, heads, start = self._joined, self._heads, 0
        for i in range(self._count):
            end = joined.find("\n", start)
            texts = joined[start : end if end >= 0 else len(joined)].split("\t")
            yield texts[: heads[i]] if heads else texts
            start = end + 1
