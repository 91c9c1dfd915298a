"""record_with_hooks on tools/reference's models equals `attnscope record` on the same fixtures.

The reference models (float64) run the token ids `attnscope tokenize` gives; hooks on their
attention modules stream each layer into the recording. Both files are read back with
tools/reference/safetensors_io (not the package), and the differences printed at the end.
"""
import json
import unittest

import support
from support import FIXTURES, needs_torch_and_bin, torch

if torch is not None:
    from attnscope_recorder import record_with_hooks
    from attnscope_recorder.tokens import readable

TOLERANCE = 1e-5  # float32 engine vs float64 reference, stored as F32
F16_TOLERANCE = 1e-3  # one F16 step near 1 is 2^-10; the two sides may round 1 step apart
CASES = {  # fixture -> text
    "gpt2": "The quick brown fox jumps over the lazy dog.",
    "bert_base": "the cat sat on the mat",
    "distilbert_mlm": "a dog ran in the park",
    "llama_gqa": "the cat sat on the mat",
    "qwen3_qknorm": "attention heads look back",
    "mistral_sharded_f16": "digits 0123 and words",
}
DIFFS = {}  # "fixture: what" -> max |mine - attnscope's|, printed by tearDownModule


def tearDownModule():
    if DIFFS:
        print("\nmax |recorder - attnscope record|:")
        for what, d in sorted(DIFFS.items()):
            print(f"  {what:45s} {d:.2e}")


def head_dim(cfg):
    heads = cfg.get("num_attention_heads") or cfg.get("n_head") or cfg.get("n_heads")
    return cfg.get("head_dim") or (cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("dim")) // heads


def record_reference(name, text, out, qkv=False, dtype="f32", layers=None):
    """Records fixture `name` on `text` through forward hooks on tools/reference's model."""
    cfg = support.config(name)
    tok = support.tokenize(FIXTURES / name, text)
    byte_level = (FIXTURES / name / "merges.txt").exists()
    model = support.reference_model(name)
    ids = torch.tensor(tok["ids"])
    meta = {"model": name, "family": cfg["model_type"], "text": text, "head_dim": head_dim(cfg),
            "causal": cfg["architectures"][0].endswith(("ForCausalLM", "LMHeadModel"))}
    heads = cfg.get("num_attention_heads") or cfg.get("n_head") or cfg.get("n_heads")
    if cfg.get("num_key_value_heads", heads) != heads:  # written only for grouped-query attention
        meta["num_key_value_heads"] = cfg["num_key_value_heads"]
    record_with_hooks(support.attention_modules(model, name), lambda: model(ids), out,
                      [readable(p, byte_level) for p in tok["tokens"]], probs=support.trace_probs,
                      qkv=support.trace_qkv if qkv else None, layers=layers, num_heads=heads, dtype=dtype,
                      metadata=meta)
    return support.read(out)


@needs_torch_and_bin
class ReferenceModelsTest(support.TempDirTest):
    def compare(self, name, mine, theirs, tolerance, label):
        (a, ma), (b, mb) = mine, theirs
        self.assertLessEqual(set(a), set(b), f"{name}: tensors attnscope did not write")
        for part in sorted({k.split(".")[0] for k in a}):
            names = [k for k in a if k.startswith(part + ".")]
            d = support.max_diff(a, b, names)
            DIFFS[f"{name}: {part} ({label})"] = max(d, DIFFS.get(f"{name}: {part} ({label})", 0.0))
            self.assertLessEqual(d, tolerance, f"{name}: {part}")
        for key in ("tokens", "num_layers", "num_heads", "num_tokens", "head_dim", "family", "causal",
                    "num_key_value_heads", "layers"):
            self.assertEqual(ma.get(key), mb.get(key), f"{name}: metadata '{key}'")

    def test_attention_and_qkv_equal_attnscope_record(self):
        for name, text in CASES.items():
            with self.subTest(name):
                mine = record_reference(name, text, self.dir / f"{name}.mine.safetensors", qkv=True)
                theirs = support.record(FIXTURES / name, text, self.dir / f"{name}.attnscope.safetensors", "--qkv")
                self.compare(name, mine, theirs, TOLERANCE, "f32")
                self.assertEqual(mine[0]["attention.layer0"].dtype, torch.float32)
                support.attnscope("info", "--recording", self.dir / f"{name}.mine.safetensors")

    def test_f16(self):
        for name in ("gpt2", "llama_gqa"):
            with self.subTest(name):
                mine = record_reference(name, CASES[name], self.dir / "mine.safetensors", dtype="f16")
                theirs = support.record(FIXTURES / name, CASES[name], self.dir / "theirs.safetensors", "--dtype", "f16")
                self.assertEqual(mine[0]["attention.layer0"].dtype, torch.float16)
                self.compare(name, mine, theirs, F16_TOLERANCE, "f16")

    def test_layers_subset(self):
        for name, layers, flag in (("gpt2", [1], "1"), ("qwen2_window_yarn", [0, 2], "0,2")):
            with self.subTest(name):
                text = "a window of attention slides along"
                mine = record_reference(name, text, self.dir / "mine.safetensors", layers=layers)
                theirs = support.record(FIXTURES / name, text, self.dir / "theirs.safetensors", "--layers", flag)
                self.assertEqual(sorted(mine[0]), [f"attention.layer{i}" for i in range(len(layers))])
                self.assertEqual(json.loads(mine[1]["layers"]), layers)
                self.compare(name, mine, theirs, TOLERANCE, "--layers")


if __name__ == "__main__":
    unittest.main()
