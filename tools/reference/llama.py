"""Reference Llama-family decoders (Llama, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3 text,
Phi-3), with Hugging Face's module and parameter names and semantics.

Pre-norm decoder, one unbatched sequence (input_ids (N,), activations (N, C)), computing in
the parameters' dtype except where HF itself upcasts to float32 (listed below). A
state_dict() is named like the HF checkpoint of *ForCausalLM: model.embed_tokens.weight,
model.layers.{i}.input_layernorm.weight, model.layers.{i}.self_attn.{q,k,v,o}_proj.weight
(+ .bias where the family has it), model.layers.{i}.self_attn.{q,k}_norm.weight (Qwen3,
Gemma 3), model.layers.{i}.post_attention_layernorm.weight, (Gemma 2/3 also
pre_feedforward_layernorm / post_feedforward_layernorm), model.layers.{i}.mlp.{gate,up,down}_proj.weight,
model.norm.weight, and lm_head.weight only when the head is untied (a tied head is not a
parameter, as HF does not save it either). Phi-3 fuses the projections:
model.layers.{i}.self_attn.qkv_proj.weight and model.layers.{i}.mlp.gate_up_proj.weight.

Source read: huggingface/transformers, the 4.56/4.57 development line (the whole repository
could not be fetched; the files were read one by one from the stored index at these commits):
  models/llama/modeling_llama.py          5dd4a63548857797727ae73eeb6a6e886ea02a3e
  models/qwen3/modeling_qwen3.py          9ee3f431c32e9e5f6c0888f6b2b0ca3f6c289dd6
  models/qwen2/configuration_qwen2.py     caa3177646255d2cf73626315c8582722af4749c
  models/gemma2/modeling_gemma2.py        9a80143ca26066ee3266749a57c7b3850d8843be (4.49-era)
  models/gemma3/modeling_gemma3.py        f14d0cbc824e447ef294d8cdc0f8ad4222f3dfee
  models/gemma3/configuration_gemma3.py   d98ac17cc00f337eeee9a1e2380072dc8cafabd4 + the newer
                                          layer_types code (Gemma3TextConfig.__init__)
  masking_utils.py                        2ccc6cae21faaf11631efa5fb9054687ae5dc931 (and
                                          00c4411cbe15d4c56d54d3b56d4d171e9c289dac, v5: same)
  modeling_rope_utils.py                  ef46806472a64b0013ed413781e3afed82bfa047 + the
                                          4.5x/v5 _compute_yarn_parameters (see rope.py)
  utils/generic.py                        check_model_inputs (hidden_states collection)
  models/phi3/modular_phi3.py             06053b84c14d72e9789fbf27844a75aa89b3ded7
  models/phi3/configuration_phi3.py       008e574391258935f3ecc3035c882e73bbcac419
  modeling_rope_utils.py (v5 line)        _compute_longrope_parameters, longrope_frequency_update
Qwen2Attention's biases (q/k/v yes, o no) and Mistral's bias-free projections were checked
against copies of HF's classes in other repositories, not HF's own modeling_qwen2.py /
modeling_mistral.py, which were not read.

Semantics and where each one comes from:
- RMSNorm, Llama/Mistral/Qwen (LlamaRMSNorm.forward): x is cast to float32,
  x * rsqrt(mean(x²) + eps), cast back to the input dtype, THEN multiplied by weight (in the
  input dtype). Gemma (Gemma2RMSNorm / Gemma3RMSNorm.forward): x.float() normalised, times
  (1 + weight.float()) in float32, then cast back. Weights of Gemma norms are stored as
  zero-centred offsets (the checkpoint holds w, the scale is 1 + w).
- RoPE: rope.py (modeling_rope_utils.py: default, linear, llama3, yarn; cos/sin in float32,
  rotate_half convention). head_dim comes from config["head_dim"] when present, else
  hidden_size / num_attention_heads (LlamaAttention.__init__). partial_rotary_factor is
  honoured in inv_freq's dim like HF's rope utils; only Phi-3's apply_rotary_pos_emb can
  rotate part of a head, so the other families reject a factor != 1.
- Gemma 3 (Gemma3TextModel.__init__): sliding layers use a second rotary embedding with
  rope_theta = rope_local_base_freq and rope_scaling forced to default; full layers use
  rope_theta with rope_scaling (Gemma3DecoderLayer.forward picks position_embeddings_local
  for sliding layers).
- Attention (eager_attention_forward): scores = (Q·Kᵀ) * scaling, then Gemma 2's soft-cap
  tanh(s / cap) * cap, then the mask is ADDED (masking_utils.eager_mask: 0 or
  finfo(dtype).min), then softmax in float32 (dtype=torch.float32) cast back to the query
  dtype. masked weights come out exactly 0. scaling = head_dim**-0.5 (Llama, Mistral, Qwen)
  or query_pre_attn_scalar**-0.5 (Gemma2Attention / Gemma3Attention.__init__).
  Gemma 3's attention does not pass attn_logit_softcapping to the attention function, so
  Gemma 3 never soft-caps attention logits (its default is None anyway).
- GQA / MQA (repeat_kv): KV head g serves query heads g*rep .. g*rep+rep-1, rep = H / KV, so
  query head h uses KV head h // rep.
- Biases (…Attention.__init__): Llama: q,k,v,o all bias=attention_bias, MLP bias=mlp_bias;
  Mistral: none; Qwen2: q,k,v bias=True, o bias=False; Qwen3: q,k,v,o bias=attention_bias;
  Gemma 2/3: q,k,v,o bias=attention_bias, MLP none.
- q_norm / k_norm (Qwen3Attention.forward, Gemma3Attention.forward): an RMSNorm of the
  family's kind over head_dim, per head, applied after the projection and BEFORE RoPE.
- Sliding window, the edge (masking_utils.sliding_window_overlay: kv_idx > q_idx - window,
  and causal_mask_function: kv_idx <= q_idx): query i sees keys i-window+1 .. i, i.e.
  exactly `window` keys including itself. The 4.49-era Gemma2DecoderLayer code
  (tril(ones, diagonal=-window) masked) gives the same edge.
  Which layers slide:
    Mistral: every layer when config sliding_window is not null (MistralModel chooses
      create_sliding_window_causal_mask when config.sliding_window is set).
    Qwen2 / Qwen3 (Qwen2Config.__init__): sliding_window is kept only if use_sliding_window;
      layer_types defaults to "sliding_attention" for i >= max_window_layers (the FIRST
      max_window_layers layers are full), else "full_attention"; an explicit layer_types wins.
    Gemma 2 (Gemma2Config layer_types / 4.49-era Gemma2Attention: `not bool(layer_idx % 2)`):
      EVEN layers 0, 2, 4, ... slide, odd layers are global.
    Gemma 3 (Gemma3TextConfig.__init__): layer_types, else layer i slides iff
      (i + 1) % sliding_window_pattern != 0 (pattern 6: layers 5, 11, ... are global).
- Gemma embeddings: Gemma2Model multiplies by torch.tensor(hidden_size**0.5,
  dtype=hidden dtype); Gemma3TextScaledWordEmbedding multiplies by its embed_scale buffer
  cast to the weight dtype. Here: sqrt(hidden_size) as a Python float made into a tensor of
  the hidden dtype (exact for both when the model is built in float64, see the notes).
- Phi-3 (modular_phi3.py, configuration_phi3.py): Mistral's decoder with qkv_proj (rows: the H
  query heads, then the KV key heads, then the KV value heads) and gate_up_proj (rows: gate,
  then up; `up * act(gate)`), no biases, rms_norm_eps default 1e-5, head_dim hidden/heads, every
  layer sliding when sliding_window is set (as Mistral). apply_rotary_pos_emb turns only the
  first rotary_dim = int(head_dim * partial_rotary_factor) channels (rotate_half within them)
  and passes the rest through. rope_scaling "su" / "yarn" mean longrope (Phi3Config's
  backward compatibility). LongRoPE (_compute_longrope_parameters): inv_freq =
  1 / (ext * base^(2i/dim)) with ext = long_factor when the sequence is longer than the
  config's original_max_position_embeddings (Phi3Config default 4096; dynamic update: seq_len =
  max position + 1), else short_factor; factor = max_position_embeddings / original;
  attention_factor = sqrt(1 + ln(factor) / ln(original)) unless given (1 when factor <= 1).
- Decoder layer: Llama/Mistral/Qwen/Phi-3: x += attn(input_layernorm(x)); x += mlp(post_attention_layernorm(x)).
  Gemma 2/3 sandwich: x += post_attention_layernorm(attn(input_layernorm(x)));
  x += post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x))).
- MLP: down(act(gate(x)) * up(x)); act = hidden_act "silu" (SwiGLU) for Llama/Mistral/Qwen,
  hidden_activation "gelu_pytorch_tanh" (GeGLU, tanh approximation) for Gemma.
- LM head: logits = norm(x) @ Wᵀ with W = embed_tokens.weight when tie_word_embeddings
  (family defaults: False for Llama/Mistral/Qwen2/Qwen3, True for Gemma 2/3), then
  final_logit_softcapping (Gemma2ForCausalLM / Gemma3ForCausalLM.forward): tanh(l/cap)*cap.

Trace contents:
- attentions[l]: (H, N, N) per QUERY head, masked weights exactly 0.
- scores[l]: (H, N, N) = (Q·Kᵀ) * scaling after Gemma 2's attention soft-cap (if any) and
  BEFORE any mask (causal or window), in the parameters' dtype: HF's attn_weights right
  before `attn_weights + causal_mask`.
- queries[l], keys[l], values[l]: (H, N, head_dim); queries and keys after q/k norm and
  RoPE; keys and values repeated to the H query heads (repeat_kv).
- hidden_states: L + 1 entries: the embeddings (after Gemma's scale), the outputs of
  layers 1 .. L-1, and norm(output of layer L). In the 4.56 line HF collects them with
  check_model_inputs (utils/generic.py): the input of layer 0 and every layer's output,
  then drops the last and appends last_hidden_state (= after model.norm); the older
  explicit loops (modeling_gemma3.py above) give the same tuple.
- logits: (N, vocab) after the final soft-cap (if any).

`hf_float32=False` (constructor argument) turns the float32 islands (RMSNorm, softmax, RoPE
angles) into the parameters' dtype; the default True matches HF.
"""
import torch
from torch import nn

