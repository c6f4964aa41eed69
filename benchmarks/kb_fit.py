"""Fit the ranker's weights and calibration on CLINC150 ``train`` and ``val`` only.

Not run by the bot or the tests: it prints the constants to paste into
``knowledge_base/ranker.py``.  Needs numpy (``pip install .[semantic]`` brings it).

    python -m benchmarks.kb_fit [--data PATH]
"""

from __future__ import annotations

import argparse

from benchmarks.clinc import OOS, articles, data_path, load, unused_train
from knowledge_base.index import FEATURES, QUERY_FEATURES, LexicalIndex
from knowledge_base.ranker import features_with_leads
from knowledge_base.terms import Analyzer
from knowledge_base.vectors import default_vectors


def rows(index: LexicalIndex, ids: list[str], pairs: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    import numpy as np

    x, y, group = [], [], []
    for n, (text, intent) in enumerate(pairs):
        found = index.candidates(index.analyse(text))
        if not found:
            continue
        for candidate, values in zip(found, features_with_leads(found), strict=True):
            x.append(values)
            y.append(ids[candidate.article] == intent)
            group.append(n)
    return np.array(x), np.array(y, dtype=float), np.array(group)


def fit_logistic(x, y, l2: float = 1e-6, steps: int = 50):  # type: ignore[no-untyped-def]
    """Newton's method on the L2-regularised log loss (small problem, exact)."""
    import numpy as np

    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) / len(y) + l2 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb / len(y) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w[:-1], w[-1]


def calibration_point(conf, ok, out, precision: float) -> float:  # type: ignore[no-untyped-def]
    """Lowest confidence whose answers reach ``precision``, out-of-scope weighted as in test."""
    import numpy as np

    oos_weight = (1000 / 4500) / (out.sum() / (~out).sum())
    for t in np.arange(0.05, 1.0, 0.005):
        given = conf >= t
        good = (given & ok).sum()
        bad = (given & ~ok & ~out).sum() + (given & out).sum() * oos_weight
        if good / max(good + bad, 1) >= precision:
            return float(round(t, 3))
    return 0.99


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description="Fit the ranker on CLINC150 train/val.")
    parser.add_argument("--data")
    parser.add_argument("--semantic", action="store_true", help="Fit the semantic ranker.")
    args = parser.parse_args()
    data = load(data_path(args.data))
    kb_articles = articles(data["train"])
    ids = [a.id for a in kb_articles]
    semantic = None
    if args.semantic:
        from knowledge_base.semantic import load_sentence_model

        semantic = load_sentence_model()
    vectors = None if semantic else default_vectors()
    index = LexicalIndex(kb_articles, Analyzer(), vectors, semantic)
    x, y, _ = rows(index, ids, unused_train(data["train"]) + data["oos_train"])
    weights, bias = fit_logistic(x, y)

    best, right, oos = [], [], []
    for text, intent in data["val"] + data["oos_val"]:
        found = index.candidates(index.analyse(text))
        confidence, top = 0.0, None
        if found:
            p = 1 / (1 + np.exp(-(np.array(features_with_leads(found)) @ weights + bias)))
            top = int(np.argmax(p))
            confidence = float(p[top])
        best.append(confidence)
        right.append(top is not None and ids[found[top].article] == intent)
        oos.append(intent == OOS)
    conf, ok, out = np.array(best), np.array(right), np.array(oos)
    c75 = calibration_point(conf, ok, out, 0.90)
    c55 = calibration_point(conf, ok, out, 0.80)
    names = [*FEATURES, *(f"lead_{f}" for f in FEATURES), *QUERY_FEATURES]
    print("Model(\n    weights=(")
    for name, w in zip(names, weights, strict=True):
        print(f"        {w:.3f},  # {name}")
    print(
        f"    ),\n    bias={bias:.3f},\n    confidence_at_55={c55},\n    confidence_at_75={c75},\n)"
    )
    given = conf >= c75
    print(
        f"val: top-1 {ok[~out].mean():.3f}; at c75 answered right {(given & ok)[~out].mean():.3f}, "
        f"out-of-scope refused {1 - given[out].mean():.3f}"
    )


if __name__ == "__main__":
    main()
