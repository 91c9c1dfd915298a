"""Self-check of tools/reference/llama.py and rope.py on tiny random models.

Run from the repository root:  /usr/bin/python3 -m tools.reference.check_llama
Prints one line per check and exits non-zero if any fails.
The golden fixtures made from llama.py, with their own independent checks, come from
tools/make_llama_fixtures.py.
"""
import math
import sys

import torch

from . import llama, rope
from .selfcheck import FAILURES, close, report

N, WINDOW = 12, 4


def randomize(model, seed, scale=0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return model


def build(cfg, seed=0, scale=0.3, hf_float32=True):
    return randomize(llama.DecoderForCausalLM(cfg, hf_float32).double(), seed, scale)


LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 16}
YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}


def cases():
    """(name, config, expected sliding flags per layer)."""
    common = dict(vocab_size=50, hidden_size=32, num_layers=3, num_heads=4, intermediate_size=48,
                  num_kv_heads=2, max_positions=64, torch_dtype="float64")
    return [
        ("llama head_dim16 llama3", llama.config("llama", head_dim=16, rope_scaling=LLAMA3,
                                                  attention_bias=True, mlp_bias=True, **common),
         [False] * 3),
        ("llama yarn", llama.config("llama", rope_scaling=YARN, rope_theta=500000.0,
                                    tie_word_embeddings=True, **common), [False] * 3),
        ("mistral MQA", llama.config("mistral", sliding_window=WINDOW, head_dim=16,
                                     **{**common, "num_kv_heads": 1}), [True] * 3),
        ("qwen2", llama.config("qwen2", sliding_window=WINDOW, max_window_layers=1,
                               rope_scaling={"type": "linear", "factor": 2.0}, **common),
         [False, True, True]),
        ("qwen3", llama.config("qwen3", head_dim=16, sliding_window=WINDOW,
                               layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                               **common), [True, False, True]),
        ("gemma2", llama.config("gemma2", head_dim=16, sliding_window=WINDOW, query_pre_attn_scalar=24,
                                attn_logit_softcapping=2.0, final_logit_softcapping=3.0, **common),
         [True, False, True]),
        ("gemma3_text", llama.config("gemma3_text", head_dim=16, sliding_window=WINDOW,
                                     sliding_window_pattern=2, rope_theta=1000.0,
                                     rope_local_base_freq=10.0,
                                     rope_scaling={"rope_type": "linear", "factor": 8.0},
                                     final_logit_softcapping=3.0, **common), [True, False, True]),
    ]


