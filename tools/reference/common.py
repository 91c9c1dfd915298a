"""Pieces shared by the reference models: ops written from their formulas, and `Trace`.

All models here run one unbatched sequence: input_ids is a 1-D tensor of N ids, activations
are (N, C). They compute in the dtype of their parameters (make_fixtures.py uses float64).
"""
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn


@dataclass
class Trace:
    """Everything a forward pass records, in Hugging Face's conventions."""
    attentions: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, N)
    scores: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, N), Q·Kᵀ/√d, unmasked
    queries: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, d_head)
    keys: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, d_head)
    values: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, d_head)
    hidden_states: List[torch.Tensor] = field(default_factory=list)  # L + 1 entries (N, C)
    logits: Optional[torch.Tensor] = None  # (N, V) for LM heads, (num_labels,) for classifiers
    extras: Dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. pooler_output (C,)
    head_outputs: List[torch.Tensor] = field(default_factory=list)  # per layer (H, N, d_head): probs @ v


# What attention() changes while an `intervene` block is open (None: nothing).
_intervention = None


@contextmanager
def intervene(head_mask=None, mean_heads=(), patch=None):
    """Inside the block, attention() changes heads as an experiment would:

    head_mask (L, H): Hugging Face's head_mask, multiplying each head's probabilities (after the
    softmax) — 0 switches a head off; mean_heads: (layer, head) pairs whose output (probs @ v,
    TransformerLens' hook_z) becomes its mean over the positions; patch: {(layer, head): (N, d)}
    outputs put in place of the head's own (activation patching from a clean run's
    trace.head_outputs). Layers count the calls to attention() in the block's forward pass.
    """
    global _intervention
    _intervention = {"head_mask": head_mask, "mean": set(mean_heads), "patch": dict(patch or {})}
    try:
        yield
    finally:
        _intervention = None


def layer_norm(x, weight, bias, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, biased variance."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def gelu_erf(x):
    """Exact GELU, HF "gelu": x·Φ(x)."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    """Tanh approximation of GELU, HF "gelu_new" (GPT-2)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = {
    "gelu": gelu_erf,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "relu": torch.relu,
}


def activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"unsupported activation '{name}' (known: {sorted(ACTIVATIONS)})")
    return ACTIVATIONS[name]


class LayerNorm(nn.Module):
    """LayerNorm with HF's parameter names (weight, bias)."""

    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.eps = eps

    def forward(self, x):
        return layer_norm(x, self.weight, self.bias, self.eps)


def split_heads(x, n_heads):
    """(N, C) -> (H, N, C / H)."""
    n, c = x.shape
    return x.reshape(n, n_heads, c // n_heads).transpose(0, 1)


def merge_heads(x):
    """(H, N, d) -> (N, H·d)."""
    h, n, d = x.shape
    return x.transpose(0, 1).reshape(n, h * d)


def attention(q, k, v, causal, trace):
    """Scaled dot-product attention over heads; records q/k/v, raw scores and probabilities.

    q, k, v: (H, N, d). Returns the merged context (N, H·d).
    """
    d = q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (H, N, N), before any mask
    masked = scores
    if causal:
        masked = scores.masked_fill(causal_mask(scores.shape[-1]), float("-inf"))
    probs = torch.exp(masked - masked.amax(-1, keepdim=True))
    probs = probs / probs.sum(-1, keepdim=True)
    trace.queries.append(q)
    trace.keys.append(k)
    trace.values.append(v)
    trace.scores.append(scores)
    layer = len(trace.attentions)
    change = _intervention
    if change and change["head_mask"] is not None:
        probs = probs * change["head_mask"][layer].to(probs.dtype)[:, None, None]
    trace.attentions.append(probs)
    z = probs @ v  # (H, N, d)
    if change:
        z = z.clone()
        for h in range(z.shape[0]):
            if (layer, h) in change["mean"]:
                z[h] = z[h].mean(0, keepdim=True).expand_as(z[h])
            if (layer, h) in change["patch"]:
                z[h] = change["patch"][(layer, h)]
    trace.head_outputs.append(z)
    return merge_heads(z)


def causal_mask(n):
    """Bool (N, N), True where attention is forbidden (future positions)."""
    return torch.ones(n, n, dtype=torch.bool).triu(1)
