"""Answer quality and speed of the knowledge-base matcher on CLINC150.

Each of the 150 intents becomes one article with its first 10 ``train`` questions;
the queries are the ``test`` split (4,500 in scope) and ``oos_test`` (1,000 out of
scope).  Printed per matcher: top-1 and top-3 accuracy, the share of in-scope
queries answered with the right article, the precision of given answers, the share
of out-of-scope queries refused (not answered) and given no suggestion at all, and
queries per second of CPU time on one thread with 1,500 articles (10 per intent).

From a fresh clone, with CLINC150 beside the repository in
``../shared/data/clinc150/``::

    python -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m benchmarks.kb_clinc150

``--data PATH`` or ``$CLINC150_DATA`` points elsewhere; ``--split val`` measures on
the tuning split instead.  The semantic ranker is measured too when the
``semantic`` extra is installed (``pip install -e .[semantic]``).
"""

from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import dataclass

from benchmarks.clinc import Pairs, Prefetched, articles, data_path, load
from knowledge_base import Decision, KnowledgeBase
from knowledge_base.vectors import SentenceModel


@dataclass(frozen=True)
class Figures:
    top1: float
    top3: float
    answered_right: float
    precision: float
    oos_refused: float
    oos_no_suggestion: float
    queries_per_second: float


def quality(
    kb: KnowledgeBase, in_scope: Pairs, out_of_scope: Pairs
) -> tuple[float, float, float, float, float, float]:
    top1 = top3 = right = given = 0
    for text, intent in in_scope:
        result = kb.search(text, limit=3)
        ids = [kb.articles[r.candidate.article].id for r in kb.rank(text, limit=3)]
        top1 += bool(ids) and ids[0] == intent
        top3 += intent in ids[:3]
        if result.decision is Decision.ANSWER:
            given += 1
            right += result.matches[0].article.id == intent
    refused = no_suggestion = 0
    for text, _ in out_of_scope:
        decision = kb.search(text).decision
        refused += decision is not Decision.ANSWER
        no_suggestion += decision is Decision.NONE
        given += decision is Decision.ANSWER
    n, m = len(in_scope), len(out_of_scope)
    return top1 / n, top3 / n, right / n, right / max(given, 1), refused / m, no_suggestion / m


def speed(kb: KnowledgeBase, queries: list[str], seconds: float = 5.0) -> float:
    """Queries per second of this process's CPU time (one thread)."""
    done, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for text in queries:
            kb.search(text)
        done += len(queries)
    return done / (time.process_time() - started)


def measure(data: dict[str, Pairs], split: str, semantic: SentenceModel | None = None) -> Figures:
    """Quality on the 150-article knowledge base, speed on the 1,500-article one."""
    in_scope, out_of_scope = data[split], data[f"oos_{split}"]
    if semantic is not None:  # encoded in batches; the speed below is one by one
        texts = [text for text, _ in in_scope + out_of_scope]
        kb = KnowledgeBase(articles(data["train"]), semantic=Prefetched(semantic, texts))
    else:
        kb = KnowledgeBase(articles(data["train"]))
    figures = quality(kb, in_scope, out_of_scope)
    big = KnowledgeBase(articles(data["train"], copies=10), semantic=semantic, cache=0)
    queries = [text for text, _ in in_scope + out_of_scope]
    if semantic is not None:
        queries = queries[:300]  # a sentence model is slow; a sample gives the rate
    return Figures(*figures, speed(big, queries, seconds=2.0 if semantic else 5.0))


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the matcher on CLINC150.")
    parser.add_argument("--data", help="data_full.json or its folder")
    parser.add_argument("--split", choices=["test", "val"], default="test")
    parser.add_argument("--no-semantic", action="store_true", help="Skip the semantic ranker.")
    args = parser.parse_args()
    data = load(data_path(args.data))
    rows: list[tuple[str, Figures]] = [
        ("default (lexical + static vectors)", measure(data, args.split))
    ]
    if not args.no_semantic:
        try:
            from knowledge_base.semantic import load_sentence_model

            model = load_sentence_model()
            importlib.import_module("torch").set_num_threads(1)  # one thread, like the default
        except ImportError as exc:
            print(f"(semantic ranker not measured: {exc})")
        else:
            rows.append(("semantic (all-MiniLM-L6-v2)", measure(data, args.split, model)))
    in_scope, out_of_scope = len(data[args.split]), len(data[f"oos_{args.split}"])
    print(f"CLINC150 {args.split}: {in_scope} in scope, {out_of_scope} out of scope")
    print(
        "| matcher | top-1 | top-3 | in-scope answered right | precision of answers "
        "| out-of-scope refused | out-of-scope, no suggestion | queries/s (1,500 articles) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, f in rows:
        print(
            f"| {name} | {f.top1:.1%} | {f.top3:.1%} | {f.answered_right:.1%} | {f.precision:.1%} "
            f"| {f.oos_refused:.1%} | {f.oos_no_suggestion:.1%} | {f.queries_per_second:,.0f} |"
        )


if __name__ == "__main__":
    main()