from . import rope
from .common import Trace, activation

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3")
ARCH_NAMES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gemma3_text": "Gemma3ForCausalLM",
    "phi3": "Phi3ForCausalLM",
}


def config(model_type, vocab_size, hidden_size, num_layers, num_heads, intermediate_size,
           num_kv_heads=None, head_dim=None, max_positions=64, rope_theta=None,
           rope_scaling=None, sliding_window=None, tie_word_embeddings=None,
           torch_dtype="float32", **overrides):
    """A Hugging Face config.json dict for `model_type` (one of FAMILIES).

    Family defaults are those of the HF configuration_*.py classes; the keys are those HF
    writes. sliding_window: Mistral: the window for all layers (None = full attention);
    Qwen2/Qwen3: also sets use_sliding_window = True (pass max_window_layers in overrides,
    default 0 here so every layer slides); Gemma 2/3: the window of their sliding layers
    (required). `overrides` are set last (e.g. layer_types, attention_bias,
    query_pre_attn_scalar, final_logit_softcapping, rope_local_base_freq).
    """
    if model_type not in FAMILIES:
        raise ValueError(f"unknown model_type '{model_type}' (known: {FAMILIES})")
    kv = num_heads if num_kv_heads is None else num_kv_heads
    hd = hidden_size // num_heads if head_dim is None else head_dim
    cfg = {
        "architectures": [ARCH_NAMES[model_type]],
        "attention_dropout": 0.0,
        "head_dim": hd,
        "hidden_size": hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "max_position_embeddings": max_positions,
        "model_type": model_type,
        "num_attention_heads": num_heads,
        "num_hidden_layers": num_layers,
        "num_key_value_heads": kv,
        "rms_norm_eps": 1e-6,
        "rope_scaling": rope_scaling,
        "torch_dtype": torch_dtype,
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    if model_type == "llama":
        cfg.update(attention_bias=False, mlp_bias=False, hidden_act="silu", pretraining_tp=1,
                   bos_token_id=1, eos_token_id=2, rope_theta=10000.0, tie_word_embeddings=False)
    elif model_type == "mistral":
        cfg.update(hidden_act="silu", bos_token_id=1, eos_token_id=2, rope_theta=10000.0,
                   sliding_window=sliding_window, tie_word_embeddings=False)
    elif model_type == "phi3":
        # Phi3Config writes no head_dim (hidden / heads) and its own context keys.
        del cfg["head_dim"]
        cfg.update(hidden_act="silu", bos_token_id=1, eos_token_id=32000, pad_token_id=32000,
                   rope_theta=10000.0, rms_norm_eps=1e-5, sliding_window=sliding_window,
                   original_max_position_embeddings=max_positions, resid_pdrop=0.0,
                   embd_pdrop=0.0, tie_word_embeddings=False)
    elif model_type in ("qwen2", "qwen3"):
        use = sliding_window is not None
        cfg.update(hidden_act="silu", bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1,
                   rope_theta=10000.0, use_sliding_window=use,
                   sliding_window=sliding_window if use else None,
                   max_window_layers=0 if use else num_layers, tie_word_embeddings=False)
        if model_type == "qwen3":
            cfg["attention_bias"] = False
    else:  # gemma2, gemma3_text
        if sliding_window is None:
            raise ValueError("Gemma 2/3 configs need a sliding_window")
        cfg.update(hidden_activation="gelu_pytorch_tanh", attention_bias=False,
                   pad_token_id=0, eos_token_id=1, bos_token_id=2, query_pre_attn_scalar=hd,
                   sliding_window=sliding_window, tie_word_embeddings=True,
                   cache_implementation="hybrid")
        if model_type == "gemma2":
            cfg.update(rope_theta=10000.0, attn_logit_softcapping=50.0,
                       final_logit_softcapping=30.0)
        else:
            cfg.update(rope_theta=1000000.0, rope_local_base_freq=10000.0,
                       sliding_window_pattern=6, attn_logit_softcapping=None,
                       final_logit_softcapping=None, use_bidirectional_attention=False)
    if rope_theta is not None:
        cfg["rope_theta"] = rope_theta
    if tie_word_embeddings is not None:
        cfg["tie_word_embeddings"] = tie_word_embeddings
    cfg.update(overrides)
    if model_type in ("qwen2", "qwen3", "gemma2", "gemma3_text") and "layer_types" not in cfg:
        cfg["layer_types"] = layer_types(cfg)
    return cfg


def layer_types(cfg):
    """["sliding_attention" | "full_attention"] per layer, resolved as HF's configs do."""
    mt, n = cfg["model_type"], cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return list(cfg["layer_types"])
    if mt == "llama":
        return ["full_attention"] * n
    if mt in ("mistral", "phi3"):
        kind = "full_attention" if cfg.get("sliding_window") is None else "sliding_attention"
        return [kind] * n
    if mt in ("qwen2", "qwen3"):
        window = cfg.get("sliding_window") if cfg.get("use_sliding_window") else None
        first_full = cfg.get("max_window_layers", 28)
        return ["sliding_attention" if window is not None and i >= first_full else "full_attention"
                for i in range(n)]
    if mt == "gemma2":
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    if mt == "gemma3_text":
        pattern = cfg.get("sliding_window_pattern", 6)
        return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    raise ValueError(f"unknown model_type '{mt}'")


def sliding_window_of(cfg):
    """The window size used by sliding layers (None if the family disables it)."""
    if cfg["model_type"] in ("qwen2", "qwen3") and not cfg.get("use_sliding_window"):
        return None
    return cfg.get("sliding_window")


def rope_params(cfg, local=False):
    """(theta, rope_scaling dict or None) for full layers, or Gemma 3's sliding layers.

    Accepts the v4 config.json keys (rope_theta, rope_scaling, rope_local_base_freq) and the
    transformers v5 `rope_parameters` dict (flat, or keyed by layer type for Gemma 3)."""
    params = cfg.get("rope_parameters")
    if params:
        if "full_attention" in params or "sliding_attention" in params:
            params = params["sliding_attention" if local else "full_attention"]
        scaling = None if rope.rope_type_of(params) == "default" else dict(params)
        return params.get("rope_theta", 10000.0), scaling
    if local:
        return cfg.get("rope_local_base_freq", 10000.0), None
    scaling = cfg.get("rope_scaling")
    if scaling is not None and rope.rope_type_of(scaling) == "default":
        scaling = None
    if scaling is not None and cfg["model_type"] == "phi3" and rope.rope_type_of(scaling) in ("su", "yarn"):
        scaling = dict(scaling, rope_type="longrope")  # Phi3Config's backward compatibility
    return cfg.get("rope_theta", 10000.0), scaling


def rotary_dim_of(cfg):
    """Channels of each head that turn: int(head_dim * partial_rotary_factor)."""
    return int(head_dim_of(cfg) * cfg.get("partial_rotary_factor", 1.0))


def silu(x):
    """HF "silu" (SiLU / swish): x · sigmoid(x)."""
    return x * torch.sigmoid(x)


def mlp_activation(cfg):
    if cfg["model_type"].startswith("gemma"):
        name = cfg.get("hidden_activation") or cfg.get("hidden_act") or "gelu_pytorch_tanh"
    else:
        name = cfg.get("hidden_act", "silu")
    return silu if name == "silu" else activation(name)


class RMSNorm(nn.Module):
    """LlamaRMSNorm (gemma=False) or Gemma2/3 RMSNorm (gemma=True, scale 1 + weight)."""

    def __init__(self, size, eps, gemma=False, hf_float32=True):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(size) if gemma else torch.ones(size))
        self.eps, self.gemma, self.hf_float32 = eps, gemma, hf_float32

    def forward(self, x):
        xf = x.float() if self.hf_float32 else x
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.gemma:
            w = self.weight.float() if self.hf_float32 else self.weight
            return (normed * (1.0 + w)).to(x.dtype)
        return self.weight * normed.to(x.dtype)


