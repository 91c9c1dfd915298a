"""Reference GPT-2 (Radford et al. 2019), with Hugging Face's module and parameter names.

Pre-LN decoder: x = x + c_proj(Attn(ln_1(x))); x = x + mlp(ln_2(x)); final ln_f.
Linear maps are HF "Conv1D": weight (in, out), y = x @ W + b. Causal self-attention
scaled by 1/sqrt(d_head), "gelu_new" MLP. lm_head is tied to wte and not a parameter.
hidden_states follow HF: [embeddings, block 1 .. block L-1 outputs, ln_f(block L output)].
"""
import torch
from torch import nn

from .common import LayerNorm, Trace, activation, attention, split_heads


def config(vocab_size, n_embd, n_layer, n_head, n_positions=64, eos_token_id=None,
           torch_dtype="float32"):
    """A Hugging Face GPT2Config dict (as written to config.json)."""
    eos = vocab_size - 1 if eos_token_id is None else eos_token_id
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": eos,
        "embd_pdrop": 0.1,
        "eos_token_id": eos,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": n_positions,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_inner": None,
        "n_layer": n_layer,
        "n_positions": n_positions,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "torch_dtype": torch_dtype,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


class Conv1D(nn.Module):
    """HF's Conv1D: a linear map stored transposed, weight (in, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class GPT2Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        self.n_head = cfg["n_head"]
        self.c_attn = Conv1D(c, 3 * c)  # columns [q | k | v]
        self.c_proj = Conv1D(c, c)

    def forward(self, x, trace):
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).chunk(3, dim=-1))
        return self.c_proj(attention(q, k, v, causal=True, trace=trace))


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        inner = cfg.get("n_inner") or 4 * c
        self.c_fc = Conv1D(c, inner)
        self.c_proj = Conv1D(inner, c)
        self.act = activation(cfg["activation_function"])

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.ln_1 = LayerNorm(c, eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = LayerNorm(c, eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x, trace):
        x = x + self.attn(self.ln_1(x), trace)
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = LayerNorm(cfg["n_embd"], cfg["layer_norm_epsilon"])

    def forward(self, input_ids):
        """input_ids: (N,) int. Returns a Trace (no logits)."""
        trace = Trace()
        positions = torch.arange(input_ids.shape[0])
        x = self.wte.weight[input_ids] + self.wpe.weight[positions]
        for block in self.h:
            trace.hidden_states.append(x)
            x = block(x, trace)
        trace.hidden_states.append(self.ln_f(x))  # HF: the last entry is after ln_f
        return trace


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = GPT2Model(cfg)

    def forward(self, input_ids):
        trace = self.transformer(input_ids)
        trace.logits = trace.hidden_states[-1] @ self.transformer.wte.weight.T  # (N, V), tied
        return trace


ARCHITECTURES = {"GPT2LMHeadModel": GPT2LMHeadModel}
