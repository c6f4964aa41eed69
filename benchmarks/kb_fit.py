"""Fit the ranker's weights and calibration on CLINC150 ``train`` and ``val`` only.

Not run by the bot or the tests: it prints the constants to paste into
``knowledge_base/ranker.py``.  Needs numpy (``pip install .[semantic]`` brings it).

    python -m benchmarks.kb_fit [--data PATH] [--semantic | --tuned]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.clinc import OOS, Prefetched, articles, data_path, load, unused_train
from knowledge_base.index import FEATURES, QUERY_FEATURES, LexicalIndex
from knowledge_base.ranker import (
    DEFAULT_MODEL,
    SEMANTIC_MODEL,
    TUNED_MODEL,
    Model,
    features_with_leads,
    rank,
)
from knowledge_base.terms import Analyzer
from knowledge_base.vectors import default_vectors


def rows(index: LexicalIndex, ids: list[str], pairs: list[tuple[str, str]], count: int):  # type: ignore[no-untyped-def]
    import numpy as np

    x, y, group = [], [], []
    for n, (text, intent) in enumerate(pairs):
        found = index.candidates(index.analyse(text), count)
        if not found:
            continue
        for candidate, values in zip(found, features_with_leads(found), strict=True):
            x.append(values)
            y.append(ids[candidate.article] == intent)
            group.append(n)
    return np.array(x), np.array(y, dtype=float), np.array(group)


def fit_logistic(x, y, weight=None, l2: float = 1e-6, steps: int = 50):  # type: ignore[no-untyped-def]
    """Newton's method on the L2-regularised, row-weighted log loss (small, exact)."""
    import numpy as np

    xb = np.hstack([x, np.ones((len(x), 1))])
    s = np.ones(len(y)) if weight is None else weight / weight.mean()
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (s * (p - y)) / len(y) + l2 * w
        hess = (xb * (s * p * (1 - p))[:, None]).T @ xb / len(y) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w[:-1], w[-1]


def weight_as_in_test(out):  # type: ignore[no-untyped-def]
    """The weight of one of ``val``'s out-of-scope questions for shares "as in ``test``"
    (1,000 out of scope to 4,500 in scope; ``val`` has 100 to 3,000)."""
    return (1000 / 4500) / (out.sum() / (~out).sum())


def precision_as_in_test(given, ok, out) -> float:  # type: ignore[no-untyped-def]
    """The share of ``given`` answers that are right, out of scope weighted as in ``test``."""
    answers = given[~out].sum() + weight_as_in_test(out) * given[out].sum()
    return float((given & ok & ~out).sum() / answers) if answers else 1.0


def thresholds():  # type: ignore[no-untyped-def]
    """The confidences the calibration tries, lowest first."""
    import numpy as np

    return np.arange(0.005, 1.0, 0.005)


def wilson_lower(share: float, n: float, z: float = 1.645) -> float:
    """The lower end of a (one-sided 95%) Wilson interval around ``share`` of ``n``."""
    centre = share + z * z / (2 * n)
    spread = z * (share * (1 - share) / n + z * z / (4 * n * n)) ** 0.5
    return float((centre - spread) / (1 + z * z / n))


def calibration_point(conf, ok, out, precision: float) -> float:  # type: ignore[no-untyped-def]
    """Lowest confidence whose answers reach ``precision`` with 95% certainty.

    Out-of-scope questions are weighted as in ``test`` (1,000 to 4,500 in scope); ``val``
    has only 100 of them, so each weighs about seven times as much and the estimate is
    uncertain: the threshold is where the lower bound of a 95% Wilson interval (over
    the effective number of weighted answers) reaches ``precision``, not the estimate.
    """
    import numpy as np

    weight = np.where(out, weight_as_in_test(out), 1.0)
    for t in thresholds():
        given = conf >= t
        w = weight[given]
        if not w.size:
            continue
        share = w[ok[given] & ~out[given]].sum() / w.sum()
        n = w.sum() ** 2 / (w**2).sum()  # effective sample size of the weighted answers
        if wilson_lower(share, n) >= precision:
            return float(round(t, 3))
    return 0.99


def refusal_point(conf, out, share: float) -> float:  # type: ignore[no-untyped-def]
    """Lowest confidence below which ``share`` of out-of-scope questions fall, with 95%
    certainty (the lower end of a Wilson interval over ``val``'s 100 of them)."""
    scores = conf[out]
    for t in thresholds():
        if wilson_lower((scores < t).mean(), out.sum()) >= share:
            return float(round(t, 3))
    return 0.99


