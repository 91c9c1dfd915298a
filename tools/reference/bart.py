"""Reference BART (Lewis et al. 2019), BartForConditionalGeneration, with Hugging Face's module
and parameter names and semantics; also the encoder-decoder pieces marian.py and t5.py reuse
(Seq2SeqTrace, DecoderCache, Seq2SeqLM: forward and greedy generation with a key/value cache;
BartLikeLM: the encode/decode Marian shares).

One unbatched sequence: encoder_ids (S,), decoder_ids (T,), activations (S, C) / (T, C), computing
in the parameters' dtype (BART has no float32 islands). A state_dict() is named like the HF
checkpoint that save_pretrained writes: model.shared.weight, final_logits_bias (1, V),
model.{encoder,decoder}.embed_positions.weight (max_position_embeddings + 2, C),
model.{encoder,decoder}.layernorm_embedding.{weight,bias},
model.{encoder,decoder}.layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias},
.self_attn_layer_norm, .fc1, .fc2, .final_layer_norm (.weight, .bias), decoder layers also
.encoder_attn.{q,k,v,out}_proj and .encoder_attn_layer_norm; lm_head.weight only when untied.

Source read: huggingface/transformers at commit 00b676f8f0489b88652a31d70751cc540dd06305 (the
4.5x line; the repository is too large to fetch, so files were read one by one from the stored
index): models/bart/modeling_bart.py; also modeling_bart.py at 57228229d2ee2729f6ee597b4973aefdb39c2b37
(4.4x line, tuple caches), models/bart/configuration_bart.py at cb53d9297d3142eacb1f50bc869c7fdb78a97b59
(defaults), and the alias removal of PreTrainedModel.save_pretrained (modeling_utils.py).

Semantics and where each one comes from:
- Token embeddings (BartScaledWordEmbedding.forward, BartEncoder/BartDecoder/BartModel.__init__):
  embedding(ids) * embed_scale, embed_scale = sqrt(d_model) if scale_embedding else 1.0 (a Python
  float); encoder and decoder use model.shared's weight.
- Positions (BartLearnedPositionalEmbedding): a learned table of max_position_embeddings + 2 rows;
  position p (the decoder's cache_position, so generation step t reads row t + 2) reads row p + 2.
  Rows 0 and 1 are never read (fairseq's padding offset).
- layernorm_embedding after tokens + positions, in both stacks. Every LayerNorm is
  nn.LayerNorm(d_model): eps 1e-5.
- Post-norm layers (BartEncoderLayer / BartDecoderLayer.forward): x = self_attn_layer_norm(x +
  self_attn(x)); decoder: x = encoder_attn_layer_norm(x + encoder_attn(x, encoder output));
  x = final_layer_norm(x + fc2(act(fc1(x)))), act = ACT2FN[activation_function]. BartConfig has
  no normalize_before / add_final_layer_norm: old config.json files carry them (bart-base:
  "normalize_before": false) and HF ignores them. No final LayerNorm after the stacks (mBART has).
- Attention (BartAttention.forward, eager_attention_forward): q, k, v, out projections with
  biases, head_dim = d_model / heads (encoder_attention_heads, decoder_attention_heads for both
  decoder attentions); weights = (q·kᵀ) * head_dim**-0.5, + mask, softmax in the input dtype.
  The 4.4x line scaled q before the product instead (q_proj(x) * scaling, bias included):
  the same function, different rounding in the last bit.
- Masks: decoder self-attention is causal (_prepare_4d_causal_attention_mask_with_cache_position:
  key j is masked for query position i when j > i; finfo.min added, so masked weights are
  exactly 0 — here masked_fill(-inf), same probabilities). Cross-attention is not masked. The
  encoder padding mask is all ones for one sequence without padding, so it is not applied.
- Cache (EncoderDecoderCache, BartAttention.forward): each decoder layer appends its new
  self-attention keys/values; the cross-attention keys/values are projected from the encoder
  output on the first decoder call (is_updated) and reused at every later step.
- Head (BartForConditionalGeneration.forward): logits = lm_head(h) + final_logits_bias, lm_head
  tied to model.shared when tie_word_embeddings (PretrainedConfig default True); final_logits_bias
  is a persistent (1, V) buffer, saved in checkpoints.
- hidden_states: encoder/decoder: [after layernorm_embedding, output of each layer] (L + 1).
- Generation starts the decoder with decoder_start_token_id (BartConfig default 2, = eos).
  generate() here is plain greedy: HF's logits processors (forced_bos_token_id,
  forced_eos_token_id, bad_words_ids, min_length, ...) are not applied.
- Checkpoint names: save_pretrained drops aliases listed in _tied_weights_keys
  ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight") and keeps
  model.shared.weight. Older .bin files may hold every alias, and some checkpoints hold the
  embedding only under model.decoder.embed_tokens.weight (BartModel._tie_weights, issue #36247):
  a loader should accept any of them.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn

from .common import ACTIVATIONS, LayerNorm, merge_heads, split_heads


def silu(x):
    """HF "silu" / "swish": x · sigmoid(x)."""
    return x * torch.sigmoid(x)


def act_fn(name):
    """ACT2FN[name] for the names these configs use."""
    table = {**ACTIVATIONS, "silu": silu, "swish": silu}
    if name not in table:
        raise ValueError(f"unsupported activation_function '{name}' (known: {sorted(table)})")
    return table[name]


def config(vocab_size, d_model, layers, heads, ffn_dim, max_positions=64, **overrides):
    """A Hugging Face BartConfig dict (as written to config.json), BartConfig's defaults."""
    cfg = {
        "activation_dropout": 0.0, "activation_function": "gelu", "architectures": ["BartForConditionalGeneration"],
        "attention_dropout": 0.0, "bos_token_id": 0, "classifier_dropout": 0.0, "d_model": d_model,
        "decoder_attention_heads": heads, "decoder_ffn_dim": ffn_dim, "decoder_layerdrop": 0.0,
        "decoder_layers": layers, "decoder_start_token_id": 2, "dropout": 0.1,
        "encoder_attention_heads": heads, "encoder_ffn_dim": ffn_dim, "encoder_layerdrop": 0.0,
        "encoder_layers": layers, "eos_token_id": 2, "forced_eos_token_id": 2, "init_std": 0.02,
        "is_encoder_decoder": True, "max_position_embeddings": max_positions, "model_type": "bart",
        "num_hidden_layers": layers, "pad_token_id": 1, "scale_embedding": False,
        "torch_dtype": "float32", "use_cache": True, "vocab_size": vocab_size,
    }
    cfg.update(overrides)
    return cfg


