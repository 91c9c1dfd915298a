"""Reference T5 (Raffel et al. 2020), T5ForConditionalGeneration, v1.0 (ReLU, tied head) and
v1.1 / Flan-T5 (gated-gelu, untied head), with Hugging Face's module and parameter names and
semantics.

One unbatched sequence, computing in the parameters' dtype except where HF upcasts to float32
(T5LayerNorm's variance, the attention softmax, the bucket logarithm). A state_dict() is named
like the checkpoint save_pretrained writes: shared.weight,
{encoder,decoder}.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight,
{encoder,decoder}.block.0.layer.0.SelfAttention.relative_attention_bias.weight (block 0 only),
.layer.0.layer_norm.weight; decoder blocks: .layer.1.EncDecAttention.{q,k,v,o}.weight,
.layer.1.layer_norm.weight, feed-forward in layer 2 (layer 1 in the encoder):
.DenseReluDense.{wi | wi_0, wi_1}.weight, .DenseReluDense.wo.weight, .layer_norm.weight;
{encoder,decoder}.final_layer_norm.weight; lm_head.weight only when untied. No biases anywhere.

Source read: huggingface/transformers at commit 00b676f8f0489b88652a31d70751cc540dd06305 (the
4.5x line, read from the stored index): models/t5/modeling_t5.py; also modeling_t5.py at
6b8b757dfcb582379a64f013cdce46c43629f2b0 (same semantics, older cache code) and
models/t5/configuration_t5.py at 038869d4d54db478c18dbe58a02aefc67f62beb0.

Semantics and where each one comes from:
- T5LayerNorm.forward (RMS): variance = mean(x.to(float32)²), float32 even in a float64 run;
  x * rsqrt(variance + layer_norm_epsilon); cast to the weight dtype only if that is f16/bf16;
  times weight. No mean, no bias.
- Pre-norm blocks (T5LayerSelfAttention / T5LayerCrossAttention / T5LayerFF.forward):
  x += SelfAttention(layer_norm(x)); decoder: x += EncDecAttention(layer_norm(x), encoder output);
  x += DenseReluDense(layer_norm(x)). Each stack ends with final_layer_norm (T5Stack.forward); the
  encoder output the cross-attention projects is after it (last_hidden_state).
- Attention (T5Attention.forward): q, k, v, o without bias, inner_dim = num_heads * d_kv (d_kv
  need not be d_model / num_heads); scores = q·kᵀ with NO 1/sqrt(d_kv) (Mesh TensorFlow folds it
  into the initialisation), + position_bias, softmax(scores.float()).type_as(scores).
- Relative position buckets (T5Attention._relative_position_bucket): relative = key - query.
  Bidirectional (encoder): nb = num_buckets / 2, keys after the query (relative > 0) add nb,
  n = |relative|. Causal (decoder): n = max(-relative, 0) (future keys fall in bucket 0; they are
  masked). max_exact = nb / 2: n < max_exact is its own bucket, else max_exact +
  int(log(n / max_exact) / log(relative_attention_max_distance / max_exact) * (nb - max_exact)),
  capped at nb - 1; the log is taken in float32 (relative_position.float()).
- Bias sharing (T5Stack.__init__ / forward, T5Attention.compute_bias): only block 0 of each stack
  has relative_attention_bias (num_buckets, H) (has_relative_attention_bias=bool(i == 0)); block
  0 computes position_bias = table[bucket] as (H, t, n) plus the mask, and T5Stack passes that same
  tensor to every later block (position_bias = layer_outputs[1]). The cross-attention has no
  table: its bias is zeros (plus the encoder mask, all zero for one unpadded sequence).
- Cache: decoder queries are at cache_position start .. start + t - 1 and the bias rows are
  computed for them (compute_bias(..., cache_position), then [-seq_length:]); keys 0 .. start+t-1.
  Cross-attention keys/values are projected once (EncoderDecoderCache.is_updated).
- Feed-forward (T5Config.__init__, T5LayerFF): feed_forward_proj "relu" (v1.0): T5DenseActDense,
  wo(act(wi(x))); "gated-<act>": T5DenseGatedActDense, wo(act(wi_0(x)) * wi_1(x)); "gated-gelu"
  means dense_act_fn "gelu_new" (tanh GELU; backward-compatibility rule). The module is called
  DenseReluDense either way. dense_act_fn / is_gated_act present in config.json win (they reach
  PretrainedConfig as kwargs after T5Config derived them).
- Embeddings: shared(ids), no scaling, no absolute positions; encoder and decoder use shared.
- Head (T5ForConditionalGeneration.forward): tie_word_embeddings (default true; false in v1.1 /
  Flan-T5 configs): logits = (h * d_model**-0.5) @ shared.weightᵀ; untied: lm_head(h), no rescale.
- hidden_states: [embeddings, output of each block ..., final_layer_norm(last block)] (L + 1).
- Generation starts with decoder_start_token_id (0 = pad_token_id in T5 checkpoints; "T5 uses the
  pad_token_id as the starting token"). generate() here applies no logits processors.
- Checkpoint names: save_pretrained keeps shared.weight and drops its aliases (_tied_weights_keys:
  encoder.embed_tokens.weight, decoder.embed_tokens.weight, lm_head.weight when tied); old
  checkpoints may carry decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight
  (_keys_to_ignore_on_load_unexpected: unused). _keep_in_fp32_modules ["wo"]: HF keeps wo in
  float32 when loading half precision.
"""
import math

