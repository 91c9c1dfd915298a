#!/usr/bin/python3
"""Regenerates the Llama-family golden fixtures in tests/fixtures/models/ (see tools/README.md).

    /usr/bin/python3 tools/make_llama_fixtures.py [--out DIR]

Tiny random-weight Llama / Mistral / Qwen2 / Qwen3 / Gemma 2 / Gemma 3 (text) / Phi-3 *ForCausalLM
checkpoints in Hugging Face layout, a byte-level BPE tokenizer that adds a BOS token, and
expected/<case>.safetensors in the layout of make_fixtures.py (same tensor names), computed in
float64 by tools/reference/llama.py (self-checked by `python3 -m tools.reference.check_llama`)
from the weights exactly as stored. Rewrites only the folders it owns (FIXTURES below).
Seeded and deterministic; the self-checks at the end must all pass (exit status 1 if not).
"""
import argparse
import json
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import (NUM_MERGES, Checks, dir_size, expected_tensors, read_state,  # noqa: E402
                           save_weights, write_json)
from reference import llama, safetensors_io, tokenizers  # noqa: E402
from reference import fixture_text as text  # noqa: E402
from reference.check_llama import hand_llama3, hand_yarn  # noqa: E402

SEED = 3100
INIT_STD = 0.25  # as make_fixtures.py: attention far from uniform
QK_NORM_GAIN = 2.0  # scale of the q/k norms (Qwen3, Gemma 3), see init_weights
BOS = "<s>"  # appended to the trained BPE vocabulary; the tokenizer adds it before the text
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models"

LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 32}  # head_dim 16: one band each (high, medium, low)
# Qwen2.5's spelling ("type"); factor == max_position_embeddings / original, so that the 4.5x
# and v5 readings of yarn agree (see rope.py).
YARN = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}
# Phi-3's LongRoPE over 6 of head_dim 16's 8 channel pairs (partial_rotary_factor 0.75), with a
# pretrained context of 14 tokens: the "dog" case (12 tokens) turns by the short factors, the
# "digits" case (17) by the long ones; Phi-3's older spelling "su".
LONGROPE = {"type": "su", "short_factor": [1.0, 1.1, 1.3, 1.7, 2.2, 3.0],
            "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0]}


@dataclass
class Fixture:
    name: str
    cfg: dict  # Hugging Face config.json
    cases: dict  # case name -> text
    seed: int
    layers: str  # expected kind of each layer: "S" sliding, "F" full
    dtype: torch.dtype = torch.float32  # storage dtype of the weights
    shards: int = 1


def fixtures(vocab_size, bos_id, eos_id):
    ids = dict(bos_token_id=bos_id, eos_token_id=eos_id)
    gemma_ids = dict(ids, pad_token_id=eos_id)

    def cases(*names):
        return {n: text.DECODER[n] for n in names}

    return [
        Fixture("llama_gqa", llama.config("llama", vocab_size, 32, 2, 4, 48, num_kv_heads=2, head_dim=16,
                                          max_positions=128, rope_scaling=LLAMA3, **ids),
                cases("fox"), SEED + 1, "FF"),
        Fixture("llama_mqa_bf16", llama.config("llama", vocab_size, 32, 2, 4, 48, num_kv_heads=1,
                                               rope_scaling={"type": "linear", "factor": 2.0},
                                               tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
                                               torch_dtype="bfloat16", **ids),
                cases("river"), SEED + 2, "FF", dtype=torch.bfloat16),
        Fixture("mistral_sharded_f16", llama.config("mistral", vocab_size, 32, 2, 4, 48, num_kv_heads=2,
                                                    sliding_window=4, torch_dtype="float16", **ids),
                cases("digits", "dog"), SEED + 3, "SS", dtype=torch.float16, shards=2),
        Fixture("qwen2_window_yarn", llama.config("qwen2", vocab_size, 32, 3, 4, 48, sliding_window=5,
                                                  max_window_layers=1, rope_scaling=YARN,
                                                  tie_word_embeddings=True, torch_dtype="bfloat16", **ids),
                cases("heads"), SEED + 4, "FSS", dtype=torch.bfloat16),
        Fixture("qwen3_qknorm", llama.config("qwen3", vocab_size, 32, 2, 4, 48, num_kv_heads=2, head_dim=16,
                                             torch_dtype="bfloat16", **ids),
                cases("attention"), SEED + 5, "FF", dtype=torch.bfloat16),
        Fixture("gemma2_softcap", llama.config("gemma2", vocab_size, 32, 3, 4, 48, num_kv_heads=2, head_dim=16,
                                               sliding_window=4, query_pre_attn_scalar=8,
                                               attn_logit_softcapping=3.0, final_logit_softcapping=4.0,
                                               **gemma_ids),
                cases("fox"), SEED + 6, "SFS"),
        Fixture("gemma3_text", llama.config("gemma3_text", vocab_size, 32, 3, 4, 48, num_kv_heads=2, head_dim=16,
                                            sliding_window=5, sliding_window_pattern=3, rope_theta=1000000.0,
                                            rope_local_base_freq=10000.0,
                                            rope_scaling={"rope_type": "linear", "factor": 4.0},
                                            torch_dtype="bfloat16", **gemma_ids),
                cases("river"), SEED + 7, "SSF", dtype=torch.bfloat16),
        Fixture("phi3_longrope", llama.config("phi3", vocab_size, 64, 2, 4, 48, num_kv_heads=2, max_positions=56,
                                              sliding_window=6, rope_scaling=LONGROPE, partial_rotary_factor=0.75,
                                              original_max_position_embeddings=14, torch_dtype="bfloat16", **ids),
                cases("dog", "digits"), SEED + 8, "SS", dtype=torch.bfloat16),
    ]


def is_gemma(cfg):
    return cfg["model_type"].startswith("gemma")


def init_weights(model, seed):
    """N(0, INIT_STD²) matrices and embeddings, N(0, 0.1²) biases; RMSNorm scales
    1 + N(0, 0.1²) (stored as is by Llama-style norms, as the offset w of 1 + w by Gemma's),
    except q_norm / k_norm: QK_NORM_GAIN · (1 + N(0, 0.1²)), because normalised q and k of
    RMS 1 bound q·k/√d by √d and would leave attention nearly uniform."""
    gemma = is_gemma(model.cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            module = name.split(".")[-2]
            if module.endswith("norm"):  # *_layernorm, q_norm, k_norm, model.norm
                scale = (QK_NORM_GAIN if module in ("q_norm", "k_norm") else 1.0) * (1 + 0.1 * noise)
                p.copy_(scale - 1 if gemma else scale)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(INIT_STD * noise)


def build(cfg, state, dtype=torch.float64, hf_float32=True):
    """llama.py's model in `dtype` from a state dict (strict: names must match)."""
    model = llama.DecoderForCausalLM(cfg, hf_float32).to(dtype).eval()
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    return model


def write_tokenizer(d, vocab, merges, eos):
    """vocab.json + merges.txt and a tokenizer_config.json adding BOS (GPT2Tokenizer's
    add_bos_token, which the engine's byte-level BPE honours); loads it back."""
    tokenizers.write_bpe_files(d, vocab, merges)
    write_json(d / "tokenizer_config.json", {
        "add_bos_token": True, "add_eos_token": False, "add_prefix_space": False, "bos_token": BOS,
        "eos_token": eos, "unk_token": eos, "errors": "replace", "model_max_length": 64,
        "tokenizer_class": "GPT2Tokenizer"})
    return tokenizers.read_bpe_files(d)


def encode(tok, case_text):
    """(tokens, ids) as the engine produces them: BOS, then the byte-level BPE pieces."""
    assert BOS not in case_text and tokenizers.EOT not in case_text
    tokens, ids = tok.encode(case_text)
    return [BOS] + tokens, [tok.encoder[BOS]] + ids


# --- independent checks -----------------------------------------------------------------

def rms_norm(x, w, eps, gemma):
    """RMSNorm in float64 from its formula: x / sqrt(mean(x²) + eps) · (w or 1 + w)."""
    y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    return y * (1 + w) if gemma else y * w


def hand_inv_freq(cfg, d, sliding, n):
    """(inv_freq (d/2,), attention factor) for d rotated channels and N tokens, in float64
    from the papers' formulas (check_llama's hand_llama3 / hand_yarn; LongRoPE's below), not
    from rope.py."""
    if cfg["model_type"] == "gemma3_text" and sliding:
        theta, s = cfg["rope_local_base_freq"], None
    else:
        theta, s = cfg["rope_theta"], cfg.get("rope_scaling")
    kind = (s or {}).get("rope_type", (s or {}).get("type", "default"))
    half = range(d // 2)
    if kind == "su":  # LongRoPE: base frequencies divided by the short or long factors
        original = cfg["original_max_position_embeddings"]
        ext = s["long_factor"] if n > original else s["short_factor"]
        inv = [1.0 / (ext[i] * theta ** (2 * i / d)) for i in half]
        factor = cfg["max_position_embeddings"] / original
        return torch.tensor(inv, dtype=torch.float64), math.sqrt(1 + math.log(factor) / math.log(original))
    if kind == "llama3":
        return torch.tensor([hand_llama3(i, d, theta, s) for i in half], dtype=torch.float64), 1.0
    if kind == "yarn":
        factor, original = s["factor"], s["original_max_position_embeddings"]
        assert factor == cfg["max_position_embeddings"] / original
        inv = [hand_yarn(i, d, theta, factor, original) for i in half]
        return torch.tensor(inv, dtype=torch.float64), 0.1 * math.log(factor) + 1.0
    inv = torch.tensor([1.0 / theta ** (2 * i / d) for i in half], dtype=torch.float64)
    return (inv / s["factor"], 1.0) if kind == "linear" else (inv, 1.0)


def rotate(x, inv_freq, factor):
    """RoPE as a complex product: channel c pairs with c + r/2 among the first r = 2 · len(inv_freq)
    channels (x (.., N, d)); channels from r on pass through."""
    n, half = x.shape[-2], inv_freq.shape[0]
    angle = torch.arange(n, dtype=torch.float64)[:, None] * inv_freq[None, :]
    z = torch.complex(x[..., :half], x[..., half:2 * half]) * torch.polar(torch.full_like(angle, factor), angle)
    return torch.cat((z.real, z.imag, x[..., 2 * half:]), dim=-1)


def allowed_mask(n, window):
    """Bool (N, N): key j visible from query i (j <= i, and j > i - window when sliding)."""
    return torch.tensor([[j <= i and (window is None or j > i - window) for j in range(n)]
                         for i in range(n)])


def sdpa(q, k, v, mask, scale):
    """torch's scaled_dot_product_attention (math kernel on CPU) with an additive float mask.
    torch >= 2.1 takes scale=; Debian 12's torch 1.13 only has the private kernel, which
    divides by sqrt(d) itself, so q is pre-scaled."""
    if hasattr(F, "scaled_dot_product_attention"):
        try:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
        except TypeError:  # torch 2.0: no scale argument
            return F.scaled_dot_product_attention(q * (scale * math.sqrt(q.shape[-1])), k, v, attn_mask=mask)
    return F._scaled_dot_product_attention(q * (scale * math.sqrt(q.shape[-1])), k, v, mask, 0.0, False, False)[0]


def layers_by_hand(cfg, state, ids, trace, kinds):
    """Recomputes every layer in float64 from the state dict with torch.nn.functional and
    torch's scaled_dot_product_attention (or, under Gemma 2's soft-cap, softmax by hand),
    from the traced input of each layer; returns the largest difference from `trace` (a run
    of llama.py without HF's float32 islands) over q, k, v, scores, attention, layer outputs,
    embeddings and logits."""
    sd = {k: v.double() for k, v in state.items()}
    gemma, eps = is_gemma(cfg), cfg["rms_norm_eps"]
    h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim") or cfg["hidden_size"] // h
    scale = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else d ** -0.5
    cap = cfg.get("attn_logit_softcapping") if cfg["model_type"] == "gemma2" else None
    act = (lambda t: F.gelu(t, approximate="tanh")) if gemma else F.silu
    n, L = ids.shape[0], cfg["num_hidden_layers"]
    errors = []

    def diff(a, b):
        errors.append((a - b).abs().max().item())

    def lin(x, name):
        return F.linear(x, sd[name + ".weight"], sd.get(name + ".bias"))

    emb = F.embedding(ids, sd["model.embed_tokens.weight"])
    diff(emb * math.sqrt(cfg["hidden_size"]) if gemma else emb, trace.hidden_states[0])
    for layer in range(L):
        p = f"model.layers.{layer}."
        sliding = kinds[layer] == "S"
        x = trace.hidden_states[layer]
        a_in = rms_norm(x, sd[p + "input_layernorm.weight"], eps, gemma)
        if p + "self_attn.qkv_proj.weight" in sd:  # Phi-3: one matrix, rows q | k | v
            q, k, v = lin(a_in, p + "self_attn.qkv_proj").split([h * d, kv * d, kv * d], dim=-1)
        else:
            q, k, v = (lin(a_in, p + f"self_attn.{name}_proj") for name in "qkv")
        q, k, v = q.view(n, h, d).transpose(0, 1), k.view(n, kv, d).transpose(0, 1), v.view(n, kv, d).transpose(0, 1)
        if p + "self_attn.q_norm.weight" in sd:
            q = rms_norm(q, sd[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms_norm(k, sd[p + "self_attn.k_norm.weight"], eps, gemma)
        inv, factor = hand_inv_freq(cfg, int(d * cfg.get("partial_rotary_factor", 1.0)), sliding, n)
        q, k = rotate(q, inv, factor), rotate(k, inv, factor)
        group = torch.arange(h) // (h // kv)  # KV head of each query head
        k, v = k[group], v[group]
        allowed = allowed_mask(n, llama.sliding_window_of(cfg) if sliding else None)
        mask = torch.zeros(n, n, dtype=torch.float64).masked_fill(~allowed, float("-inf"))
        raw = (q @ k.transpose(-1, -2)) * scale
        if cap is None:
            scores = raw
            probs = sdpa(q, k, torch.eye(n, dtype=torch.float64).expand(h, n, n), mask, scale)
            context = sdpa(q, k, v, mask, scale)
        else:
            scores = torch.tanh(raw / cap) * cap
            probs = torch.softmax(scores + mask, dim=-1)
            context = probs @ v
        for got, want in ((q, trace.queries), (k, trace.keys), (v, trace.values), (scores, trace.scores),
                          (probs, trace.attentions)):
            diff(got, want[layer])
        o = lin(context.transpose(0, 1).reshape(n, h * d), p + "self_attn.o_proj")
        if gemma:
            x = x + rms_norm(o, sd[p + "post_attention_layernorm.weight"], eps, True)
            m_in = rms_norm(x, sd[p + "pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + o
            m_in = rms_norm(x, sd[p + "post_attention_layernorm.weight"], eps, False)
        if p + "mlp.gate_up_proj.weight" in sd:  # Phi-3: rows gate | up
            gate, up = lin(m_in, p + "mlp.gate_up_proj").split(cfg["intermediate_size"], dim=-1)
        else:
            gate, up = lin(m_in, p + "mlp.gate_proj"), lin(m_in, p + "mlp.up_proj")
        m = lin(act(gate) * up, p + "mlp.down_proj")
        x = x + (rms_norm(m, sd[p + "post_feedforward_layernorm.weight"], eps, True) if gemma else m)
        if layer == L - 1:
            x = rms_norm(x, sd["model.norm.weight"], eps, gemma)
        diff(x, trace.hidden_states[layer + 1])
    head = sd["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else sd["lm_head.weight"]
    diff(final_cap(cfg, F.linear(trace.hidden_states[L], head)), trace.logits)
    return max(errors)


def final_cap(cfg, logits):
    cap = cfg.get("final_logit_softcapping") if is_gemma(cfg) else None
    return logits if cap is None else torch.tanh(logits / cap) * cap


def mask_checks(trace, kinds, window):
    """(largest probability outside the causal/window mask, smallest inside, row-sum error)."""
    n = trace.attentions[0].shape[-1]
    outside, inside, rows = 0.0, 1.0, 0.0
    for kind, a in zip(kinds, trace.attentions):
        allowed = allowed_mask(n, window if kind == "S" else None)
        outside = max(outside, a[:, ~allowed].abs().max().item())
        inside = min(inside, a[:, allowed].min().item())
        rows = max(rows, (a.sum(-1) - 1).abs().max().item())
    return outside, inside, rows


def gqa_mismatches(trace, h, kv):
    """Query heads of one KV group must hold identical keys/values; different groups must not."""
    rep, bad = h // kv, 0
    for k, v in zip(trace.keys, trace.values):
        for head in range(h):
            first = head // rep * rep
            bad += int(not torch.equal(k[head], k[first])) + int(not torch.equal(v[head], v[first]))
            if head % rep == 0 and head > 0:
                bad += int(torch.equal(k[head], k[0]))
    return bad


def uniformity(trace):
    """Mean over rows seeing >= 4 keys of entropy / log(visible keys): 1 = uniform."""
    ratios = []
    for a in trace.attentions:
        visible = (a > 0).sum(-1)
        ent = -(a * torch.log(a.clamp_min(1e-300))).sum(-1)
        keep = visible >= 4
        ratios.append((ent[keep] / torch.log(visible[keep].double())).mean().item())
    return sum(ratios) / len(ratios)


# --- generation ---------------------------------------------------------------------------

def check_case(fx, state, model, input_ids, trace, path, results, stats):
    cfg, kinds = fx.cfg, fx.layers
    n, window = input_ids.shape[0], llama.sliding_window_of(cfg)
    got_kinds = "".join("S" if layer.self_attn.is_sliding else "F" for layer in model.model.layers)
    results.add("layer kinds (sliding/full) as intended", float(got_kinds != kinds), 0.0)
    if "S" in kinds:
        results.add("window shorter than the input (N - window >= 6)", float(n - window < 6), 0.0)
    outside, inside, rows = mask_checks(trace, kinds, window)
    results.add("attention rows sum to 1 (float32 softmax, as HF)", rows, 1e-6)
    results.add("masked probabilities (future, outside window) == 0", outside, 0.0)
    results.add("visible probabilities > 0 (fails if any is 0)", float(inside <= 0), 0.0)
    results.add("GQA: a group's heads share K/V exactly (mismatches)",
                float(gqa_mismatches(trace, cfg["num_attention_heads"], cfg["num_key_value_heads"])), 0.0)
    # Independent recomputation, in plain float64 (llama.py with hf_float32=False).
    plain = build(cfg, state, hf_float32=False)
    with torch.no_grad():
        t64 = plain(input_ids)
        results.add("layers by hand (F.sdpa, F.linear) vs llama.py float64", layers_by_hand(
            cfg, state, input_ids, t64, kinds), 1e-10)
    want = expected_tensors(input_ids, None, trace)
    plain_err = max((v.float() - want[k]).abs().max().item()
                    for k, v in expected_tensors(input_ids, None, t64).items() if v.is_floating_point())
    results.add("golden (HF float32 islands) vs all-float64 run", plain_err, 1e-4)
    # Soft-caps must bite: compare with the uncapped values.
    raw_logits = trace.hidden_states[-1] @ model.head_weight().T
    cap = cfg.get("final_logit_softcapping") if is_gemma(cfg) else None
    results.add("logits == final_cap(hidden[L] · headᵀ)",
                (final_cap(cfg, raw_logits) - trace.logits).abs().max().item(), 1e-12)
    if cap is not None:
        results.add("final soft-cap: |logits| < cap", float(trace.logits.abs().max().item() >= cap), 0.0)
        stats["final cap bite"] = max(stats.get("final cap bite", 0.0), (raw_logits - trace.logits).abs().max().item())
    acap = cfg.get("attn_logit_softcapping") if cfg["model_type"] == "gemma2" else None
    if acap is not None:
        bite = max(((q @ k.transpose(-1, -2)) * model.model.layers[0].self_attn.scaling - s).abs().max().item()
                   for q, k, s in zip(trace.queries, trace.keys, trace.scores))
        results.add("attention soft-cap: |scores| < cap", float(max(s.abs().max().item()
                                                                      for s in trace.scores) >= acap), 0.0)
        stats["attn cap bite"] = max(stats.get("attn cap bite", 0.0), bite)
    # What a float32 engine should see: the same model run in float32.
    with torch.no_grad():
        t32 = build(cfg, state, torch.float32)(input_ids)
    got = expected_tensors(input_ids, None, t32)
    err = max((got[k] - want[k]).abs().max().item() for k in want if want[k].is_floating_point())
    results.add("float32 run vs float64 golden (all tensors)", err, 1e-4)
    stored, meta = safetensors_io.read(path)
    mismatch = set(stored) ^ set(want)
    mismatch |= {k for k in want if k in stored and not torch.equal(stored[k], want[k])}
    results.add("expected files read back identical", float(len(mismatch)), 0.0)
    stats["uniformity"] = max(stats.get("uniformity", 0.0), uniformity(trace))
    stats["max |logit|"] = max(stats.get("max |logit|", 0.0), trace.logits.abs().max().item())
    stats["max |scores|"] = max(stats.get("max |scores|", 0.0), max(s.abs().max().item() for s in trace.scores))


def generate(out, results):
    torch.set_num_threads(1)
    vocab, merges = tokenizers.train_bpe(text.BPE_CORPUS, NUM_MERGES)
    vocab = dict(vocab, **{BOS: len(vocab)})
    vocab_size = -(-len(vocab) // 8) * 8  # padded like real checkpoints; never smaller
    summary = []
    for fx in fixtures(vocab_size, vocab[BOS], vocab[tokenizers.EOT]):
        d = out / fx.name
        shutil.rmtree(d, ignore_errors=True)
        (d / "expected").mkdir(parents=True)
        write_json(d / "config.json", fx.cfg)
        tok = write_tokenizer(d, vocab, merges, tokenizers.EOT)
        model = llama.DecoderForCausalLM(fx.cfg)
        init_weights(model, fx.seed)
        save_weights(fx, model, d)
        state = read_state(d)
        model = build(fx.cfg, state)
        stats = {}
        for case, case_text in fx.cases.items():
            tokens, ids = encode(tok, case_text)
            results.add("tokenizer: decode(encode(text)) == text, ids < vocab_size",
                        float(tok.decode(ids[1:]) != case_text or max(ids) >= vocab_size), 0.0)
            input_ids = torch.tensor(ids, dtype=torch.long)
            with torch.no_grad():
                trace = model(input_ids)
            meta = {"text": case_text, "tokens": json.dumps(tokens, ensure_ascii=False), "task": "next-token"}
            path = d / "expected" / f"{case}.safetensors"
            safetensors_io.write(path, expected_tensors(input_ids, None, trace), meta)
            check_case(fx, state, model, input_ids, trace, path, results, stats)
            summary.append((fx, case, len(tokens)))
        fx.stats = stats
    return summary


def describe(fx):
    c = fx.cfg
    d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    window = llama.sliding_window_of(c)
    rope = llama.rope_params(c)[1]
    kind = (rope or {}).get("rope_type", (rope or {}).get("type", "default"))
    return (f"{c['model_type']:11s} C {c['hidden_size']} H {c['num_attention_heads']} KV {c['num_key_value_heads']} "
            f"d {d} L {c['num_hidden_layers']} layers {fx.layers} window {window} rope {kind} "
            f"{str(fx.dtype).split('.')[-1]} {'tied' if c.get('tie_word_embeddings') else 'untied'} shards {fx.shards}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args()
    results = Checks()
    summary = generate(args.out, results)
    seen = []
    for fx, case, n in summary:
        if fx not in seen:
            seen.append(fx)
            print(f"{fx.name:20s} {describe(fx)}")
            print(" " * 21 + "  ".join(f"{k} {v:.2f}" for k, v in fx.stats.items()))
        print(f"{'':20s} case {case:9s} N={n}")
    total = sum(dir_size(args.out / fx.name) for fx in seen)
    print(f"total size: {total / 1e6:.2f} MB in {args.out}")
    for fx in seen:
        s = fx.stats
        for key, what in (("attn cap bite", "attention"), ("final cap bite", "final")):
            if key in s:
                results.add(f"{fx.name}: {what} soft-cap changes values by {s[key]:.2f} (< 0.5 fails)",
                            float(s[key] < 0.5), 0.0)
    results.add("attention far from uniform: entropy / log(keys), worst model",
                max(fx.stats["uniformity"] for fx in seen), 0.8)
    logits = [fx.stats["max |logit|"] for fx in seen]
    results.add(f"logits O(1..10): max |logit| per model {min(logits):.1f} .. {max(logits):.1f} (fails outside 1..30)",
                float(not (min(logits) >= 1 and max(logits) <= 30)), 0.0)
    return results.exit_status()


if __name__ == "__main__":
    sys.exit(main())