class Linear(nn.Module):
    """nn.Linear's layout (weight (out, in)) with an optional bias, names weight / bias."""

    def __init__(self, n_in, n_out, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias


def _biases(cfg):
    """(q/k/v bias, o bias, mlp bias) for the family."""
    mt = cfg["model_type"]
    if mt in ("mistral", "phi3"):
        return False, False, False
    if mt == "qwen2":
        return True, False, False
    if mt == "llama":
        b = bool(cfg.get("attention_bias", False))
        return b, b, bool(cfg.get("mlp_bias", False))
    b = bool(cfg.get("attention_bias", False))  # qwen3, gemma2, gemma3_text
    return b, b, False


def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


class Attention(nn.Module):
    def __init__(self, cfg, layer_idx, hf_float32=True):
        super().__init__()
        mt = cfg["model_type"]
        c, h, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        if h % kv:
            raise ValueError(f"num_attention_heads {h} is not a multiple of num_key_value_heads {kv}")
        d = head_dim_of(cfg)
        self.num_heads, self.num_kv_heads, self.head_dim = h, kv, d
        qkv_bias, o_bias, _ = _biases(cfg)
        self.fused = mt == "phi3"
        if self.fused:
            self.qkv_proj = Linear(c, (h + 2 * kv) * d, False)
        else:
            self.q_proj = Linear(c, h * d, qkv_bias)
            self.k_proj = Linear(c, kv * d, qkv_bias)
            self.v_proj = Linear(c, kv * d, qkv_bias)
        self.o_proj = Linear(h * d, c, o_bias)
        gemma = mt.startswith("gemma")
        if mt in ("qwen3", "gemma3_text"):
            self.q_norm = RMSNorm(d, cfg["rms_norm_eps"], gemma, hf_float32)
            self.k_norm = RMSNorm(d, cfg["rms_norm_eps"], gemma, hf_float32)
        else:
            self.q_norm = self.k_norm = None
        self.scaling = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else d ** -0.5
        self.softcap = cfg.get("attn_logit_softcapping") if mt == "gemma2" else None
        self.is_sliding = layer_types(cfg)[layer_idx] == "sliding_attention"
        self.window = sliding_window_of(cfg) if self.is_sliding else None
        if self.is_sliding and self.window is None:
            raise ValueError(f"layer {layer_idx} is a sliding layer but the config has no window")
        self.hf_float32 = hf_float32

    def forward(self, x, cos, sin, trace):
        n = x.shape[0]
        h, kv, d = self.num_heads, self.num_kv_heads, self.head_dim
        if self.fused:  # Phi3Attention.forward: query, key, value blocks of qkv's columns
            qkv = self.qkv_proj(x)
            q, k, v = qkv[:, :h * d], qkv[:, h * d:(h + kv) * d], qkv[:, (h + kv) * d:]
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.reshape(n, h, d).transpose(0, 1)  # (H, N, d)
        k = k.reshape(n, kv, d).transpose(0, 1)  # (KV, N, d)
        v = v.reshape(n, kv, d).transpose(0, 1)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = rope.apply(q, cos, sin), rope.apply(k, cos, sin)
        rep = h // kv
        k = k.repeat_interleave(rep, dim=0)  # query head i uses KV head i // rep
        v = v.repeat_interleave(rep, dim=0)
        scores = (q @ k.transpose(-1, -2)) * self.scaling
        if self.softcap is not None:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        masked = scores.masked_fill(forbidden_mask(n, self.window), float("-inf"))
        if self.hf_float32:
            probs = torch.softmax(masked.float(), dim=-1).to(q.dtype)
        else:
            probs = torch.softmax(masked, dim=-1)
        trace.queries.append(q)
        trace.keys.append(k)
        trace.values.append(v)
        trace.scores.append(scores)
        trace.attentions.append(probs)
        context = (probs @ v).transpose(0, 1).reshape(n, h * d)
        return self.o_proj(context)


def forbidden_mask(n, window=None):
    """Bool (N, N), True where query i may NOT see key j: j > i, or (sliding) j <= i - window."""
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)
    return ~allowed


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, f = cfg["hidden_size"], cfg["intermediate_size"]
        bias = _biases(cfg)[2]
        self.fused = cfg["model_type"] == "phi3"
        if self.fused:
            self.gate_up_proj = Linear(c, 2 * f, False)
        else:
            self.gate_proj = Linear(c, f, bias)
            self.up_proj = Linear(c, f, bias)
        self.down_proj = Linear(f, c, bias)
        self.act = mlp_activation(cfg)

    def forward(self, x):
        if self.fused:  # Phi3MLP: gate, up = gate_up_proj(x).chunk(2); up * act(gate)
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
            return self.down_proj(up * self.act(gate))
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx, hf_float32=True):
        super().__init__()
        c, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.gemma = cfg["model_type"].startswith("gemma")
        self.self_attn = Attention(cfg, layer_idx, hf_float32)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(c, eps, self.gemma, hf_float32)
        self.post_attention_layernorm = RMSNorm(c, eps, self.gemma, hf_float32)
        if self.gemma:
            self.pre_feedforward_layernorm = RMSNorm(c, eps, True, hf_float32)
            self.post_feedforward_layernorm = RMSNorm(c, eps, True, hf_float32)

    def forward(self, x, cos, sin, trace):
        a = self.self_attn(self.input_layernorm(x), cos, sin, trace)
        if self.gemma:
            x = x + self.post_attention_layernorm(a)
            return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x))


