"""Why the matcher decided what it did: for ``supportbot kb search --explain``.

Editors tune articles by seeing what counted: which example question was closest,
which of the customer's words the article knows (and how much each weighs), which
words no article knows, which typos were corrected and which synonyms applied.
"""

from __future__ import annotations

from typing import Any

from knowledge_base.index import FEATURES
from knowledge_base.matcher import KnowledgeBase
from knowledge_base.terms import STOP_TERMS, stem


def explain(kb: KnowledgeBase, query: str, limit: int = 5) -> dict[str, Any]:
    """A JSON-ready account of one search."""
    result = kb.search(query, limit=limit)
    analysed = kb.analyse(query)
    ranked = kb.rank(query, limit=limit)
    articles = kb.articles
    base = " ".join(map(stem, analysed.surface.split()))  # as corrected
    applied = sorted(
        f"{variant} -> {canonical}"
        for variant, canonical in kb.synonyms.mapping.items()
        if f" {variant} " in f" {base} "
    )
    matches = []
    for r in ranked[:limit]:
        article = articles[r.candidate.article]
        phrasings = (*article.questions, article.title)
        matches.append(
            {
                "id": article.id,
                "title": article.title,
                "score": r.score,
                "confidence": round(r.confidence, 3),
                "phrasing": phrasings[r.candidate.phrasing],
                "words": {t: round(analysed.terms[t], 2) for t in r.candidate.matched},
                "evidence": dict(
                    zip(FEATURES, (round(v, 3) for v in r.candidate.features), strict=True)
                ),
            }
        )
    return {
        "query": query,
        "decision": result.decision.value,
        "thresholds": {
            "answer": kb.thresholds.answer,
            "clarify": kb.thresholds.clarify,
            "margin": kb.thresholds.margin,
        },
        "terms": {t: round(w, 2) for t, w in analysed.terms.items()},
        "unknown_words": [
            t for t in analysed.terms if t not in kb.index_vocabulary() and t not in STOP_TERMS
        ],
        "typos_corrected": analysed.corrections,
        "synonyms_applied": applied,
        "matches": matches,
    }


def explanation_lines(report: dict[str, Any]) -> list[str]:
    """The same account as text, one fact per line."""
    t = report["thresholds"]
    lines = [
        f"Decision: {report['decision']}  (answer >= {t['answer']:g} and {t['margin']:g} ahead;"
        f" options >= {t['clarify']:g})",
        "Words (weight): " + (", ".join(f"{w} ({v:g})" for w, v in report["terms"].items()) or "-"),
    ]
    if report["unknown_words"]:
        lines.append("No article knows: " + ", ".join(report["unknown_words"]))
    if report["typos_corrected"]:
        lines.append(
            "Typos corrected: "
            + ", ".join(f"{a} -> {b}" for a, b in report["typos_corrected"].items())
        )
    if report["synonyms_applied"]:
        lines.append("Synonyms applied: " + ", ".join(report["synonyms_applied"]))
    for rank, m in enumerate(report["matches"], 1):
        lines.append(f"{rank}. {m['score']:5.1f}  {m['id']}  {m['title']}")
        lines.append(f"      closest question: {m['phrasing']}")
        counted = ", ".join(f"{w} ({v:g})" for w, v in m["words"].items()) or "none"
        lines.append(f"      words that counted: {counted}")
        evidence = ", ".join(f"{k} {v:.2f}" for k, v in m["evidence"].items())
        lines.append(f"      evidence: {evidence}")
    return lines
