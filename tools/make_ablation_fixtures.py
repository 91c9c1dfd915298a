#!/usr/bin/python3
"""Writes the head-intervention golden fixtures in tests/fixtures/ablation/ (see tools/README.md).

    /usr/bin/python3 tools/make_ablation_fixtures.py [--out DIR]

<model>.json for the gpt2 and bert_mlm folders of tests/fixtures/models/: the logits of their
first expected case (its input_ids) with heads changed as tools/reference/common.py's
`intervene` changes them, computed in float64 from the weights as stored:
  zero  — Hugging Face's head_mask (the probabilities multiplied by 0),
  mean  — the head's output (probs @ v) replaced by its mean over the positions,
  patch — the head's output replaced by the same head's output on `clean_ids` (the same ids
          with a few replaced: TransformerLens-style activation patching).
Only some logits rows are kept (`rows`), to keep the files small. Deterministic; the
self-checks at the end must all pass (exit status 1 if not).
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import Checks, load_model  # noqa: E402
from reference import common, safetensors_io  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
DEFAULT_OUT = FIXTURES / "ablation"
MODELS = ("gpt2", "bert_mlm")
# (mode, heads as (layer, head)); both fixture models have 2 layers of 3 heads
CASES = [
    ("zero", [(0, 1)]),
    ("zero", [(0, 0), (1, 2)]),
    ("zero", [(1, 0), (1, 1), (1, 2)]),  # a whole layer
    ("mean", [(1, 1)]),
    ("mean", [(0, 0), (0, 2)]),
    ("patch", [(0, 2)]),
    ("patch", [(0, 1), (1, 0)]),
]


def run(model, ids, type_ids, **change):
    with common.intervene(**change):
        return model(ids, type_ids) if type_ids is not None else model(ids)


def head_mask(cfg, heads):
    layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    n_heads = cfg.get("n_head", cfg.get("num_attention_heads"))
    mask = torch.ones(layers, n_heads, dtype=torch.float64)
    for layer, head in heads:
        mask[layer, head] = 0
    return mask


def fixture(name, checks):
    d = FIXTURES / "models" / name
    cfg = json.loads((d / "config.json").read_text())
    model = load_model(cfg, d)
    tensors, meta = safetensors_io.read(d / "expected" / "single.safetensors")
    ids = tensors["input_ids"].long()
    type_ids = tensors["token_type_ids"].long() if "token_type_ids" in tensors else None
    n = ids.shape[0]
    # the clean input: the same length, every fourth id moved to another word of the vocabulary
    clean_ids = ids.clone()
    vocab = cfg["vocab_size"]
    for i in range(1, n - 1, 4):
        clean_ids[i] = (clean_ids[i] * 7 + 11) % vocab
    rows = sorted({0, n // 2, n - 1} | ({int(m) for m in (ids == 4).nonzero().flatten()} if name.startswith("bert") else set()))

    plain = run(model, ids, type_ids)
    clean = run(model, clean_ids, type_ids)
    cases = []
    for mode, heads in CASES:
        if mode == "zero":
            trace = run(model, ids, type_ids, head_mask=head_mask(cfg, heads))
        elif mode == "mean":
            trace = run(model, ids, type_ids, mean_heads=heads)
        else:
            trace = run(model, ids, type_ids, patch={(l, h): clean.head_outputs[l][h] for l, h in heads})
        change = (trace.logits - plain.logits).abs().max().item()
        checks.add(f"{name}: cases that change no logit by 1e-3 (a test of them could not fail)", float(change < 1e-3), 0.0)
        cases.append({"mode": mode, "heads": [list(h) for h in heads],
                      "logits": [[round(x, 8) for x in trace.logits[r].tolist()] for r in rows]})

    # Self-checks: zero by head_mask = zero outputs; a patch with the head's own output changes
    # nothing; a layer's switched-off head has exactly zero attention.
    zeroed = run(model, ids, type_ids, patch={(0, 1): torch.zeros_like(plain.head_outputs[0][1])})
    masked = run(model, ids, type_ids, head_mask=head_mask(cfg, [(0, 1)]))
    checks.add(f"{name}: head_mask 0 = zero head output", (zeroed.logits - masked.logits).abs().max().item(), 1e-12)
    own = run(model, ids, type_ids, patch={(l, h): plain.head_outputs[l][h] for l in range(2) for h in range(3)})
    checks.add(f"{name}: patching every head with its own output", (own.logits - plain.logits).abs().max().item(), 0.0)
    checks.add(f"{name}: a masked head's attention", masked.attentions[0][1].abs().max().item(), 0.0)

    out = {"model": name, "text": meta.get("text", ""), "input_ids": ids.tolist(), "clean_ids": clean_ids.tolist(), "rows": rows,
           "plain": [[round(x, 8) for x in plain.logits[r].tolist()] for r in rows], "cases": cases}
    if type_ids is not None:
        out["token_type_ids"] = type_ids.tolist()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    checks = Checks()
    for name in MODELS:
        with open(args.out / f"{name}.json", "w", encoding="utf-8") as f:
            json.dump(fixture(name, checks), f, separators=(",", ":"))  # one line: 16 k numbers
            f.write("\n")
    sys.exit(0 if checks.report() else 1)


if __name__ == "__main__":
    main()
