"""Stand-ins for Hugging Face transformers classes, to drive record_hf where transformers is not
installed: the fixture models run by tools/reference's layers, behind transformers' interfaces.

What they imitate (transformers 4.4x-4.5x): a `config` with model_type, sizes, architectures,
`_attn_implementation` ("sdpa" by default: the attention modules then return no weights);
attention modules named *Attention returning (attn_output, attn_weights [1, H, N, N]) — in eager
mode always (transformers >= 4.48), or only when output_attentions is set when the config's
`weights_only_when_asked` is (older versions); GPT-2's
fused c_attn; Llama's q_proj/k_proj/v_proj, q/k norm and a module-level apply_rotary_pos_emb;
`model(input_ids, output_attentions=True, return_dict=True)` returning logits [1, N, V] and the
attentions tuple; a slow GPT2Tokenizer (byte_decoder, convert_ids_to_tokens, all_special_ids).
The token ids come from `attnscope tokenize`, so both sides see the same input.
"""
import json
import math
from types import SimpleNamespace

import torch
from torch import nn

import support
from attnscope_recorder.tokens import readable
from reference import gpt2 as ref_gpt2
from reference import llama as ref_llama
from reference import rope as ref_rope
from reference.common import causal_mask, merge_heads, split_heads


def make_config(name, **sizes):
    cfg = support.config(name)
    return SimpleNamespace(model_type=cfg["model_type"], architectures=cfg["architectures"],
                           _attn_implementation="sdpa", _name_or_path=str(support.FIXTURES / name),
                           is_encoder_decoder=False, is_decoder=False, weights_only_when_asked=False, **sizes)


def weights_returned(config, probs, asked):
    """sdpa: none; eager: always, or (older transformers) when output_attentions asks."""
    eager = config._attn_implementation == "eager"
    return probs if eager and (asked or not config.weights_only_when_asked) else None


# --- GPT-2 ---------------------------------------------------------------------------------

