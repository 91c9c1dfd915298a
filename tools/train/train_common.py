"""Pieces shared by the training scripts: threads, seeding, init, schedule, saving, reload check.

Import this module before torch is imported anywhere: it limits BLAS/OpenMP to one thread
(the machine's two cores are shared with C++ builds) and puts tools/ on sys.path so that
`from reference import gpt2, bert, safetensors_io, tokenizers` works.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

TRAIN_DIR = Path(__file__).resolve().parent
TOOLS_DIR = TRAIN_DIR.parent
REPO_DIR = TOOLS_DIR.parent
MODELS_DIR = REPO_DIR / "resources" / "models"
for _p in (str(TOOLS_DIR), str(TRAIN_DIR)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import torch  # noqa: E402

from reference import safetensors_io  # noqa: E402

_START = time.time()


def log(message):
    print(f"[{time.time() - _START:7.1f}s] {message}", flush=True)


def elapsed():
    return time.time() - _START


def setup(seed):
    """One intra-op thread, deterministic seeds."""
    torch.set_num_threads(1)
    random.seed(seed)
    torch.manual_seed(seed)


def init_weights(model, std=0.02, residual_layers=None):
    """GPT-2/BERT-style init by parameter name: LayerNorm weights 1, biases 0, everything
    else N(0, std). With residual_layers=L, output projections into the residual stream
    (GPT-2's c_proj) get std / sqrt(2L), as in GPT-2."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "ln_" in name or "LayerNorm" in name:
                p.fill_(1.0)
            elif residual_layers and name.endswith("c_proj.weight"):
                p.normal_(0.0, std / math.sqrt(2 * residual_layers))
            else:
                p.normal_(0.0, std)


def cosine_lr(step, total, peak, warmup, floor=0.1):
    """Linear warm-up to `peak`, then cosine decay to floor·peak at `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def adamw(model, lr, weight_decay, betas):
    """AdamW with decay on matrices only (not on biases, LayerNorm, the MLM output bias)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    other = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": other, "weight_decay": 0.0}], lr=lr, betas=betas)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def save_model(folder, model, config):
    """model.safetensors (float32, HF names, tied heads not stored) + config.json."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().float().contiguous() for name, t in model.state_dict().items()}
    size = safetensors_io.write(folder / "model.safetensors", tensors, {"format": "pt"})
    write_json(folder / "config.json", config)
    return size


def reload(folder, family):
    """Pure-PyTorch loader: config.json + model.safetensors into the reference model of
    `family` (reference.gpt2 or reference.bert), strictly (every name and shape must match)."""
    with open(folder / "config.json", encoding="utf-8") as f:
        cfg = json.load(f)
    tensors, _ = safetensors_io.read(folder / "model.safetensors")
    model = family.ARCHITECTURES[cfg["architectures"][0]](cfg)
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def folder_sizes(folder):
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


def report_sizes(folder):
    for name, size in folder_sizes(folder).items():
        log(f"  {folder.name}/{name}: {size:,} bytes")