import torch
from torch import nn

from .bart import Seq2SeqLM, act_fn, future_mask
from .common import merge_heads, split_heads


def config(vocab_size, d_model, num_layers, num_heads, d_ff, d_kv=None, feed_forward_proj="relu",
           tie_word_embeddings=True, num_decoder_layers=None, **overrides):
    """A Hugging Face T5Config dict (as written to config.json). v1.0: the defaults; v1.1 / Flan:
    feed_forward_proj="gated-gelu", tie_word_embeddings=False."""
    gated, act = ff_settings({"feed_forward_proj": feed_forward_proj})
    cfg = {
        "architectures": ["T5ForConditionalGeneration"], "d_ff": d_ff, "d_kv": d_kv or d_model // num_heads,
        "d_model": d_model, "decoder_start_token_id": 0, "dense_act_fn": act, "dropout_rate": 0.1,
        "eos_token_id": 1, "feed_forward_proj": feed_forward_proj, "initializer_factor": 1.0,
        "is_encoder_decoder": True, "is_gated_act": gated, "layer_norm_epsilon": 1e-6, "model_type": "t5",
        "num_decoder_layers": num_decoder_layers or num_layers, "num_heads": num_heads,
        "num_layers": num_layers, "pad_token_id": 0, "relative_attention_max_distance": 128,
        "relative_attention_num_buckets": 32, "tie_word_embeddings": tie_word_embeddings,
        "torch_dtype": "float32", "use_cache": True, "vocab_size": vocab_size,
    }
    cfg.update(overrides)
    return cfg


def ff_settings(cfg):
    """(is_gated_act, dense_act_fn) as T5Config.__init__ derives them (explicit keys win)."""
    proj = cfg.get("feed_forward_proj", "relu")
    parts = proj.split("-")
    if (len(parts) > 1 and parts[0] != "gated") or len(parts) > 2:
        raise ValueError(f"feed_forward_proj '{proj}' is not '<act>' or 'gated-<act>'")
    act = "gelu_new" if proj == "gated-gelu" else parts[-1]
    return cfg.get("is_gated_act", parts[0] == "gated"), cfg.get("dense_act_fn", act)