class GPT2Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config, c = config, config.hidden_size
        self.c_attn = ref_gpt2.Conv1D(c, 3 * c)
        self.c_proj = ref_gpt2.Conv1D(c, c)

    def forward(self, hidden_states, output_attentions=False):  # (1, N, C)
        q, k, v = (split_heads(t, self.config.num_attention_heads) for t in self.c_attn(hidden_states)[0].chunk(3, -1))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(causal_mask(q.shape[1]), float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        return self.c_proj(merge_heads(probs @ v))[None], weights_returned(self.config, probs[None], output_attentions)


class GPT2Block(nn.Module):
    def __init__(self, cfg, config):
        super().__init__()
        self.ln_1 = ref_gpt2.LayerNorm(cfg["n_embd"], cfg["layer_norm_epsilon"])
        self.attn = GPT2Attention(config)
        self.ln_2 = ref_gpt2.LayerNorm(cfg["n_embd"], cfg["layer_norm_epsilon"])
        self.mlp = ref_gpt2.GPT2MLP(cfg)


class GPT2LMHeadModel(nn.Module):
    device = torch.device("cpu")

    def __init__(self, name):
        super().__init__()
        cfg = support.config(name)
        self.config = make_config(name, num_hidden_layers=cfg["n_layer"], num_attention_heads=cfg["n_head"],
                                  hidden_size=cfg["n_embd"])
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.transformer.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.transformer.h = nn.ModuleList(GPT2Block(cfg, self.config) for _ in range(cfg["n_layer"]))
        self.transformer.ln_f = ref_gpt2.LayerNorm(cfg["n_embd"], cfg["layer_norm_epsilon"])
        self.load_state_dict({k: v.double() for k, v in support.state_dict(name).items()}, strict=True)
        self.double().eval()
        self.calls = []  # output_attentions of each forward call

    def forward(self, input_ids, attention_mask=None, output_attentions=False, return_dict=True):
        self.calls.append(output_attentions)
        t, ids = self.transformer, input_ids[0]
        x = t.wte.weight[ids] + t.wpe.weight[torch.arange(len(ids))]
        weights = []
        for block in t.h:
            a, w = block.attn(block.ln_1(x)[None], output_attentions)
            x = x + a[0]
            x = x + block.mlp(block.ln_2(x))
            weights.append(w)
        logits = t.ln_f(x) @ t.wte.weight.T
        return SimpleNamespace(logits=logits[None], attentions=tuple(weights) if output_attentions else None)


# --- Llama / Qwen --------------------------------------------------------------------------

def apply_rotary_pos_emb(q, k, cos, sin):
    """As in transformers' modeling_llama.py: looked up by name when the attention runs."""
    return ref_rope.apply(q, cos, sin), ref_rope.apply(k, cos, sin)


class LlamaAttention(ref_llama.Attention):
    """tools/reference's parameters (q_proj …, q_norm, k_norm), transformers' forward."""

    def forward(self, hidden_states, cos, sin, output_attentions=False):  # (1, N, C)
        n, h, kv, d = hidden_states.shape[1], self.num_heads, self.num_kv_heads, self.head_dim
        q = self.q_proj(hidden_states).view(1, n, h, d).transpose(1, 2)  # (1, H, N, d)
        k = self.k_proj(hidden_states).view(1, n, kv, d).transpose(1, 2)  # (1, KV, N, d)
        v = self.v_proj(hidden_states).view(1, n, kv, d).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        k, v = k.repeat_interleave(h // kv, dim=1), v.repeat_interleave(h // kv, dim=1)
        scores = (q @ k.transpose(-1, -2)) * self.scaling
        probs = torch.softmax(scores.masked_fill(ref_llama.forbidden_mask(n, self.window), float("-inf")).float(),
                              dim=-1).to(q.dtype)
        out = self.o_proj((probs @ v).transpose(1, 2).reshape(1, n, h * d))
        return out, weights_returned(self.config, probs, output_attentions)


class LlamaForCausalLM(nn.Module):
    """Llama, Mistral, Qwen 2/3 (not Gemma's sandwich norms)."""
    device = torch.device("cpu")

    def __init__(self, name):
        super().__init__()
        cfg = support.config(name)
        assert not cfg["model_type"].startswith("gemma")
        self.config = make_config(name, num_hidden_layers=cfg["num_hidden_layers"],
                                  num_attention_heads=cfg["num_attention_heads"], hidden_size=cfg["hidden_size"],
                                  head_dim=ref_llama.head_dim_of(cfg), num_key_value_heads=cfg["num_key_value_heads"],
                                  rope_theta=cfg.get("rope_theta"), sliding_window=cfg.get("sliding_window"),
                                  use_sliding_window=cfg.get("use_sliding_window", True), layer_types=cfg.get("layer_types"))
        self.model = ref_llama.DecoderModel(cfg)
        for i, layer in enumerate(self.model.layers):
            layer.self_attn = LlamaAttention(cfg, i)
            layer.self_attn.config = self.config
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        self.lm_head = None if self.tied else ref_llama.Linear(cfg["hidden_size"], cfg["vocab_size"], False)
        self.load_state_dict({k: v.double() for k, v in support.state_dict(name).items()}, strict=True)
        self.double().eval()
        self.calls = []  # output_attentions of each forward call

    def forward(self, input_ids, attention_mask=None, output_attentions=False, return_dict=True):
        self.calls.append(output_attentions)
        m, ids = self.model, input_ids[0]
        x = m.embed_tokens.weight[ids]
        cos, sin = m.rotary(len(ids), x.dtype)
        weights = []
        for layer in m.layers:
            a, w = layer.self_attn(layer.input_layernorm(x)[None], cos, sin, output_attentions)
            x = x + a[0]
            x = x + layer.mlp(layer.post_attention_layernorm(x))
            weights.append(w)
        head = m.embed_tokens.weight if self.tied else self.lm_head.weight
        logits = m.norm(x) @ head.T
        return SimpleNamespace(logits=logits[None], attentions=tuple(weights) if output_attentions else None)


# --- the tokenizer -------------------------------------------------------------------------

class GPT2Tokenizer:
    """A slow byte-level BPE tokenizer's interface; encoding is attnscope's (`tokenize`)."""
    byte_decoder = True  # marks a byte-level vocabulary, as transformers' GPT2Tokenizer has one
    mask_token_id = None

    def __init__(self, name):
        self.dir = support.FIXTURES / name
        vocab = json.loads((self.dir / "vocab.json").read_text(encoding="utf-8"))
        self.pieces = {i: p for p, i in vocab.items()}
        tc = json.loads((self.dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.all_special_ids = sorted({vocab[tc[k]] for k in ("bos_token", "eos_token", "unk_token") if tc.get(k) in vocab})

    def __call__(self, text, pair=None, return_tensors=None):
        return {"input_ids": torch.tensor([support.tokenize(self.dir, text)["ids"]])}

    def convert_ids_to_tokens(self, ids):
        return self.pieces[ids] if isinstance(ids, int) else [self.pieces[i] for i in ids]

    def decode(self, ids):
        return readable("".join(self.pieces[i] for i in ids), byte_level=True)
