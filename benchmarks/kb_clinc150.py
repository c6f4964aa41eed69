"""Answer quality and speed of the knowledge-base matcher on CLINC150.

Each of the 150 intents becomes one article with 10 of its ``train`` questions, drawn
at random as in issue 5 (``--draws``: the mean of that many draws, with their range;
``--first``: the first 10 in the file's order instead, a harder set-up, see
``benchmarks.clinc.articles``); the queries are the ``test`` split (4,500 in scope)
and ``oos_test`` (1,000 out of scope).  Printed per matcher: top-1 and top-3
accuracy, the share of in-scope queries answered with the right article, the
precision of given answers, the share of out-of-scope queries refused (not answered)
and given no suggestion at all, and queries per second of CPU time on one thread with
1,500 articles (10 per intent).

From a fresh clone, with CLINC150 beside the repository in
``../shared/data/clinc150/``::

    python -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m benchmarks.kb_clinc150

``--data PATH`` or ``$CLINC150_DATA`` points elsewhere; ``--split val`` measures on
the tuning split instead; ``--typos`` swaps two neighbouring characters in each
question, as ``supportbot bench``'s customers type them.  The semantic ranker is
measured too when the ``semantic`` extra is installed (``pip install -e .[semantic]``).
"""

from __future__ import annotations

import argparse
import importlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from benchmarks.clinc import Pairs, Prefetched, articles, data_path, load
from bot.bench.scripts import typo
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


def measure(
    data: dict[str, Pairs], split: str, seeds: Sequence[int | None],
    semantic: SentenceModel | None = None, seconds: float = 5.0,
) -> list[Figures]:  # fmt: skip
    """Quality on a 150-article knowledge base per draw, speed on a 1,500-article one."""
    in_scope, out_of_scope = data[split], data[f"oos_{split}"]
    queries = [text for text, _ in in_scope + out_of_scope]
    # encoded in batches, once for every draw; the speed below is one by one
    batched = Prefetched(semantic, queries) if semantic is not None else None
    rate = speed_on_1500(data, seeds[0], semantic, queries, seconds)
    draws = []
    for seed in seeds:
        kb = KnowledgeBase(articles(data["train"], seed=seed), semantic=batched)
        draws.append(Figures(*quality(kb, in_scope, out_of_scope), rate))
    return draws


def measure_tuned(
    data: dict[str, Pairs], split: str, seeds: Sequence[int | None], seconds: float = 5.0
) -> list[Figures]:
    """The semantic ranker with the model tuned on each draw's articles (`kb tune`)."""
    from knowledge_base.semantic import MiniLM, load_base_model
    from knowledge_base.tuning import tune

    torch = importlib.import_module("torch")
    in_scope, out_of_scope = data[split], data[f"oos_{split}"]
    queries = [text for text, _ in in_scope + out_of_scope]
    draws, model = [], None
    for seed in seeds:
        kb_articles = articles(data["train"], seed=seed)
        base = load_base_model()
        torch.set_num_threads(2)  # tuning is a batch job; ranking below is measured on one
        model = MiniLM(base, tune(base, kb_articles))
        torch.set_num_threads(1)
        kb = KnowledgeBase(kb_articles, semantic=Prefetched(model, queries))
        draws.append(Figures(*quality(kb, in_scope, out_of_scope), 0.0))
    assert model is not None
    rate = speed_on_1500(data, seeds[-1], model, queries, seconds)
    return [replace(figures, queries_per_second=rate) for figures in draws]


def speed_on_1500(
    data: dict[str, Pairs], seed: int | None, semantic: SentenceModel | None,
    queries: list[str], seconds: float,
) -> float:  # fmt: skip
    """Queries per second with 1,500 articles (ten per intent), one question at a time;
    the sentence model is slow, so it gets fewer questions and less time."""
    big = KnowledgeBase(articles(data["train"], copies=10, seed=seed), semantic=semantic,
                        cache=0)  # fmt: skip
    return speed(big, queries[:300] if semantic else queries, seconds / (2.5 if semantic else 1))


def cells(draws: list[Figures]) -> list[str]:
    """Each figure as the mean of the draws, with their range when there are several."""
    out = []
    for name in ("top1", "top3", "answered_right", "precision", "oos_refused",
                 "oos_no_suggestion"):  # fmt: skip
        values = [getattr(f, name) for f in draws]
        mean = sum(values) / len(values)
        spread = f" ({min(values):.1%}-{max(values):.1%})" if len(values) > 1 else ""
        out.append(f"{mean:.1%}{spread}")
    return [*out, f"{draws[0].queries_per_second:,.0f}"]


def with_typos(data: dict[str, Pairs], split: str) -> dict[str, Pairs]:
    """The split's questions as a hurried customer types them: one swap of two
    neighbouring characters each (``bot.bench.scripts.typo``; the same every run)."""
    rng = random.Random(1)
    typed = {name: [(typo(text, rng), intent) for text, intent in data[name]]
             for name in (split, f"oos_{split}")}  # fmt: skip
    return {**data, **typed}


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the matcher on CLINC150.")
    parser.add_argument("--data", help="data_full.json or its folder")
    parser.add_argument("--split", choices=["test", "val"], default="test")
    parser.add_argument("--no-semantic", action="store_true", help="Skip the semantic ranker.")
    parser.add_argument(
        "--no-tuned", action="store_true", help="Skip the model tuned per draw (minutes each)."
    )
    parser.add_argument("--draws", type=int, default=5, help="random draws of the articles")
    parser.add_argument(
        "--first", action="store_true", help="The first 10 questions per intent, not random ones."
    )
    parser.add_argument(
        "--typos",
        action="store_true",
        help="Each question with two neighbouring characters swapped (as `supportbot bench` "
        "types them).",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring speed")
    args = parser.parse_args()
    if args.draws < 1:
        parser.error("--draws must be at least 1")
    data = load(data_path(args.data))
    if args.typos:
        data = with_typos(data, args.split)
    seeds: list[int | None] = [None] if args.first else list(range(args.draws))
    rows: list[tuple[str, list[Figures]]] = [
        ("default (lexical + static vectors)", measure(data, args.split, seeds, None, args.seconds))
    ]
    if not args.no_semantic:
        try:
            from knowledge_base.semantic import load_sentence_model

            model = load_sentence_model()
            importlib.import_module("torch").set_num_threads(1)  # one thread, like the default
        except ImportError as exc:
            print(f"(semantic ranker not measured: {exc})")
        else:
            figures = measure(data, args.split, seeds, model, args.seconds)
            rows.append(("semantic (all-MiniLM-L6-v2)", figures))
            if not args.no_tuned:
                figures = measure_tuned(data, args.split, seeds, args.seconds)
                rows.append(("semantic, tuned on the articles (`kb tune`)", figures))
    in_scope, out_of_scope = len(data[args.split]), len(data[f"oos_{args.split}"])
    how = "the first 10" if args.first else f"10 drawn at random, mean of {len(seeds)} draws"
    how += "; one typo in each query" if args.typos else ""
    print(f"CLINC150 {args.split}: {in_scope} in scope, {out_of_scope} out of scope; "
          f"questions per article: {how}")  # fmt: skip
    print(
        "| matcher | top-1 | top-3 | in-scope answered right | precision of answers "
        "| out-of-scope refused | out-of-scope, no suggestion | queries/s (1,500 articles) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, draws in rows:
        print(f"| {name} | " + " | ".join(cells(draws)) + " |")


if __name__ == "__main__":
    main()
