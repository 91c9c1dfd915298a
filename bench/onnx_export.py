#!/usr/bin/python3
"""Exports torch_peer.py's BERT-base and GPT-2 small models (the same random weights, seed 0)
to ONNX for bench/onnx_peer.mjs, ONNX Runtime's side of scripts/bench.sh:

  onnx_export.py OUT_DIR [--models bert-base gpt2-small] [--lengths 128 512]

One file per model and length (OUT_DIR/NAME-N.onnx, static shapes, opset 14): inputs
input_ids and token_type_ids (int64, [N]); outputs logits (one position, as the engine's
`predict` and torch_peer.py compute them) and attentions, every layer's probabilities stacked
[layers, heads, N, N] — what output_attentions=True returns and what AttnScope records. Beside
each goes NAME-N.json with PyTorch's logits for the ids onnx_peer.mjs feeds (ids 0..N-1 mod the
vocabulary, types 0 then 1 from the middle), so the peer checks it computes the same thing.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import torch_peer  # noqa: E402


class WithAttentions(torch.nn.Module):
    def __init__(self, model, forward):
        super().__init__()
        self.model = model  # registered, so its weights export as initialisers
        self.run = forward

    def forward(self, ids, types):
        attentions, logits = self.run(ids, types)
        return logits, torch.stack(list(attentions))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", nargs="+", default=["bert-base", "gpt2-small"])
    ap.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch_peer.patch_reference()
    for name in args.models:
        family, vocab, model = torch_peer.build(name)
        model.requires_grad_(False)
        module = WithAttentions(model, torch_peer.make_forward(family, model))
        for n in args.lengths:
            path = os.path.join(args.out_dir, f"{name}-{n}.onnx")
            ids = torch.arange(n) % vocab
            types = (torch.arange(n) >= n // 2).long()
            with torch.no_grad():
                logits, attentions = module(ids, types)
                torch.onnx.export(module, (ids, types), path, input_names=["input_ids", "token_type_ids"],
                                  output_names=["logits", "attentions"], opset_version=14, do_constant_folding=True)
            with open(path.removesuffix(".onnx") + ".json", "w") as f:
                json.dump({"n": n, "attentions_shape": list(attentions.shape), "logits": logits.flatten().tolist()}, f)
            print(f"onnx_export: {path} ({os.path.getsize(path) / 1e6:.0f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