@dataclass
class Seq2SeqTrace:
    """What an encoder-decoder forward records, as HF returns it with output_attentions=True."""
    encoder_attentions: List[torch.Tensor] = field(default_factory=list)  # per layer (H, S, S)
    decoder_attentions: List[torch.Tensor] = field(default_factory=list)  # per layer (H, T, T), future exactly 0
    cross_attentions: List[torch.Tensor] = field(default_factory=list)  # per layer (H, T, S)
    encoder_hidden_states: List[torch.Tensor] = field(default_factory=list)  # L_enc + 1 entries (S, C)
    decoder_hidden_states: List[torch.Tensor] = field(default_factory=list)  # L_dec + 1 entries (T, C)
    logits: Optional[torch.Tensor] = None  # (T, V)
    extras: Dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. T5's position biases


class DecoderCache:
    """HF's EncoderDecoderCache for one sequence: per decoder layer, the self-attention keys and
    values so far (H, t, d) and the cross-attention keys and values (H, S, d), projected once."""

    def __init__(self):
        self.length = 0  # decoder positions already cached
        self.self_kv: Dict[int, tuple] = {}
        self.cross_kv: Dict[int, tuple] = {}

    def extend(self, layer, k, v):
        if layer in self.self_kv:
            k0, v0 = self.self_kv[layer]
            k, v = torch.cat([k0, k], dim=1), torch.cat([v0, v], dim=1)
        self.self_kv[layer] = (k, v)
        return k, v

    def cross(self, layer, project):
        if layer not in self.cross_kv:
            self.cross_kv[layer] = project()
        return self.cross_kv[layer]


def future_mask(t, total, start):
    """Bool (t, total), True where query start+i may NOT see key j (j > start + i)."""
    return torch.arange(total)[None, :] > torch.arange(start, start + t)[:, None]