class DecoderModel(nn.Module):
    """HF's LlamaModel / MistralModel / Qwen2Model / Qwen3Model / Gemma2Model / Gemma3TextModel."""

    def __init__(self, cfg, hf_float32=True):
        super().__init__()
        mt = cfg["model_type"]
        if cfg.get("use_bidirectional_attention"):
            raise ValueError("use_bidirectional_attention (EmbeddingGemma) is not supported")
        if cfg.get("partial_rotary_factor", 1.0) != 1.0 and mt != "phi3":
            raise ValueError(f"{mt} applies RoPE to the whole head; partial_rotary_factor must be 1")
        self.cfg, self.hf_float32 = cfg, hf_float32
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(cfg, i, hf_float32)
                                    for i in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"], mt.startswith("gemma"), hf_float32)

    def rotary(self, n, dtype, local=False):
        """cos, sin (N, rotary_dim) for full layers (local=False) or Gemma 3's sliding layers."""
        theta, scaling = rope_params(self.cfg, local)
        if rope.rope_type_of(scaling) == "longrope":
            scaling = rope.longrope_scaling(self.cfg, scaling, n)
        inv_freq, factor = rope.inv_freq_and_attention_factor(
            rotary_dim_of(self.cfg), theta, scaling, self.cfg["max_position_embeddings"], self.hf_float32)
        return rope.cos_sin(inv_freq, factor, n, dtype, self.hf_float32)

    def forward(self, input_ids):
        """input_ids: (N,) int. Returns a Trace (no logits)."""
        trace = Trace()
        n = input_ids.shape[0]
        x = self.embed_tokens.weight[input_ids]
        if self.cfg["model_type"].startswith("gemma"):
            x = x * torch.tensor(self.cfg["hidden_size"] ** 0.5, dtype=x.dtype)
        global_rope = self.rotary(n, x.dtype)
        local_rope = self.rotary(n, x.dtype, local=True) if self.cfg["model_type"] == "gemma3_text" else global_rope
        for layer in self.layers:
            trace.hidden_states.append(x)
            cos, sin = local_rope if layer.self_attn.is_sliding else global_rope
            x = layer(x, cos, sin, trace)
        trace.hidden_states.append(self.norm(x))  # HF: the last entry is after the final norm
        return trace


class DecoderForCausalLM(nn.Module):
    """HF's *ForCausalLM: `model` + `lm_head` (lm_head.weight only when untied)."""

    def __init__(self, cfg, hf_float32=True):
        super().__init__()
        self.cfg = cfg
        self.model = DecoderModel(cfg, hf_float32)
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        self.lm_head = None if self.tied else Linear(cfg["hidden_size"], cfg["vocab_size"], False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, input_ids):
        trace = self.model(input_ids)
        logits = trace.hidden_states[-1] @ self.head_weight().T  # (N, V)
        cap = self.cfg.get("final_logit_softcapping")
        if cap is not None and self.cfg["model_type"].startswith("gemma"):
            logits = torch.tanh(logits / cap) * cap
        trace.logits = logits
        return trace


ARCHITECTURES = {name: DecoderForCausalLM for name in ARCH_NAMES.values()}