def balanced_point(conf, ok, out, answered: float, refused: float, precision: float) -> float:  # type: ignore[no-untyped-def]
    """The confidence at which the smallest room to the three targets on ``val`` (share
    of in-scope questions answered right, of out-of-scope ones refused, of answers
    right with out-of-scope questions weighted as in ``test``) is largest."""
    best, where = -1.0, 0.99
    for t in thresholds():
        given = conf >= t
        room = min(
            (given & ok)[~out].mean() - answered,
            (~given)[out].mean() - refused,
            precision_as_in_test(given, ok, out) - precision,
        )
        if room > best:
            best, where = room, float(round(t, 3))
    return where


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description="Fit the ranker on CLINC150 train/val.")
    parser.add_argument("--data")
    parser.add_argument("--semantic", action="store_true", help="Fit the semantic ranker.")
    parser.add_argument(
        "--tuned",
        metavar="DIR",
        type=Path,
        help="Fit it for a model tuned on the fit's articles, kept in DIR (tuned if absent).",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="Articles of ten questions drawn at random with this seed (default: the first ten).",
    )
    parser.add_argument(
        "--balance",
        type=float,
        metavar="ANSWERED",
        help="Answer where issue 5's targets (ANSWERED right, 85%% refused, 90%% precise) "
        "all have the most room on val, instead of at the 95%%-certain points.",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        help="Candidates per question (default: as many as the ranker's weights now use).",
    )
    parser.add_argument(
        "--oos-weight",
        type=float,
        default=1.0,
        help="Weight of out-of-scope queries in the fit (10: as often as in test).",
    )
    args = parser.parse_args()
    data = load(data_path(args.data))
    kb_articles = articles(data["train"], seed=args.seed)
    ids = [a.id for a in kb_articles]
    fit_pairs = unused_train(data["train"], kb_articles) + data["oos_train"]
    semantic = None
    if args.semantic or args.tuned:
        from knowledge_base.semantic import load_base_model, load_sentence_model
        from knowledge_base.tuning import read_manifest, save, tune

        queries = [text for text, _ in fit_pairs + data["val"] + data["oos_val"]]
        model = load_sentence_model()
        if args.tuned:  # on the knowledge base's questions only, as `kb tune` does
            if read_manifest(args.tuned) is None:
                base = load_base_model()
                save(base, tune(base, kb_articles), args.tuned)
            model = load_sentence_model(args.tuned)
        semantic = Prefetched(model, queries)
    vectors = None if semantic else default_vectors()
    index = LexicalIndex(kb_articles, Analyzer(), vectors, semantic)
    now = TUNED_MODEL if args.tuned else SEMANTIC_MODEL if args.semantic else DEFAULT_MODEL
    count = args.candidates or now.candidates
    x, y, group = rows(index, ids, fit_pairs, count)
    out_of_scope = np.array([fit_pairs[n][1] == OOS for n in group])
    weights, bias = fit_logistic(x, y, np.where(out_of_scope, args.oos_weight, 1.0))

    # Calibrate the ranker as it runs (the same ranking, the no-topic-word discount).
    fitted = Model(tuple(float(w) for w in weights), float(bias), 0.5, 0.75, count)
    best, right, oos = [], [], []
    for text, intent in data["val"] + data["oos_val"]:
        ranked = rank(index.candidates(index.analyse(text), count), fitted)
        best.append(ranked[0].confidence if ranked else 0.0)
        right.append(bool(ranked) and ids[ranked[0].candidate.article] == intent)
        oos.append(intent == OOS)
    conf, ok, out = np.array(best), np.array(right), np.array(oos)
    # answer when nine in ten answers are right and most off-topic questions refused
    if args.balance is None:  # nine in ten answers right, most off-topic refused
        c75 = max(calibration_point(conf, ok, out, 0.90), refusal_point(conf, out, 0.85))
    else:
        c75 = balanced_point(conf, ok, out, args.balance, 0.85, 0.90)
    c55 = calibration_point(conf, ok, out, 0.80)
    names = [*FEATURES, *(f"lead_{f}" for f in FEATURES), *QUERY_FEATURES]
    print("Model(\n    weights=(")
    for name, w in zip(names, weights, strict=True):
        print(f"        {w:.3f},  # {name}")
    print(
        f"    ),\n    bias={bias:.3f},\n    confidence_at_55={c55},\n    confidence_at_75={c75},\n"
        f"    candidates={count},\n)"
    )
    given = conf >= c75
    print(
        f"val: top-1 {ok[~out].mean():.3f}; at c75 answered right "
        f"{(given & ok)[~out].mean():.3f}, out-of-scope refused {1 - given[out].mean():.3f}, "
        f"precision (as in test) {precision_as_in_test(given, ok, out):.3f}"
    )


if __name__ == "__main__":
    main()