class Seq2SeqLM(nn.Module):
    """forward and greedy generate, shared by the families: a subclass defines
    encode(encoder_ids, trace) -> (S, C) and decode(ids, encoder_hidden, cache, trace) -> logits."""

    def start_token_id(self):
        return self.cfg["decoder_start_token_id"]

    def forward(self, encoder_ids, decoder_ids):
        """encoder_ids (S,), decoder_ids (T,) int. Returns a Seq2SeqTrace with logits (T, V)."""
        trace = Seq2SeqTrace()
        encoder_hidden = self.encode(encoder_ids, trace)
        trace.logits = self.decode(decoder_ids, encoder_hidden, DecoderCache(), trace)
        return trace

    @torch.no_grad()
    def generate(self, encoder_ids, max_new_tokens, stop_at_eos=True):
        """Greedy search with a DecoderCache, one decoder token per step (HF GenerationMixin,
        greedy, no logits processors). Returns (ids (n + 1,) = start token and the n generated
        ones, Seq2SeqTrace of the n steps with attentions laid out as a full run on ids[:-1]:
        decoder (H, n, n) with zeros in the future, cross (H, n, S), logits (n, V))."""
        trace, steps = Seq2SeqTrace(), []
        encoder_hidden = self.encode(encoder_ids, trace)
        cache, ids = DecoderCache(), [self.start_token_id()]
        for _ in range(max_new_tokens):
            step = Seq2SeqTrace()
            step.logits = self.decode(torch.tensor([ids[-1]]), encoder_hidden, cache, step)
            steps.append(step)
            ids.append(int(step.logits[0].argmax()))
            if stop_at_eos and ids[-1] == self.cfg.get("eos_token_id"):
                break
        n = len(steps)
        trace.logits = torch.cat([s.logits for s in steps])
        for l in range(len(steps[0].decoder_attentions)):
            rows = [s.decoder_attentions[l] for s in steps]  # (H, 1, t + 1)
            full = rows[0].new_zeros(rows[0].shape[0], n, n)
            for t, row in enumerate(rows):
                full[:, t, :t + 1] = row[:, 0]
            trace.decoder_attentions.append(full)
            trace.cross_attentions.append(torch.cat([s.cross_attentions[l] for s in steps], dim=1))
        for i in range(len(steps[0].decoder_hidden_states)):
            trace.decoder_hidden_states.append(torch.cat([s.decoder_hidden_states[i] for s in steps]))
        return torch.tensor(ids), trace


