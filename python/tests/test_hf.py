"""record_hf and the command line.

With transformers installed: the fixture folders loaded by transformers itself, recorded by
record_hf and by `python -m attnscope_recorder`, against `attnscope record`. Without it (as on
Debian's python3): the same record_hf code driven through fake_hf's stand-ins, and the command
line's exit status 2.
"""
import contextlib
import json
import os
import subprocess
import sys
import unittest
from unittest import mock

import support
from support import FIXTURES, needs_torch_and_bin, torch

try:
    import transformers
except ImportError:
    transformers = None

if torch is not None:
    import fake_hf
    from attnscope_recorder import RecordingError, hf, record_hf

TOLERANCE = 1e-5
TEXT = "the cat sat on the mat"
NO_TRANSFORMERS = (f"transformers is not importable by {sys.executable}: record_hf is checked through "
                   "fake_hf's stand-ins only (HfStandInTest)")
SAME_KEYS = ("tokens", "special_tokens", "num_layers", "num_heads", "num_tokens", "head_dim", "family", "causal",
             "num_key_value_heads", "task", "text", "model", "sliding_windows", "layers")


class Compare:
    def assert_same_recording(self, mine, theirs, tolerance=TOLERANCE):
        (a, ma), (b, mb) = mine, theirs
        self.assertLessEqual(set(a), set(b))
        self.assertLessEqual(support.max_diff(a, b), tolerance)
        for key in SAME_KEYS:
            self.assertEqual(ma.get(key), mb.get(key), f"metadata '{key}'")
        if "attnscope.predictions" in mb:
            p, q = json.loads(ma["attnscope.predictions"]), json.loads(mb["attnscope.predictions"])
            self.assertEqual((p["task"], p["position"]), (q["task"], q["position"]))
            self.assertEqual([t["id"] for t in p["top"]], [t["id"] for t in q["top"]])
            self.assertEqual([t["label"] for t in p["top"]], [t["label"] for t in q["top"]])
            self.assertLess(max(abs(s["prob"] - t["prob"]) for s, t in zip(p["top"], q["top"])), 1e-5)


@needs_torch_and_bin
class HfStandInTest(support.TempDirTest, Compare):
    """record_hf's own code on transformers-shaped stand-ins (fake_hf.py)."""
    MODELS = {"gpt2": fake_hf.GPT2LMHeadModel, "llama_gqa": fake_hf.LlamaForCausalLM,
              "qwen3_qknorm": fake_hf.LlamaForCausalLM, "qwen2_window_yarn": fake_hf.LlamaForCausalLM} if torch is not None else {}

    def record_both(self, name, *flags, **kwargs):
        model = self.MODELS[name](name)
        with self.assertLogs("attnscope_recorder", "WARNING") as logs:
            record_hf(model, fake_hf.GPT2Tokenizer(name), TEXT, self.dir / "mine.safetensors", **kwargs)
        self.assertEqual(model.config._attn_implementation, "sdpa", "the implementation is switched back")
        theirs = support.record(FIXTURES / name, TEXT, self.dir / "theirs.safetensors", *flags)
        return support.read(self.dir / "mine.safetensors"), theirs, logs.output

    def test_attention_qkv_metadata_and_predictions_equal_attnscope_record(self):
        for name in self.MODELS:
            with self.subTest(name):
                mine, theirs, logs = self.record_both(name, "--qkv", qkv=True)
                self.assertIn("switching to 'eager'", logs[0])
                layers = int(mine[1]["num_layers"])
                self.assertEqual({k for k in mine[0] if k.startswith("query")}, {f"query.layer{i}" for i in range(layers)})
                self.assert_same_recording(mine, theirs)

    def test_one_run_without_output_attentions_when_the_modules_return_weights_unasked(self):
        model = fake_hf.LlamaForCausalLM("llama_gqa")
        with self.assertLogs("attnscope_recorder", "WARNING"):  # the switch to eager
            record_hf(model, fake_hf.GPT2Tokenizer("llama_gqa"), TEXT, self.dir / "mine.safetensors")
        self.assertEqual(model.calls, [False], "the model need not keep every layer's weights")

    def test_older_transformers_giving_weights_only_when_asked(self):
        for name in ("gpt2", "qwen3_qknorm"):
            with self.subTest(name):
                model = self.MODELS[name](name)
                model.config._attn_implementation = "eager"
                model.config.weights_only_when_asked = True
                record_hf(model, fake_hf.GPT2Tokenizer(name), TEXT, self.dir / "mine.safetensors", qkv=True)
                self.assertEqual(model.calls, [False, True], "stopped at the first layer, then asked")
                theirs = support.record(FIXTURES / name, TEXT, self.dir / "theirs.safetensors", "--qkv")
                self.assert_same_recording(support.read(self.dir / "mine.safetensors"), theirs)

    def test_f16_and_a_layer_subset(self):
        mine, theirs, _ = self.record_both("llama_gqa", "--dtype", "f16", "--layers", "1", dtype="f16", layers="1")
        self.assertEqual(sorted(mine[0]), ["attention.layer0"])
        self.assertEqual(mine[0]["attention.layer0"].dtype, torch.float16)
        self.assert_same_recording(mine, theirs, tolerance=1e-3)

    def test_modules_not_matched_to_layers_fall_back_to_the_returned_attentions(self):
        with mock.patch.object(hf, "attention_modules", return_value=None):
            mine, theirs, logs = self.record_both("gpt2")
        self.assertTrue(any("all layers in memory" in line for line in logs))
        self.assert_same_recording(mine, theirs)

    def test_no_weights_at_all_names_the_layers_and_writes_nothing(self):
        model = fake_hf.GPT2LMHeadModel("gpt2")
        with mock.patch.object(hf, "eager_attention", lambda m: mock.MagicMock()):  # stays on "sdpa"
            with self.assertRaisesRegex(RecordingError, r"no attention weights for layers 0-1.*attn_implementation='eager'"):
                record_hf(model, fake_hf.GPT2Tokenizer("gpt2"), TEXT, self.dir / "mine.safetensors")
        self.assertEqual(list(self.dir.iterdir()), [])


