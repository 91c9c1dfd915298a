"""Shared by the recorder's tests: the attnscope binary, the fixture models and their reference
implementations (tools/reference/), and an independent safetensors reader.

Tests skip, saying why, when torch is missing or ATTNSCOPE_BIN is unset (run.py turns a
missing torch into CTest's "skipped" exit status).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "models"
for extra in (ROOT / "python", ROOT / "tools"):  # the package, and tools/reference as `reference`
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

try:
    import torch
except ImportError:
    torch = None

BIN = os.environ.get("ATTNSCOPE_BIN")
NO_TORCH = f"torch is not importable by {sys.executable} (Debian: apt-get install python3-torch)"
NO_BIN = "ATTNSCOPE_BIN is not set (the path of the built attnscope binary, e.g. build/app/attnscope)"


def needs_torch(cls):
    return unittest.skipIf(torch is None, NO_TORCH)(cls)


def needs_torch_and_bin(cls):
    return unittest.skipIf(torch is None, NO_TORCH)(unittest.skipIf(not BIN, NO_BIN)(cls))


class TempDirTest(unittest.TestCase):
    """A fresh folder per test, in self.dir."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="attnscope-recorder-")
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()


# --- the attnscope binary ------------------------------------------------------------------

def attnscope(*args, check=True):
    """Runs attnscope; returns the CompletedProcess (text)."""
    run = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and run.returncode != 0:
        raise AssertionError(f"attnscope {' '.join(map(str, args))} exited {run.returncode}: {run.stderr.strip()}")
    return run


def tokenize(model_dir, text):
    """{"ids", "tokens" (vocabulary pieces), "offsets"} from `attnscope tokenize --json`."""
    return json.loads(attnscope("tokenize", "--model", model_dir, "--text", text, "--json").stdout)


def record(model_dir, text, out, *extra):
    attnscope("record", "--model", model_dir, "--text", text, "--out", out, *extra)
    return read(out)


def read(path):
    """(tensors, metadata) by tools/reference/safetensors_io: a reader independent of the package."""
    from reference import safetensors_io
    return safetensors_io.read(path)


def max_diff(a, b, names=None):
    """Largest |a - b| over the tensors `names` (default: all of a's), as float64."""
    names = sorted(a) if names is None else names
    return max((a[k].double() - b[k].double()).abs().max().item() for k in names)


# --- the reference models ------------------------------------------------------------------

# model_type -> (reference module name, class name of its attention module).
FAMILIES = {"gpt2": ("gpt2", "GPT2Attention"), "bert": ("bert", "BertSelfAttention"),
            "distilbert": ("distilbert", "MultiHeadSelfAttention")}
DECODER = ("llama", "Attention")  # llama.py: Llama, Mistral, Qwen 2/3, Gemma 2/3


def config(name):
    return json.loads((FIXTURES / name / "config.json").read_text())


def state_dict(name):
    """The checkpoint on disk (one file or the shards of an index), as stored."""
    d = FIXTURES / name
    index = d / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() \
        else ["model.safetensors"]
    state = {}
    for file in files:
        state.update(read(d / file)[0])
    return state


def reference_model(name, dtype=None):
    """tools/reference's model for fixture `name`, computing in float64 (default)."""
    import importlib
    dtype = dtype or torch.float64
    cfg = config(name)
    module, _ = FAMILIES.get(cfg["model_type"], DECODER)
    ref = importlib.import_module(f"reference.{module}")
    model = ref.ARCHITECTURES[cfg["architectures"][0]](cfg).to(dtype).eval()
    model.load_state_dict({k: v.to(dtype) for k, v in state_dict(name).items()}, strict=True)
    return model


def attention_modules(model, name):
    """The reference model's attention modules, one per layer, in order."""
    _, cls = FAMILIES.get(config(name)["model_type"], DECODER)
    return [m for m in model.modules() if type(m).__name__ == cls]


# The reference attention modules take the run's Trace as their last argument and append the
# layer's tensors to it: a hook reads them from there as soon as the module returns.
def trace_probs(module, args, output):
    return args[-1].attentions[-1]


def trace_qkv(module, args, output):
    trace = args[-1]
    return trace.queries[-1], trace.keys[-1], trace.values[-1]