def expected_keys(cfg):
    mt, L = cfg["model_type"], cfg["num_hidden_layers"]
    keys = {"model.embed_tokens.weight", "model.norm.weight"}
    if not cfg.get("tie_word_embeddings"):
        keys.add("lm_head.weight")
    qkv_bias = mt == "qwen2" or (mt in ("llama", "qwen3", "gemma2", "gemma3_text") and cfg.get("attention_bias"))
    o_bias = mt in ("llama", "qwen3", "gemma2", "gemma3_text") and cfg.get("attention_bias")
    for i in range(L):
        p = f"model.layers.{i}."
        keys |= {p + "input_layernorm.weight", p + "post_attention_layernorm.weight"}
        for proj in "qkvo":
            keys.add(p + f"self_attn.{proj}_proj.weight")
            if (proj != "o" and qkv_bias) or (proj == "o" and o_bias):
                keys.add(p + f"self_attn.{proj}_proj.bias")
        for proj in ("gate", "up", "down"):
            keys.add(p + f"mlp.{proj}_proj.weight")
            if mt == "llama" and cfg.get("mlp_bias"):
                keys.add(p + f"mlp.{proj}_proj.bias")
        if mt in ("qwen3", "gemma3_text"):
            keys |= {p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"}
        if mt.startswith("gemma"):
            keys |= {p + "pre_feedforward_layernorm.weight", p + "post_feedforward_layernorm.weight"}
    return keys


def check_model(name, cfg, sliding):
    model = build(cfg)
    ids = torch.randint(0, cfg["vocab_size"], (N,), generator=torch.Generator().manual_seed(1))
    t = model(ids)
    L, H, d = cfg["num_hidden_layers"], cfg["num_attention_heads"], llama.head_dim_of(cfg)
    window = llama.sliding_window_of(cfg)

    keys = set(model.state_dict().keys())
    want = expected_keys(cfg)
    report(f"{name}: state_dict keys are HF's", keys == want,
           f"extra {sorted(keys - want)} missing {sorted(want - keys)}" if keys != want else f"{len(keys)} keys")
    got_sliding = [layer.self_attn.is_sliding for layer in model.model.layers]
    report(f"{name}: sliding layers {got_sliding}", got_sliding == sliding, f"expected {sliding}")
    if cfg["model_type"] != "qwen3":  # the qwen3 case passes an explicit layer_types list
        bare = {key: value for key, value in cfg.items() if key != "layer_types"}
        rule = [kind == "sliding_attention" for kind in llama.layer_types(bare)]
        report(f"{name}: family rule without layer_types gives {rule}", rule == sliding)
    shapes_ok = (len(t.attentions) == L and len(t.hidden_states) == L + 1
                 and all(a.shape == (H, N, N) for a in t.attentions + t.scores)
                 and all(x.shape == (H, N, d) for x in t.queries + t.keys + t.values)
                 and t.logits.shape == (N, cfg["vocab_size"]))
    report(f"{name}: trace shapes", shapes_ok)

    row_err, outside, inside_min, edge_ok = 0.0, 0.0, 1.0, True
    for l, a in enumerate(t.attentions):
        forbidden = llama.forbidden_mask(N, window if sliding[l] else None)
        row_err = max(row_err, (a.sum(-1) - 1).abs().max().item())
        outside = max(outside, a[:, forbidden].abs().max().item())
        inside_min = min(inside_min, a[:, ~forbidden].min().item())
        if sliding[l]:
            for i in range(window, N):  # key i-window+1 visible, key i-window not
                edge_ok &= bool((a[:, i, i - window + 1] > 0).all()) and bool((a[:, i, i - window] == 0).all())
        elif l == 0 or not any(sliding):
            edge_ok &= bool((a[:, N - 1, 0] > 0).all())  # full layers see the first token
    report(f"{name}: attention rows sum to 1", row_err < 1e-6, f"max |sum-1| {row_err:.1e}")
    report(f"{name}: attention exactly 0 outside causal/window mask", outside == 0.0, f"max {outside}")
    report(f"{name}: attention > 0 inside the mask", inside_min > 0, f"min {inside_min:.1e}")
    report(f"{name}: window edge (query i sees keys i-{window}+1..i)" if window else
           f"{name}: full layers see key 0", edge_ok)

    # scores = (q·kᵀ)·scaling (+ soft-cap), unmasked; attentions = softmax of masked scores.
    err_s, err_a = 0.0, 0.0
    for l, layer in enumerate(model.model.layers):
        att = layer.self_attn
        raw = (t.queries[l] @ t.keys[l].transpose(-1, -2)) * att.scaling
        s = torch.tanh(raw / att.softcap) * att.softcap if att.softcap else raw
        err_s = max(err_s, (s - t.scores[l]).abs().max().item())
        masked = s.masked_fill(llama.forbidden_mask(N, att.window), float("-inf"))
        err_a = max(err_a, (torch.softmax(masked, -1) - t.attentions[l]).abs().max().item())
    close(f"{name}: scores == q·kᵀ·scaling (+cap) from traced q/k", err_s, 0.0, 1e-12)
    close(f"{name}: attentions == softmax(masked scores)", err_a, 0.0, 1e-6)

    # hidden_states: [0] = embeddings (· sqrt(C) for Gemma), [L] = norm(layer L output).
    emb = model.model.embed_tokens.weight[ids]
    if cfg["model_type"].startswith("gemma"):
        emb = emb * math.sqrt(cfg["hidden_size"])
    close(f"{name}: hidden_states[0] is the (scaled) embedding", t.hidden_states[0], emb, 1e-12)
    last = model.model.layers[-1]
    local = cfg["model_type"] == "gemma3_text" and last.self_attn.is_sliding
    cos, sin = model.model.rotary(N, torch.float64, local=local)
    out = last(t.hidden_states[L - 1], cos, sin, llama.Trace())
    close(f"{name}: hidden_states[-1] == norm(last layer output)", t.hidden_states[L], model.model.norm(out), 1e-12)
    logits = t.hidden_states[-1] @ model.head_weight().T
    cap = cfg.get("final_logit_softcapping")
    if cap:
        logits = torch.tanh(logits / cap) * cap
        report(f"{name}: |logits| <= final cap {cap}", t.logits.abs().max().item() <= cap,
               f"max {t.logits.abs().max().item():.3f}")
    close(f"{name}: logits from hidden_states[-1] and the {'tied' if model.tied else 'untied'} head",
          t.logits, logits, 1e-12)

    # Causality: a run on a prefix reproduces the full run's first k positions.
    k = N - 3
    p = model(ids[:k])
    err = (p.logits - t.logits[:k]).abs().max().item()
    err = max(err, (p.logits[-1] - t.logits[k - 1]).abs().max().item())
    for a, b in zip(p.attentions, t.attentions):
        err = max(err, (a - b[:, :k, :k]).abs().max().item())
    for a, b in zip(p.hidden_states, t.hidden_states):
        err = max(err, (a - b[:k]).abs().max().item())
    close(f"{name}: prefix run == full run on the prefix (causality)", err, 0.0, 1e-10)

    # GQA: the same model with K/V projections explicitly repeated to H heads.
    kv = cfg["num_key_value_heads"]
    if kv < H:
        rep = H // kv
        mha = llama.DecoderForCausalLM({**cfg, "num_key_value_heads": H}).double()
        sd = {}
        for key, value in model.state_dict().items():
            if ".k_proj." in key or ".v_proj." in key:
                value = value.reshape(kv, d, *value.shape[1:]).repeat_interleave(rep, 0).reshape(H * d, *value.shape[1:])
            sd[key] = value
        mha.load_state_dict(sd)
        m = mha(ids)
        err = (m.logits - t.logits).abs().max().item()
        for a, b in zip(m.attentions + m.keys + m.values, t.attentions + t.keys + t.values):
            err = max(err, (a - b).abs().max().item())
        close(f"{name}: GQA ({kv} KV heads) == K/V repeated to {H} heads", err, 0.0, 1e-12)
    return model, ids, t


def check_gemma3_rope(model, ids, t):
    """Sliding layers rotate with rope_local_base_freq (default RoPE), full ones with
    rope_theta and rope_scaling; recompute each layer's queries from its input."""
    cfg = model.cfg
    err, differs = 0.0, True
    for l, layer in enumerate(model.model.layers):
        att = layer.self_attn
        x = layer.input_layernorm(t.hidden_states[l])
        q = att.q_norm(att.q_proj(x).reshape(N, att.num_heads, att.head_dim).transpose(0, 1))
        if att.is_sliding:
            inv, f = rope.inv_freq_and_attention_factor(att.head_dim, cfg["rope_local_base_freq"])
        else:
            inv, f = rope.inv_freq_and_attention_factor(att.head_dim, cfg["rope_theta"], cfg["rope_scaling"])
        cos, sin = rope.cos_sin(inv, f, N, torch.float64)
        err = max(err, (rope.apply(q, cos, sin) - t.queries[l]).abs().max().item())
        other = rope.inv_freq_and_attention_factor(att.head_dim, cfg["rope_theta"], cfg["rope_scaling"]
                                                   )[0] if att.is_sliding else None
        if other is not None:
            differs &= not torch.allclose(other, inv)
    close("gemma3_text: queries use local theta on sliding layers, global theta+scaling on full", err, 0.0, 1e-12)
    report("gemma3_text: local and global inv_freq differ", differs)


def check_softcap():
    cfg = llama.config("gemma2", vocab_size=50, hidden_size=32, num_layers=2, num_heads=4,
                       intermediate_size=48, num_kv_heads=2, head_dim=16, sliding_window=WINDOW,
                       attn_logit_softcapping=1.5, final_logit_softcapping=2.0)
    model = build(cfg, seed=3, scale=1.0)
    ids = torch.arange(N) % cfg["vocab_size"]
    t = model(ids)
    worst_raw, worst = 0.0, 0.0
    for l, layer in enumerate(model.model.layers):
        raw = (t.queries[l] @ t.keys[l].transpose(-1, -2)) * layer.self_attn.scaling
        worst_raw = max(worst_raw, raw.abs().max().item())
        worst = max(worst, t.scores[l].abs().max().item())
    report("gemma2 soft-cap: |scores| <= cap 1.5 although raw |q·k·scale| exceeds it",
           worst <= 1.5 and worst_raw > 1.5, f"max |scores| {worst:.4f}, max raw {worst_raw:.2f}")
    report("gemma2 final soft-cap: |logits| <= 2.0", t.logits.abs().max().item() <= 2.0,
           f"max {t.logits.abs().max().item():.4f}")


def hand_llama3(i, dim, base, s):
    """Llama 3.1's frequency rule, transcribed from Meta's apply_scaling, in float64."""
    freq = 1.0 / base ** (2 * i / dim)
    wavelen = 2 * math.pi / freq
    low_wl = s["original_max_position_embeddings"] / s["low_freq_factor"]
    high_wl = s["original_max_position_embeddings"] / s["high_freq_factor"]
    if wavelen < high_wl:
        return freq
    if wavelen > low_wl:
        return freq / s["factor"]
    smooth = (s["original_max_position_embeddings"] / wavelen - s["low_freq_factor"]) / (
        s["high_freq_factor"] - s["low_freq_factor"])
    return (1 - smooth) * freq / s["factor"] + smooth * freq


def hand_yarn(i, dim, base, factor, original, beta_fast=32, beta_slow=1):
    """YaRN (Peng et al. 2023) frequency blend with HF's truncated correction range."""
    def corr(rot):
        return dim * math.log(original / (rot * 2 * math.pi)) / (2 * math.log(base))
    low, high = max(math.floor(corr(beta_fast)), 0), min(math.ceil(corr(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = min(max((i - low) / (high - low), 0.0), 1.0)
    extrapolation = 1.0 / base ** (2 * i / dim)
    return extrapolation / factor * ramp + extrapolation * (1 - ramp)


def check_rope():
    dim, base = 16, 10000.0
    s = dict(LLAMA3, original_max_position_embeddings=64)
    inv32, _ = rope.inv_freq_and_attention_factor(dim, base, s, 256)
    inv64, _ = rope.inv_freq_and_attention_factor(dim, base, s, 256, float32=False)
    hand = torch.tensor([hand_llama3(i, dim, base, s) for i in range(dim // 2)], dtype=torch.float64)
    kinds = sorted({("high" if 2 * math.pi / h < 16 else "low" if 2 * math.pi / h > 64 else "mid")
                    for h in hand.tolist()})
    close(f"llama3 inv_freq (float64 path) == hand formula, bands {kinds}", inv64, hand, 1e-15)
    close("llama3 inv_freq (HF float32 path) == hand formula (rel)", (inv32.double() / hand - 1).abs().max(), 0.0, 1e-6)

    y = {"rope_type": "yarn", "factor": 4.0}
    inv32, att = rope.inv_freq_and_attention_factor(dim, base, y, 64)
    inv64, _ = rope.inv_freq_and_attention_factor(dim, base, y, 64, float32=False)
    hand = torch.tensor([hand_yarn(i, dim, base, 4.0, 64) for i in range(dim // 2)], dtype=torch.float64)
    close("yarn inv_freq (float64 path) == hand formula", inv64, hand, 1e-15)
    close("yarn inv_freq (HF float32 path) == hand formula (rel)", (inv32.double() / hand - 1).abs().max(), 0.0, 1e-6)
    close("yarn attention_factor == 0.1·ln(factor) + 1", att, 0.1 * math.log(4.0) + 1.0, 1e-15)
    _, att2 = rope.inv_freq_and_attention_factor(dim, base, dict(y, original_max_position_embeddings=16), 128)
    close("yarn with original_max_position_embeddings: factor = max/original (128/16)", att2,
          0.1 * math.log(8.0) + 1.0, 1e-15)
    inv_lin, _ = rope.inv_freq_and_attention_factor(dim, base, {"type": "linear", "factor": 2.0})
    inv_def, _ = rope.inv_freq_and_attention_factor(dim, base)
    close("linear inv_freq == default / factor", inv_lin, inv_def / 2.0, 0.0)

    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 40, dim, generator=g, dtype=torch.float64)
    for scaling in (None, LLAMA3, y, {"rope_type": "linear", "factor": 3.0}):
        label = rope.rope_type_of(scaling)
        for f32 in (False, True):
            inv, att = rope.inv_freq_and_attention_factor(dim, base, scaling, 64, float32=f32)
            cos, sin = rope.cos_sin(inv, att, 40, torch.float64, float32=f32)
            r = rope.apply(x, cos, sin)
            tag = "HF float32" if f32 else "float64"
            close(f"rope {label} ({tag}): position 0 is identity ×attention_factor", r[:, 0], x[:, 0] * att, 1e-7 if f32 else 0.0)
            q, k = x[0, 0], x[1, 0]  # the same vectors placed at different positions
            rq = rope.apply(q.expand(40, dim), cos, sin)
            rk = rope.apply(k.expand(40, dim), cos, sin)
            dots = rq @ rk.T  # dots[m, n] = rope(q, m) · rope(k, n)
            err = 0.0
            for delta in range(-5, 6):
                diag = torch.diagonal(dots, offset=-delta)  # m - n == delta
                err = max(err, (diag - diag[0]).abs().max().item())
            close(f"rope {label} ({tag}): q_m·k_n depends only on m-n", err, 0.0, 1e-4 if f32 else 1e-11)
    # rotate_half pairs channel c with c + dim/2 (not interleaved pairs).
    e0 = torch.zeros(dim, dtype=torch.float64)
    e0[0] = 1.0
    inv, _ = rope.inv_freq_and_attention_factor(dim, base, float32=False)
    cos, sin = rope.cos_sin(inv, 1.0, 2, torch.float64, float32=False)
    r = rope.apply(e0.expand(2, dim), cos, sin)[1]
    nonzero = sorted(torch.nonzero(r.abs() > 1e-12).flatten().tolist())
    report("rope rotates channel 0 into channel dim/2 (rotate_half, not interleaved)", nonzero == [0, dim // 2],
           f"nonzero channels {nonzero}")


def check_norms():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(5, 32, generator=g, dtype=torch.float64) * 3
    w = torch.randn(32, generator=g, dtype=torch.float64)
    ref = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-6)
    for gemma in (False, True):
        norm = llama.RMSNorm(32, 1e-6, gemma).double()
        with torch.no_grad():
            norm.weight.copy_(w)
        want = ref * (1 + w) if gemma else ref * w
        out = norm(x)
        label = "gemma (1 + w)" if gemma else "llama w"
        close(f"RMSNorm {label} == formula (float32 island, rel)", ((out - want) / want.abs().clamp_min(1e-3)).abs().max(), 0.0, 1e-6)
        report(f"RMSNorm {label}: float32 island (differs from float64 by rounding)", (out - want).abs().max().item() > 0)


def main():
    torch.set_num_threads(1)
    check_rope()
    check_norms()
    for name, cfg, sliding in cases():
        model, ids, t = check_model(name, cfg, sliding)
        if cfg["model_type"] == "gemma3_text":
            check_gemma3_rope(model, ids, t)
    check_softcap()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) FAILED: {FAILURES}")
        return 1
    print("all llama.py checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