@unittest.skipIf(transformers is None, NO_TRANSFORMERS)
@needs_torch_and_bin
class TransformersTest(support.TempDirTest, Compare):
    """The fixture folders as transformers loads them (they are Hugging Face checkpoints)."""

    def test_record_hf_equals_attnscope_record(self):
        for name in ("gpt2", "llama_gqa", "bert_base", "qwen3_qknorm"):
            with self.subTest(name):
                d = FIXTURES / name
                cls = getattr(transformers, support.config(name)["architectures"][0])
                try:  # sdpa where the family has it: record_hf must switch to eager
                    model = cls.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="sdpa")
                except (TypeError, ValueError):
                    model = cls.from_pretrained(d, torch_dtype=torch.float32)
                # The slow tokenizers honour the fixtures' add_bos_token.
                tokenizer = transformers.AutoTokenizer.from_pretrained(d, use_fast=False)
                switch = model.config._attn_implementation != "eager"
                with self.assertLogs("attnscope_recorder", "WARNING") if switch else contextlib.nullcontext():
                    record_hf(model, tokenizer, TEXT, self.dir / "mine.safetensors", qkv=True)
                theirs = support.record(d, TEXT, self.dir / "theirs.safetensors", "--qkv")
                self.assert_same_recording(support.read(self.dir / "mine.safetensors"), theirs)

    def test_command_line(self):
        out = self.dir / "cli.safetensors"
        run = subprocess.run([sys.executable, "-m", "attnscope_recorder", "--model", FIXTURES / "gpt2",
                              "--text", TEXT, "--out", out, "--dtype", "f16", "--layers", "1", "--device", "cpu"],
                             capture_output=True, text=True, env=cli_env())
        self.assertEqual(run.returncode, 0, run.stderr)
        theirs = support.record(FIXTURES / "gpt2", TEXT, self.dir / "theirs.safetensors", "--dtype", "f16",
                                "--layers", "1")
        self.assert_same_recording(support.read(out), theirs, tolerance=1e-3)
        support.attnscope("info", "--recording", out)


def cli_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(support.ROOT / "python"), env.get("PYTHONPATH")]))
    return env


@unittest.skipIf(transformers is not None, "transformers is importable here: TransformersTest runs the command line")
@unittest.skipIf(torch is None, support.NO_TORCH)
class CommandLineWithoutTransformersTest(support.TempDirTest):
    def test_exit_status_2_and_one_line(self):
        out = self.dir / "rec.safetensors"
        run = subprocess.run([sys.executable, "-m", "attnscope_recorder", "--model", FIXTURES / "gpt2",
                              "--text", TEXT, "--out", out], capture_output=True, text=True, env=cli_env())
        self.assertEqual(run.returncode, 2)
        self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
        self.assertIn("needs the 'transformers' package", run.stderr)
        self.assertFalse(out.exists())


if __name__ == "__main__":
    unittest.main()
