"""Text normalisation: look-alike, invisible and decorated text folds to plain words."""

from __future__ import annotations

import random

import pytest

from knowledge_base import normalize
from knowledge_base.normalize import _unicode
from knowledge_base.terms import Surfaces, keywords, stem, surface


@pytest.mark.parametrize(
    "text",
    [
        "refund",
        "REFUND",
        "r\u0435fund",  # Cyrillic small ie
        "R\u0415FUN\u0501",  # Cyrillic capital ie, Cyrillic komi de
        "re\u200bfund",  # zero-width space
        "re\u00adfund",  # soft hyphen
        "\u202erefund\u202c",  # bidi override and pop
        "refund\ufe0f",  # variation selector
        "\uff52\uff45\uff46\uff55\uff4e\uff44",  # fullwidth
        "  refund!!! ",
        "R\u0395F\u03c5ND",  # Greek capital epsilon, small upsilon
    ],
)
def test_variants_normalise_to_refund(text: str) -> None:
    assert normalize(text) == "refund"


def test_look_alike_capitals_map_to_the_letter_they_resemble() -> None:
    assert normalize("\u0420\u0410Y\u0420\u0410L") == "paypal"  # Cyrillic Р and А


def test_punctuation_becomes_spaces_and_whitespace_collapses() -> None:
    assert normalize("Hi!!  Where's my\torder…\n#123?") == "hi wheres my order 123"


@pytest.mark.parametrize("text", ["", "   \n\t", "?!...", "\u200b\u200d"])
def test_blank_or_punctuation_only_text_normalises_to_empty(text: str) -> None:
    assert normalize(text) == ""


def test_non_latin_letters_outside_the_confusables_are_kept() -> None:
    assert normalize("Größe café") == "grösse café"


def test_keywords_drop_filler_and_fold_inflections() -> None:
    assert keywords("Hi, I was charged twice for my orders!") == ["charg", "twic", "order"]


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("I can't log in", "I cannot sign-in"),
        ("reset my pass-word", "reset my password"),
        ("update my e-mail", "update my email"),
        ("two-factor authentication", "2FA"),
        ("I don't see it", "I do not see it"),
        ("my colour", "my color"),
    ],
)
def test_keywords_treat_common_variants_alike(variant: str, canonical: str) -> None:
    assert keywords(variant) == keywords(canonical)


@pytest.mark.parametrize(
    "words",
    [
        ("charge", "charged", "charges", "charging"),
        ("ship", "ships", "shipped", "shipping"),
        ("refund", "refunds", "refunded", "refunding"),
        ("delivery", "deliveries"),
    ],
)
def test_stem_gives_inflections_one_key(words: tuple[str, ...]) -> None:
    assert len({stem(word) for word in words}) == 1


def test_stem_leaves_short_words_and_numbers_alone() -> None:
    assert [stem(w) for w in ("app", "bus", "2fa", "30")] == ["app", "bus", "2fa", "30"]


def test_an_index_build_reads_each_articles_surfaces_back_as_written() -> None:
    articles = [
        ["Where is my PARCEL?", "hi please", "tab\there\nand newline"],
        ["E-mail me", ""],
        ["one"],
    ]
    surfaces = Surfaces(articles)
    expected = [[surface(text) for text in texts] for texts in articles]
    assert len(surfaces) == 3
    assert list(surfaces) == expected
    assert list(surfaces) == expected  # every pass reads them again
    assert list(surfaces.heads([1, 2, 5])) == [expected[0][:1], expected[1], expected[2]]
    assert list(Surfaces([])) == []
    assert list(Surfaces([[]])) == [[""]]  # (an article always has its title)


def test_plain_ascii_takes_a_shortcut_to_the_same_result() -> None:
    """ASCII skips the Unicode steps (``normalize._unicode``); every ASCII character and
    a few thousand random ASCII texts normalise the same either way."""
    rng = random.Random(5)
    pool = [chr(c) for c in range(128)] + list("   aeiou don't ") * 4
    texts = [chr(c) for c in range(128)]
    texts += ["".join(rng.choices(pool, k=rng.randint(0, 40))) for _ in range(5000)]
    for text in texts:
        assert normalize(text) == _unicode(text), repr(text)
