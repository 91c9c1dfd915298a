"""Rotary position embeddings (RoPE) as Hugging Face transformers computes them.

Follows src/transformers/modeling_rope_utils.py (the ROPE_INIT_FUNCTIONS table) and the
*RotaryEmbedding.forward / rotate_half / apply_rotary_pos_emb functions that every
Llama-like modeling_*.py file carries. Read at transformers 4.56/4.57 (see llama.py's
docstring for the commits).

Numerics, on purpose identical to HF:
- inv_freq is computed in float32 (`torch.arange(0, dim, 2).float() / dim`, `base ** that`).
- freqs = position · inv_freq, cos and sin are taken in float32 (HF disables autocast and
  forces float32), multiplied by the rope type's attention_factor ("attention_scaling") and
  only then cast to the activations' dtype. With float64 activations the angles therefore
  carry float32 precision, exactly as in HF.
- The rotation is the "rotate_half" (GPT-NeoX) convention, not the interleaved (GPT-J)
  one: channel c is paired with channel c + dim/2, and
  x' = x * cos + rotate_half(x) * sin, rotate_half([a, b]) = [-b, a],
  where cos/sin are cat((freqs, freqs)) over the last axis.

`float32=False` computes everything in float64 instead (used by the self-check to verify
the rotation's algebraic properties to 1e-12).
"""
import math

import torch


def rope_type_of(scaling):
    """The rope type of a rope_scaling dict ("type" is HF's backward-compatible spelling)."""
    if not scaling:
        return "default"
    return scaling.get("rope_type", scaling.get("type", "default"))


def inv_freq_and_attention_factor(dim, base, scaling=None, max_position_embeddings=None,
                                  float32=True):
    """(inv_freq (dim/2,), attention_factor) for one rope type.

    dim: rotated channels per head (head_dim * partial_rotary_factor).
    base: rope_theta. scaling: the config's rope_scaling dict or None.
    Supported types: default, linear, llama3, yarn, longrope (HF: _compute_default_rope_parameters,
    _compute_linear_scaling_rope_parameters, _compute_llama3_parameters,
    _compute_yarn_parameters, _compute_longrope_parameters; longrope's dict comes from
    longrope_scaling).
    """
    dt = torch.float32 if float32 else torch.float64
    rope_type = rope_type_of(scaling)
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(dt) / dim
    if rope_type == "default":
        return 1.0 / (base ** exponents), 1.0
    if rope_type == "linear":
        # HF divides inv_freq (equivalently, the positions) by factor.
        return (1.0 / (base ** exponents)) / scaling["factor"], 1.0
    if rope_type == "llama3":
        inv_freq = 1.0 / (base ** exponents)
        factor = scaling["factor"]
        low_freq_factor = scaling["low_freq_factor"]
        high_freq_factor = scaling["high_freq_factor"]
        old_context_len = scaling["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # Long wavelengths (low frequencies) are divided by factor, short ones kept, and the
        # band in between interpolates smoothly between the two.
        scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium, smoothed, scaled), 1.0
    if rope_type == "yarn":
        factor = scaling["factor"]
        # transformers 4.5x: an original_max_position_embeddings inside rope_scaling replaces
        # factor by max_position_embeddings / original (the DeepSeek-V3 convention). v5 only
        # does so when factor is missing; the two agree when factor == max / original.
        original = scaling.get("original_max_position_embeddings")
        if original is not None:
            factor = max_position_embeddings / original
        else:
            original = max_position_embeddings
        attention_factor = scaling.get("attention_factor")
        mscale, mscale_all_dim = scaling.get("mscale"), scaling.get("mscale_all_dim")

        def get_mscale(scale, m=1):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        if attention_factor is None:
            if mscale and mscale_all_dim:
                attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
            else:
                attention_factor = get_mscale(factor)
        beta_fast = scaling.get("beta_fast") or 32
        beta_slow = scaling.get("beta_slow") or 1

        def correction_dim(num_rotations):
            return (dim * math.log(original / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if scaling.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001  # HF: prevent a division by zero
        ramp = torch.clamp((torch.arange(dim // 2, dtype=dt) - low) / (high - low), 0, 1)
        extrapolation_weight = 1 - ramp
        pos_freqs = base ** exponents
        inv_extrapolation = 1.0 / pos_freqs
        inv_interpolation = 1.0 / (factor * pos_freqs)
        inv_freq = inv_interpolation * (1 - extrapolation_weight) + inv_extrapolation * extrapolation_weight
        return inv_freq, attention_factor
    if rope_type == "longrope":
        # _compute_longrope_parameters with the config's context lengths resolved by the caller
        # (scaling["original_max_position_embeddings"], scaling["factor"], see longrope_scaling):
        # the long factors when the run is longer than the pretrained context, else the short.
        original = scaling["original_max_position_embeddings"]
        factor = scaling["factor"]
        attention_factor = scaling.get("attention_factor")
        if attention_factor is None:
            attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
        seq_len = scaling.get("seq_len")
        ext = scaling["long_factor"] if seq_len and seq_len > original else scaling["short_factor"]
        if len(ext) != dim // 2:
            raise ValueError(f"longrope needs {dim // 2} factors, got {len(ext)}")
        ext = torch.tensor(ext, dtype=dt)  # float32 as HF (torch.tensor(factors, float32))
        return 1.0 / (ext * base ** exponents), attention_factor
    raise ValueError(f"unsupported rope type '{rope_type}' (known: default, linear, llama3, yarn, longrope)")


def longrope_scaling(cfg, scaling, seq_len):
    """The longrope dict that inv_freq_and_attention_factor takes, from a config: HF reads the
    pretrained length from the config's own original_max_position_embeddings (Phi3Config's
    default 4096) and then sets factor = max_position_embeddings / original; without one the
    original length is max_position_embeddings and factor stays the dict's."""
    out = dict(scaling, seq_len=seq_len)
    original = cfg.get("original_max_position_embeddings")
    if original is None and cfg.get("model_type") == "phi3":
        original = 4096
    if original:
        out["factor"] = cfg["max_position_embeddings"] / original
    else:
        original = cfg["max_position_embeddings"]
        out.setdefault("factor", 1.0)
    out["original_max_position_embeddings"] = original
    return out


def cos_sin(inv_freq, attention_factor, n, dtype, float32=True):
    """cos, sin of shape (N, dim) for positions 0..N-1, cast to `dtype` at the end."""
    dt = torch.float32 if float32 else torch.float64
    positions = torch.arange(n, dtype=dt)
    freqs = positions[:, None] * inv_freq.to(dt)[None, :]  # (N, dim/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * attention_factor).to(dtype), (emb.sin() * attention_factor).to(dtype)


def rotate_half(x):
    """[x1, x2] -> [-x2, x1] over the last axis (halves, not interleaved pairs)."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply(x, cos, sin):
    """Rotate x (..., N, d) by cos/sin (N, rot_dim). If rot_dim < d, only the first rot_dim
    channels rotate and the rest pass through (the partial-rotary convention of GPT-NeoX /
    Phi in HF: Phi3's apply_rotary_pos_emb); of the families in llama.py only phi3 uses it."""
    rot = cos.shape[-1]
    if rot == x.shape[-1]:
        return x * cos + rotate_half(x) * sin
    x_rot, x_pass = x[..., :rot], x[..., rot:]
    return torch.cat((x_rot * cos + rotate_half(x_rot) * sin, x_pass), dim=-1)