def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """T5Attention._relative_position_bucket: relative_position = key - query (long) -> bucket (long)."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).long() * num_buckets
        n = relative_position.abs()
    else:
        n = -torch.clamp(relative_position, max=0)
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()  # float32, as HF; n = 0 is never used
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(n < max_exact, n, large)


class T5LayerNorm(nn.Module):
    def __init__(self, size, eps, hf_float32=True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps, self.hf_float32 = eps, hf_float32

    def forward(self, x):
        variance = (x.float() if self.hf_float32 else x).pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        if self.weight.dtype in (torch.float16, torch.bfloat16):
            x = x.to(self.weight.dtype)
        return self.weight * x


class T5Attention(nn.Module):
    def __init__(self, cfg, is_decoder, has_relative_attention_bias, hf_float32=True):
        super().__init__()
        c, h, d = cfg["d_model"], cfg["num_heads"], cfg["d_kv"]
        self.n_heads, self.is_decoder, self.hf_float32 = h, is_decoder, hf_float32
        self.num_buckets = cfg.get("relative_attention_num_buckets", 32)
        self.max_distance = cfg.get("relative_attention_max_distance", 128)
        self.q, self.k, self.v = (nn.Linear(c, h * d, bias=False) for _ in range(3))
        self.o = nn.Linear(h * d, c, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.num_buckets, h)

    def compute_bias(self, query_positions, key_length):
        """(H, t, key_length) from this layer's table; query_positions (t,) long."""
        relative = torch.arange(key_length)[None, :] - query_positions[:, None]
        bucket = relative_position_bucket(relative, not self.is_decoder, self.num_buckets, self.max_distance)
        return self.relative_attention_bias.weight[bucket].permute(2, 0, 1)

    def kv(self, h):
        return split_heads(self.k(h), self.n_heads), split_heads(self.v(h), self.n_heads)

    def forward(self, x, k, v, position_bias=None):
        """x (t, C); k, v (H, n, d_kv); position_bias (H, t, n) or None. Returns (t, C), probs (H, t, n)."""
        scores = split_heads(self.q(x), self.n_heads) @ k.transpose(-1, -2)  # no 1/sqrt(d_kv)
        if position_bias is not None:
            scores = scores + position_bias
        if self.hf_float32:
            probs = torch.softmax(scores.float(), dim=-1).type_as(scores)
        else:
            probs = torch.softmax(scores, dim=-1)
        return self.o(merge_heads(probs @ v)), probs


class T5LayerSelfAttention(nn.Module):
    def __init__(self, cfg, is_decoder, has_bias, hf_float32):
        super().__init__()
        self.SelfAttention = T5Attention(cfg, is_decoder, has_bias, hf_float32)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"], hf_float32)


class T5LayerCrossAttention(nn.Module):
    def __init__(self, cfg, hf_float32):
        super().__init__()
        self.EncDecAttention = T5Attention(cfg, True, False, hf_float32)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"], hf_float32)


class T5DenseActDense(nn.Module):
    def __init__(self, cfg, gated, act):
        super().__init__()
        c, f = cfg["d_model"], cfg["d_ff"]
        self.gated, self.act = gated, act_fn(act)
        if gated:
            self.wi_0, self.wi_1 = nn.Linear(c, f, bias=False), nn.Linear(c, f, bias=False)
        else:
            self.wi = nn.Linear(c, f, bias=False)
        self.wo = nn.Linear(f, c, bias=False)

    def forward(self, x):
        if self.gated:  # T5DenseGatedActDense
            return self.wo(self.act(self.wi_0(x)) * self.wi_1(x))
        return self.wo(self.act(self.wi(x)))


class T5LayerFF(nn.Module):
    def __init__(self, cfg, hf_float32):
        super().__init__()
        self.DenseReluDense = T5DenseActDense(cfg, *ff_settings(cfg))
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"], hf_float32)

    def forward(self, x):
        return x + self.DenseReluDense(self.layer_norm(x))