class BartAttention(nn.Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not a multiple of the heads {num_heads}")
        self.num_heads, self.scaling = num_heads, (d_model // num_heads) ** -0.5
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.q_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def kv(self, h):
        """Keys and values (H, N, d) of the states attended to."""
        return split_heads(self.k_proj(h), self.num_heads), split_heads(self.v_proj(h), self.num_heads)

    def forward(self, x, k, v, causal_start=None):
        """x (t, C) queries; k, v (H, n, d). causal_start: decoder position of x[0] (self-attention),
        None for no mask. Returns the output (t, C) and the probabilities (H, t, n)."""
        q = split_heads(self.q_proj(x), self.num_heads)
        scores = (q @ k.transpose(-1, -2)) * self.scaling
        if causal_start is not None:
            scores = scores.masked_fill(future_mask(x.shape[0], k.shape[1], causal_start), float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        return self.out_proj(merge_heads(probs @ v)), probs


class BartEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, f = cfg["d_model"], cfg["encoder_ffn_dim"]
        self.self_attn = BartAttention(c, cfg["encoder_attention_heads"])
        self.self_attn_layer_norm = LayerNorm(c, 1e-5)
        self.fc1, self.fc2 = nn.Linear(c, f), nn.Linear(f, c)
        self.final_layer_norm = LayerNorm(c, 1e-5)
        self.act = act_fn(cfg["activation_function"])

    def forward(self, x, trace):
        a, probs = self.self_attn(x, *self.self_attn.kv(x))
        trace.encoder_attentions.append(probs)
        x = self.self_attn_layer_norm(x + a)
        return self.final_layer_norm(x + self.fc2(self.act(self.fc1(x))))


class BartDecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        c, f, h = cfg["d_model"], cfg["decoder_ffn_dim"], cfg["decoder_attention_heads"]
        self.layer_idx = layer_idx
        self.self_attn = BartAttention(c, h)
        self.self_attn_layer_norm = LayerNorm(c, 1e-5)
        self.encoder_attn = BartAttention(c, h)
        self.encoder_attn_layer_norm = LayerNorm(c, 1e-5)
        self.fc1, self.fc2 = nn.Linear(c, f), nn.Linear(f, c)
        self.final_layer_norm = LayerNorm(c, 1e-5)
        self.act = act_fn(cfg["activation_function"])

    def forward(self, x, encoder_hidden, cache, trace):
        k, v = cache.extend(self.layer_idx, *self.self_attn.kv(x))
        a, probs = self.self_attn(x, k, v, causal_start=cache.length)
        trace.decoder_attentions.append(probs)
        x = self.self_attn_layer_norm(x + a)
        k, v = cache.cross(self.layer_idx, lambda: self.encoder_attn.kv(encoder_hidden))
        a, probs = self.encoder_attn(x, k, v)
        trace.cross_attentions.append(probs)
        x = self.encoder_attn_layer_norm(x + a)
        return self.final_layer_norm(x + self.fc2(self.act(self.fc1(x))))


class BartStack(nn.Module):
    """BartEncoder / BartDecoder without embed_tokens (model.shared is passed in)."""

    def __init__(self, cfg, decoder):
        super().__init__()
        c = cfg["d_model"]
        self.embed_scale = math.sqrt(c) if cfg.get("scale_embedding", False) else 1.0
        self.embed_positions = nn.Embedding(cfg["max_position_embeddings"] + 2, c)  # offset 2
        n = cfg["decoder_layers"] if decoder else cfg["encoder_layers"]
        self.layers = nn.ModuleList(BartDecoderLayer(cfg, i) if decoder else BartEncoderLayer(cfg)
                                    for i in range(n))
        self.layernorm_embedding = LayerNorm(c, 1e-5)

    def embed(self, ids, shared, start=0):
        positions = torch.arange(start, start + ids.shape[0]) + 2
        return self.layernorm_embedding(shared[ids] * self.embed_scale + self.embed_positions.weight[positions])


class BartModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = BartStack(cfg, decoder=False)
        self.decoder = BartStack(cfg, decoder=True)

    def encoder_table(self):
        return self.shared.weight

    def decoder_table(self):
        return self.shared.weight


class BartLikeLM(Seq2SeqLM):
    """The encode/decode of BART and Marian (whose layers are BART's): self.model has .encoder and
    .decoder stacks with embed(ids, table[, start]) and .layers, and encoder_table() /
    decoder_table(); the tied head is the decoder's table."""

    def encode(self, encoder_ids, trace):
        enc = self.model.encoder
        x = enc.embed(encoder_ids, self.model.encoder_table())
        for layer in enc.layers:
            trace.encoder_hidden_states.append(x)
            x = layer(x, trace)
        trace.encoder_hidden_states.append(x)
        return x

    def decode(self, decoder_ids, encoder_hidden, cache, trace):
        """decoder_ids (t,) at positions cache.length .. + t - 1; fills the cache. Returns logits (t, V)."""
        dec = self.model.decoder
        x = dec.embed(decoder_ids, self.model.decoder_table(), cache.length)
        for layer in dec.layers:
            trace.decoder_hidden_states.append(x)
            x = layer(x, encoder_hidden, cache, trace)
        trace.decoder_hidden_states.append(x)
        cache.length += decoder_ids.shape[0]
        head = self.model.decoder_table() if self.tied else self.lm_head.weight
        return x @ head.T + self.final_logits_bias


class BartForConditionalGeneration(BartLikeLM):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = BartModel(cfg)
        self.register_buffer("final_logits_bias", torch.zeros(1, cfg["vocab_size"]))
        self.tied = bool(cfg.get("tie_word_embeddings", True))
        self.lm_head = None if self.tied else nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)


ARCHITECTURES = {"BartForConditionalGeneration": BartForConditionalGeneration}
