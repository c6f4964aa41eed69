"""The knowledge base's own vocabulary: ``synonyms.yaml`` beside the articles.

Editors know that their customers say "parcel" for "package" or "AcmePod" for
"headphones"; the matcher cannot guess it.  The file maps a canonical word (or
phrase) to the variants customers use::

    package: [parcel, parcels, shipment]
    refund: [money back, reimbursement]

Variants are matched on stemmed words, so ``parcel`` also covers "parcels", and a
variant may span several words.  Everything is folded to the canonical form on both
sides (articles and questions), so the variants count exactly like the canonical
word.  A broken file is reported like a broken article and ignored as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.articles import ArticleProblem
from knowledge_base.terms import base_terms

SYNONYMS_FILE = "synonyms.yaml"


@dataclass(frozen=True)
class Synonyms:
    """Variant phrase -> canonical phrase, both as space-joined stemmed terms."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mapping:
            # Longest variant first, so "money back guarantee" beats "money back".
            variants = sorted(self.mapping, key=lambda v: (-len(v), v))
            alternation = "|".join(re.escape(v) for v in variants)
            object.__setattr__(self, "_pattern", re.compile(rf"(?<!\S)(?:{alternation})(?!\S)"))

    def __len__(self) -> int:
        return len(self.mapping)

    def apply(self, terms: list[str]) -> list[str]:
        """Replace every variant in ``terms`` by its canonical terms."""
        if self._pattern is None or not terms:
            return terms
        joined = self._pattern.sub(lambda m: self.mapping[m.group(0)], " ".join(terms))
        return joined.split()


def parse_synonyms(data: Any, path: Path) -> tuple[Synonyms, list[ArticleProblem]]:
    """Build ``Synonyms`` from parsed YAML; any error rejects the whole file."""
    if data is None:
        return Synonyms(), []
    if not isinstance(data, dict):
        return Synonyms(), [_problem(path, None, "must map a word to a list of its variants")]
    mapping: dict[str, str] = {}
    owner: dict[str, str] = {}
    errors: list[ArticleProblem] = []
    warnings: list[ArticleProblem] = []
    for key, value in data.items():
        name = str(key)
        canonical = " ".join(base_terms(name)) if isinstance(key, str) else ""
        variants = [value] if isinstance(value, str) else value
        if not canonical:
            errors.append(_problem(path, name, "the word to map to must contain letters"))
            continue
        if not isinstance(variants, list) or not variants:
            errors.append(_problem(path, name, "must be a non-empty list of variants"))
            continue
        for variant in variants:
            stems = " ".join(base_terms(variant)) if isinstance(variant, str) else ""
            if not stems:
                errors.append(_problem(path, name, f"variant {variant!r} is empty or not text"))
            elif stems == canonical:
                warnings.append(_problem(path, name, f"{variant!r} is the word itself", True))
            elif stems in owner and mapping[stems] != canonical:
                message = f"variant {variant!r} is already a variant of {owner[stems]!r}"
                errors.append(_problem(path, name, message))
            else:
                mapping[stems], owner[stems] = canonical, name
    if errors:
        return Synonyms(), errors + warnings
    return Synonyms(mapping), warnings


def load_synonyms(directory: Path) -> tuple[Synonyms, list[ArticleProblem]]:
    """Read ``synonyms.yaml`` from the article folder; no file means no synonyms."""
    path = Path(directory) / SYNONYMS_FILE
    if not path.is_file():
        return Synonyms(), []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        return Synonyms(), [_problem(path, None, f"cannot read file: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        reason = getattr(exc, "problem", None) or "syntax error"
        return Synonyms(), [_problem(path, None, f"invalid YAML: {reason}{where}")]
    return parse_synonyms(data, path)


def _problem(path: Path, key: str | None, message: str, warning: bool = False) -> ArticleProblem:
    return ArticleProblem(path, key, message, "warning" if warning else "error")