class T5Block(nn.Module):
    def __init__(self, cfg, is_decoder, layer_idx, hf_float32):
        super().__init__()
        self.is_decoder, self.layer_idx = is_decoder, layer_idx
        parts = [T5LayerSelfAttention(cfg, is_decoder, layer_idx == 0, hf_float32)]
        if is_decoder:
            parts.append(T5LayerCrossAttention(cfg, hf_float32))
        self.layer = nn.ModuleList(parts + [T5LayerFF(cfg, hf_float32)])

    def forward(self, x, position_bias, trace, encoder_hidden=None, cache=None):
        sa = self.layer[0]
        h = sa.layer_norm(x)
        k, v = sa.SelfAttention.kv(h)
        if self.is_decoder:
            k, v = cache.extend(self.layer_idx, k, v)
        a, probs = sa.SelfAttention(h, k, v, position_bias)
        (trace.decoder_attentions if self.is_decoder else trace.encoder_attentions).append(probs)
        x = x + a
        if self.is_decoder:
            ca = self.layer[1]
            k, v = cache.cross(self.layer_idx, lambda: ca.EncDecAttention.kv(encoder_hidden))
            a, probs = ca.EncDecAttention(ca.layer_norm(x), k, v)
            trace.cross_attentions.append(probs)
            x = x + a
        return self.layer[-1](x)


class T5Stack(nn.Module):
    def __init__(self, cfg, is_decoder, hf_float32=True):
        super().__init__()
        n = (cfg.get("num_decoder_layers") or cfg["num_layers"]) if is_decoder else cfg["num_layers"]
        self.is_decoder = is_decoder
        self.block = nn.ModuleList(T5Block(cfg, is_decoder, i, hf_float32) for i in range(n))
        self.final_layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"], hf_float32)

    def forward(self, x, trace, encoder_hidden=None, cache=None):
        """x (t, C) embeddings at positions start .. start + t - 1 (start = cache.length)."""
        t, start = x.shape[0], cache.length if cache is not None else 0
        bias = self.block[0].layer[0].SelfAttention.compute_bias(torch.arange(start, start + t), start + t)
        if self.is_decoder:
            bias = bias.masked_fill(future_mask(t, start + t, start), float("-inf"))
        name = "decoder" if self.is_decoder else "encoder"
        states = trace.decoder_hidden_states if self.is_decoder else trace.encoder_hidden_states
        for i, block in enumerate(self.block):
            states.append(x)
            trace.extras[f"{name}.position_bias.layer{i}"] = bias  # block 0's, reused by all
            x = block(x, bias, trace, encoder_hidden, cache)
        states.append(self.final_layer_norm(x))
        return states[-1]


class T5ForConditionalGeneration(Seq2SeqLM):
    def __init__(self, cfg, hf_float32=True):
        super().__init__()
        self.cfg = cfg
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.encoder = T5Stack(cfg, False, hf_float32)
        self.decoder = T5Stack(cfg, True, hf_float32)
        self.tied = bool(cfg.get("tie_word_embeddings", True))
        self.lm_head = None if self.tied else nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)

    def start_token_id(self):
        return self.cfg.get("decoder_start_token_id", self.cfg["pad_token_id"])

    def encode(self, encoder_ids, trace):
        return self.encoder(self.shared.weight[encoder_ids], trace)

    def decode(self, decoder_ids, encoder_hidden, cache, trace):
        """decoder_ids (t,) at positions cache.length .. + t - 1; fills the cache. Returns logits (t, V)."""
        h = self.decoder(self.shared.weight[decoder_ids], trace, encoder_hidden, cache)
        cache.length += decoder_ids.shape[0]
        if self.tied:
            return (h * self.cfg["d_model"] ** -0.5) @ self.shared.weight.T
        return h @ self.lm_head.weight.T


ARCHITECTURES = {"T5ForConditionalGeneration": T5ForConditionalGeneration}
