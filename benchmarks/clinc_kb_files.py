"""Write CLINC150 as a folder of article files, for ``supportbot bench --kb DIR`` and for
measuring the bot's memory with a big knowledge base (issue 10: 1,500 articles).

Each of the 150 intents gives ``--copies`` articles of ten training questions each
(``copies=10``: 1,500 articles with real, overlapping vocabulary). Only ``train`` is used.

    .venv/bin/python -m benchmarks.clinc_kb_files /tmp/kb1500            # 1,500 articles
    .venv/bin/python -m benchmarks.clinc_kb_files /tmp/kb150 --copies 1  # 150
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from benchmarks.clinc import articles, data_path, load
from knowledge_base.normalize import normalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="an empty or new folder")
    parser.add_argument("--copies", type=int, default=10, help="articles per intent")
    parser.add_argument("--data", help="CLINC150 data_full.json (default: ../shared/data)")
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    args.out.mkdir(parents=True, exist_ok=True)
    made = articles(load(data_path(args.data))["train"], copies=args.copies)
    seen: set[str] = set()
    for article in made:  # CLINC150 repeats a few questions; `kb validate` would refuse them
        questions = [q for q in article.questions if normalize(q) not in seen]
        seen.update(normalize(q) for q in questions)
        front = {"id": article.id, "title": article.title, "category": article.category,
                 "questions": questions}  # fmt: skip
        text = f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n{article.body}\n"
        (args.out / f"{article.id}.md").write_text(text, encoding="utf-8")
    print(f"wrote {len(made)} articles to {args.out}")


if __name__ == "__main__":
    main()
