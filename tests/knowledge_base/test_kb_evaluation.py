"""Quality bars for matching, measured on hand-written customer phrasings.

The in-scope queries are paraphrases written the way customers type (lower case,
typos, no punctuation); none is copied from an article's ``questions``.  The
out-of-scope queries must never get an answer; a few share words with the
knowledge base on purpose ("order a pizza", "favourite colour").

The bars apply to both lists together.  The first lists were used to tune the
scoring and the default thresholds; the ``HELD_OUT`` lists were written afterwards.
Measured with the fused matcher (BM25, character n-grams, fuzzy scoring and static
word vectors, see docs/knowledge_base.md) on all 120 in-scope queries: top-1 0.92,
answered with the right article 0.79, answered with a wrong one 0.008; no
out-of-scope query answered, 95% of them given no suggestion at all (2026-11-29).  (The matcher
it replaced: 0.89, 0.68, 0.008.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from knowledge_base import SAMPLE_DIR, Decision, KnowledgeBase, load_knowledge_base, normalize

IN_SCOPE: list[tuple[str, str]] = [
    # returns and refunds
    ("do you do refunds if i dont have the receipt anymore", "refund-policy"),
    ("how many days after buying can i still get refunded", "refund-policy"),
    ("whats the deadline for getting my money back", "refund-policy"),
    ("where do i go to start a refund", "request-refund"),
    ("id like a refund for a jacket i ordered, how do i do that", "request-refund"),
    ("process for asking for my money back?", "request-refund"),
    ("still waiting on my refund, its been 2 weeks", "refund-timing"),
    ("how many days until the refund shows on my card", "refund-timing"),
    ("when do i get the money back after you receive the return", "refund-timing"),
    ("can i send back shoes i wore once", "returns-policy"),
    ("what can't be returned", "returns-policy"),
    ("is it possible to return an item bought on sale", "returns-policy"),
    ("need a bigger size, can i swap it", "exchange-item"),
    ("how do exchanges work", "exchange-item"),
    ("wrong colour, want to switch it for the blue one", "exchange-item"),
    ("how do i spend my store credit", "store-credit"),
    ("does my credit balance run out", "store-credit"),
    ("can i get cash instead of store credit", "store-credit"),
    # shipping and orders
    ("where's my package at", "track-order"),
    ("tracking number for my order pls", "track-order"),
    ("has my stuff been shipped", "track-order"),
    ("says delivered but nothing on my doorstep", "lost-or-late-package"),
    ("my order is over a week late", "lost-or-late-package"),
    ("parcel is missing, never showed up", "lost-or-late-package"),
    ("how long does standard shipping take", "shipping-times-costs"),
    ("what's the delivery charge", "shipping-times-costs"),
    ("do you have next day delivery", "shipping-times-costs"),
    ("do you deliver to canada", "international-shipping"),
    ("will i have to pay import tax", "international-shipping"),
    ("can you ship outside europe", "international-shipping"),
    ("i put the wrong address on my order", "change-delivery-address"),
    ("need to change where my parcel is going", "change-delivery-address"),
    ("i want to cancel an order i just made", "cancel-order"),
    ("ordered by accident how do i cancel", "cancel-order"),
    ("you sent me the wrong product", "wrong-item-received"),
    ("one of the items is missing from the box", "wrong-item-received"),
    # products and technical
    ("the mug came smashed", "damaged-on-arrival"),
    ("item was broken when it arrived", "damaged-on-arrival"),
    ("how long is the guarantee on your products", "warranty-defects"),
    ("my headphones stopped working after 6 months", "warranty-defects"),
    ("can you repair a faulty item", "warranty-defects"),
    ("my tablet wont switch on", "device-wont-turn-on"),
    ("pressed the power button and nothing happens", "device-wont-turn-on"),
    ("app crashes every time i open it", "app-troubleshooting"),
    ("your app keeps freezing", "app-troubleshooting"),
    ("checkout page gives me an error", "website-problems"),
    ("site wont load", "website-problems"),
    # account
    ("forgot my pasword", "password-reset"),
    ("reset link not coming through", "password-reset"),
    ("didnt get the sms code to log in", "two-factor-login"),
    ("lost my phone with the authenticator app", "two-factor-login"),
    ("update my email address", "change-email"),
    ("want to switch my account to a new email", "change-email"),
    ("change the phone number on my profile", "update-account-details"),
    ("how to edit my name on the account", "update-account-details"),
    ("please delete my account", "delete-account"),
    ("how can i close my account for good", "delete-account"),
    # billing
    ("you took the payment twice", "charged-twice"),
    ("double charged for one order", "charged-twice"),
    ("there's a charge i dont recognize on my bank statement", "charged-twice"),
    ("do you accept paypal", "payment-methods"),
    ("can i pay with klarna", "payment-methods"),
    ("my card keeps getting declined", "payment-methods"),
    ("can i have a vat receipt", "invoice-copy"),
    ("need an invoice for my company", "invoice-copy"),
    ("cancel my membership", "cancel-subscription"),
    ("how do i stop auto renew", "cancel-subscription"),
    ("how do i redeem a gift card", "gift-cards"),
    ("gift voucher code not accepted", "gift-cards"),
    # legal and other
    ("what data do you keep on me", "privacy-personal-data"),
    ("i want a copy of my personal information", "privacy-personal-data"),
    ("right to be forgotten request", "privacy-personal-data"),
    ("stop emailing me offers", "marketing-emails"),
    ("unsubscribe me from the mailing list", "marketing-emails"),
    ("what time do you open", "contact-support"),
    ("whats your phone number", "contact-support"),
    ("let me speak to someone real", "talk-to-human"),
    ("connect me to an agent please", "talk-to-human"),
    ("i want to complain about the service", "complaints"),
    ("this is unacceptable, i want to file a complaint", "complaints"),
]

OUT_OF_SCOPE: list[str] = [
    "what is the weather on mars",
    "tell me a joke",
    "asdfgh",
    "who won the football match last night",
    "what's the capital of france",
    "can you write me a poem about cats",
    "how do i bake sourdough bread",
    "what is the meaning of life",
    "recommend a good movie",
    "how tall is mount everest",
    "translate hello into spanish",
    "is it going to rain tomorrow",
    "what's 2 + 2",
    "sing me a song",
    "qwerty uiop",
    "who is the president of the united states",
    "how do i fix my car engine",
    "can i order a pizza from you",
    "what's your favourite colour",
    "my dog ate my homework",
    "do you believe in ghosts",
]

# Written after the matcher was tuned on the lists above and never used for tuning:
# the honest estimate of how the scoring generalises to new wording.
HELD_OUT_IN_SCOPE: list[tuple[str, str]] = [
    ("Hello, I bought a lamp 3 weeks ago and want a refund, is that still ok?", "refund-policy"),
    ("refund without proof of purchase?", "refund-policy"),
    ("how do I send my order back and get refunded", "request-refund"),
    ("my refund still hasnt shown up in my bank account", "refund-timing"),
    ("can I return a dress if I took the tags off", "returns-policy"),
    ("I'd like to exchange my trainers for a size 9", "exchange-item"),
    ("whats my store credit balance", "store-credit"),
    ("where is my parcel right now", "track-order"),
    ("the courier says it was delivered but I never got it", "lost-or-late-package"),
    ("how much do you charge for express shipping", "shipping-times-costs"),
    ("do you ship to australia and how long does it take", "international-shipping"),
    ("can i change the shipping address after ordering", "change-delivery-address"),
    ("please cancel my last order", "cancel-order"),
    ("got a blue one instead of the red one I ordered", "wrong-item-received"),
    ("the glass was shattered when the parcel arrived", "damaged-on-arrival"),
    ("is accidental damage covered by the warranty", "warranty-defects"),
    ("my speaker won't power on even after charging", "device-wont-turn-on"),
    ("the android app closes by itself", "app-troubleshooting"),
    ("your website is down", "website-problems"),
    ("I can't remember my password", "password-reset"),
    ("not getting the two factor code", "two-factor-login"),
    ("change email on my account", "change-email"),
    ("how do I add a new address to my address book", "update-account-details"),
    ("I want my account deleted", "delete-account"),
    ("you charged me two times", "charged-twice"),
    ("can I pay by credit card", "payment-methods"),
    ("download invoice for order", "invoice-copy"),
    ("how to cancel my subscription", "cancel-subscription"),
    ("does my gift card have an expiry date", "gift-cards"),
    ("are you GDPR compliant, what do you do with my data", "privacy-personal-data"),
    ("no more newsletters please", "marketing-emails"),
    ("when is customer service open", "contact-support"),
    ("I need to talk to a human", "talk-to-human"),
    ("I'd like to raise a complaint about an order", "complaints"),
    ("what are the rеfund rules", "refund-policy"),  # Cyrillic "е"
    ("ｔｒａｃｋ my order", "track-order"),  # fullwidth letters
    ("pass\u200bword reset", "password-reset"),  # zero-width space
    ("how lnog is the warrenty", "warranty-defects"),  # typos
    ("can i get my mony back", "request-refund"),
    ("delivery address is wrong", "change-delivery-address"),
]

HELD_OUT_OUT_OF_SCOPE: list[str] = [
    "what's the score in the cricket",
    "how do i cook rice",
    "write my essay for me",
    "what is bitcoin worth today",
    "lorem ipsum dolor sit amet",
    "where can i watch the new star wars film",
    "how far away is the moon",
    "i like turtles",
    "what should i name my cat",
    "zzzzzz",
    "can you help me with my maths homework",
    "how do i change a flat tyre on my bike",
]

ALL_IN_SCOPE = IN_SCOPE + HELD_OUT_IN_SCOPE
ALL_OUT_OF_SCOPE = OUT_OF_SCOPE + HELD_OUT_OUT_OF_SCOPE


@dataclass(frozen=True)
class Figures:
    """Shares of in-scope queries (0-1)."""

    top1: float  # best-ranked article is the expected one, whatever the decision
    answered_right: float  # decision ANSWER with the expected article
    answered_wrong: float  # decision ANSWER with another article


def measure(kb: KnowledgeBase, cases: list[tuple[str, str]]) -> Figures:
    top1 = right = wrong = 0
    for query, expected in cases:
        result = kb.search(query)
        best = result.best.article.id if result.best else None
        top1 += best == expected
        if result.decision is Decision.ANSWER:
            right += best == expected
            wrong += best != expected
    n = len(cases)
    return Figures(top1 / n, right / n, wrong / n)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb, problems = load_knowledge_base(SAMPLE_DIR)
    assert problems == []
    return kb


@pytest.fixture(scope="module")
def figures(kb: KnowledgeBase) -> Figures:
    return measure(kb, ALL_IN_SCOPE)


def test_evaluation_set_is_big_enough_and_points_at_real_articles(kb: KnowledgeBase) -> None:
    assert len(IN_SCOPE) >= 50
    assert len(OUT_OF_SCOPE) >= 15
    assert {expected for _, expected in ALL_IN_SCOPE} <= {a.id for a in kb.articles}


def test_no_evaluation_query_is_copied_from_an_article(kb: KnowledgeBase) -> None:
    phrasings = {normalize(q) for a in kb.articles for q in (*a.questions, a.title)}
    queries = [q for q, _ in ALL_IN_SCOPE] + ALL_OUT_OF_SCOPE

    assert [q for q in queries if normalize(q) in phrasings] == []


def test_top1_accuracy_is_at_least_80_percent(figures: Figures) -> None:
    assert figures.top1 >= 0.80


def test_at_least_60_percent_are_answered_with_the_right_article(figures: Figures) -> None:
    assert figures.answered_right >= 0.60


def test_at_most_5_percent_are_answered_with_a_wrong_article(figures: Figures) -> None:
    assert figures.answered_wrong <= 0.05


@pytest.mark.parametrize("query", ALL_OUT_OF_SCOPE)
def test_out_of_scope_query_is_never_answered(kb: KnowledgeBase, query: str) -> None:
    assert kb.search(query).decision is not Decision.ANSWER


def test_most_out_of_scope_queries_get_no_suggestions_at_all(kb: KnowledgeBase) -> None:
    declined = [q for q in ALL_OUT_OF_SCOPE if kb.search(q).decision is Decision.NONE]

    assert len(declined) >= 0.9 * len(ALL_OUT_OF_SCOPE)
