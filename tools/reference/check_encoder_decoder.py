"""Self-check of tools/reference/bart.py, marian.py and t5.py on tiny random encoder-decoders.

Run from the repository root:  /usr/bin/python3 -m tools.reference.check_encoder_decoder
Prints one line per check and exits non-zero if any fails. The expected state_dict names and
shapes are written here from the HF module trees (modeling_bart.py, modeling_marian.py,
modeling_t5.py at 00b676f8f0489b88652a31d70751cc540dd06305), and the attention of every layer is
recomputed from the state dict with F.linear / F.layer_norm and the formulas (BART's position
offset 2, Marian's sin-then-cos table, T5's Mesh TensorFlow buckets and unscaled scores), not by
calling the references' own modules.
"""
import math
import sys

import torch
import torch.nn.functional as F

from . import bart, marian, t5
from .selfcheck import FAILURES, close, report

S, T, NEW = 9, 7, 6  # encoder tokens, decoder tokens of the forward checks, generated tokens


def randomize(model, seed):
    """Norm gains 1 + N(0, 0.1²), biases (final_logits_bias too) N(0, 0.1²), the rest N(0, 0.25²);
    T5's q weights also times d_kv^-½, as T5PreTrainedModel._init_weights folds the missing
    1/sqrt(d_kv) into q's std (else the unscaled scores make attention one-hot)."""
    g = torch.Generator().manual_seed(seed)
    q_scale = model.cfg["d_kv"] ** -0.5 if model.cfg["model_type"] == "t5" else 1.0
    with torch.no_grad():
        for name, p in model.state_dict().items():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)
            if name.endswith("norm.weight") or name.endswith("layernorm_embedding.weight"):
                p.copy_(1 + 0.1 * noise)
            elif name.endswith("Attention.q.weight"):
                p.copy_(0.25 * q_scale * noise)
            else:
                p.copy_((0.1 if name.endswith("bias") else 0.25) * noise)
    return model


def cases():
    """(name, module, config)."""
    return [
        ("bart", bart, bart.config(60, 32, 2, 4, 48)),
        ("bart scaled, untied, relu, 4/2 heads, 2/3 layers", bart,
         bart.config(60, 32, 2, 4, 48, scale_embedding=True, tie_word_embeddings=False,
                     activation_function="relu", decoder_attention_heads=2, decoder_layers=3)),
        ("marian shared vocab", marian, marian.config(60, 32, 2, 4, 48)),
        ("marian separate vocab 60/44, untied", marian,
         marian.config(60, 32, 2, 4, 48, decoder_vocab_size=44, share_encoder_decoder_embeddings=False,
                       pad_token_id=43, decoder_start_token_id=43, tie_word_embeddings=False)),
        ("t5 v1.0 (relu, tied)", t5, t5.config(60, 32, 2, 4, 48)),
        ("t5 v1.1 (gated-gelu, untied, d_kv 16, 3 decoder layers, 8 buckets / 12)", t5,
         t5.config(60, 32, 2, 4, 48, d_kv=16, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                   num_decoder_layers=3, relative_attention_num_buckets=8, relative_attention_max_distance=12)),
    ]


def build(module, cfg, dtype=torch.float64, **kwargs):
    cls = next(iter(module.ARCHITECTURES.values()))
    return cls(cfg, **kwargs).to(dtype)


# ---- expected checkpoint names and shapes, from the HF module trees ----

def bart_like_expected(cfg, family):
    C, V, keys = cfg["d_model"], cfg["vocab_size"], {}

    def lin(p, n_out, n_in):
        keys[p + ".weight"], keys[p + ".bias"] = (n_out, n_in), (n_out,)

    def ln(p):
        keys[p + ".weight"], keys[p + ".bias"] = (C,), (C,)

    share = family == "bart" or cfg.get("share_encoder_decoder_embeddings", True)
    target = V if share else cfg["decoder_vocab_size"]
    if share:
        keys["model.shared.weight"] = (V, C)
    else:
        keys["model.encoder.embed_tokens.weight"] = (V, C)
        keys["model.decoder.embed_tokens.weight"] = (target, C)
    keys["final_logits_bias"] = (1, target)
    if not cfg.get("tie_word_embeddings", True):
        keys["lm_head.weight"] = (target, C)
    for stack in ("encoder", "decoder"):
        if family == "bart":  # Marian: sinusoids not saved, no layernorm_embedding
            keys[f"model.{stack}.embed_positions.weight"] = (cfg["max_position_embeddings"] + 2, C)
            ln(f"model.{stack}.layernorm_embedding")
        f = cfg[f"{stack}_ffn_dim"]
        for i in range(cfg[f"{stack}_layers"]):
            p = f"model.{stack}.layers.{i}."
            for attn in ["self_attn"] + (["encoder_attn"] if stack == "decoder" else []):
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    lin(p + attn + "." + proj, C, C)
                ln(p + attn + "_layer_norm")
            lin(p + "fc1", f, C)
            lin(p + "fc2", C, f)
            ln(p + "final_layer_norm")
    return keys


def t5_expected(cfg):
    C, V, inner, f = cfg["d_model"], cfg["vocab_size"], cfg["num_heads"] * cfg["d_kv"], cfg["d_ff"]
    keys = {"shared.weight": (V, C)}
    if not cfg.get("tie_word_embeddings", True):
        keys["lm_head.weight"] = (V, C)
    gated = cfg["feed_forward_proj"].startswith("gated")
    for stack, n in (("encoder", cfg["num_layers"]), ("decoder", cfg["num_decoder_layers"])):
        keys[f"{stack}.final_layer_norm.weight"] = (C,)
        for i in range(n):
            p = f"{stack}.block.{i}.layer."
            parts = ["0.SelfAttention"] + (["1.EncDecAttention"] if stack == "decoder" else [])
            for part in parts:
                for proj in "qkv":
                    keys[f"{p}{part}.{proj}.weight"] = (inner, C)
                keys[f"{p}{part}.o.weight"] = (C, inner)
                keys[f"{p}{part[0]}.layer_norm.weight"] = (C,)
            if i == 0:
                keys[p + "0.SelfAttention.relative_attention_bias.weight"] = (cfg["relative_attention_num_buckets"],
                                                                           cfg["num_heads"])
            ff = p + ("2" if stack == "decoder" else "1")
            for w in (["wi_0", "wi_1"] if gated else ["wi"]):
                keys[f"{ff}.DenseReluDense.{w}.weight"] = (f, C)
            keys[f"{ff}.DenseReluDense.wo.weight"] = (C, f)
            keys[f"{ff}.layer_norm.weight"] = (C,)
    return keys


# ---- independent recomputations ----

def heads(x, n):
    return x.reshape(x.shape[0], n, -1).transpose(0, 1)


def causal(t):
    return torch.ones(t, t, dtype=torch.bool).triu(1)


def mesh_tf_bucket(rel, bidirectional, nb, max_distance):
    """Mesh TensorFlow's _relative_position_bucket on one int (float64 log), rel = key - query."""
    ret, n = 0, -rel
    if bidirectional:
        nb //= 2
        ret += nb if n < 0 else 0
        n = abs(n)
    else:
        n = max(n, 0)
    max_exact = nb // 2
    if n < max_exact:
        return ret + n
    return ret + min(max_exact + int(math.log(n / max_exact) / math.log(max_distance / max_exact)
                                     * (nb - max_exact)), nb - 1)


def sinusoid(n_pos, dim):
    """Marian's table from its definition: column i < dim/2 sin(p / 10000^(2i/dim)), dim/2 + i cos(...)."""
    out = torch.zeros(n_pos, dim, dtype=torch.float64)
    for p in range(n_pos):
        for i in range(dim // 2):
            out[p, i] = math.sin(p / 10000 ** (2 * i / dim))
            out[p, dim // 2 + i] = math.cos(p / 10000 ** (2 * i / dim))
    return out


def check_bart_like(name, family, cfg, model, enc, dec, tr):
    sd, C = model.state_dict(), cfg["d_model"]
    scale = math.sqrt(C) if cfg.get("scale_embedding") else 1.0
    share = family == "bart" or cfg.get("share_encoder_decoder_embeddings", True)
    emb_e = sd["model.shared.weight"] if share else sd["model.encoder.embed_tokens.weight"]
    emb_d = sd["model.shared.weight"] if share else sd["model.decoder.embed_tokens.weight"]
    err = 0.0
    for stack, ids, emb, states in (("encoder", enc, emb_e, tr.encoder_hidden_states),
                                    ("decoder", dec, emb_d, tr.decoder_hidden_states)):
        n = ids.shape[0]
        if family == "bart":  # learned positions read from row 2, then layernorm_embedding
            x = emb[ids] * scale + sd[f"model.{stack}.embed_positions.weight"][2:2 + n]
            p = f"model.{stack}.layernorm_embedding."
            x = F.layer_norm(x, (C,), sd[p + "weight"], sd[p + "bias"], 1e-5)
        else:
            x = emb[ids] * scale + sinusoid(n, C)
        err = max(err, (x - states[0]).abs().max().item())
    what = "LN(emb·scale + pos[p + 2])" if family == "bart" else "emb·scale + sin|cos table[p]"
    close(f"{name}: hidden_states[0] == {what}, both stacks", err, 0.0, 1e-12 if family == "bart" else 1e-7)

    err = 0.0  # every layer's self-attention from its input hidden state and the state dict
    for stack, states, probs_list, h in (
            ("encoder", tr.encoder_hidden_states, tr.encoder_attentions, cfg["encoder_attention_heads"]),
            ("decoder", tr.decoder_hidden_states, tr.decoder_attentions, cfg["decoder_attention_heads"])):
        for l, probs in enumerate(probs_list):
            p = f"model.{stack}.layers.{l}.self_attn."
            q = heads(F.linear(states[l], sd[p + "q_proj.weight"], sd[p + "q_proj.bias"]), h)
            k = heads(F.linear(states[l], sd[p + "k_proj.weight"], sd[p + "k_proj.bias"]), h)
            s = q @ k.transpose(-1, -2) / math.sqrt(C // h)
            if stack == "decoder":
                s = s.masked_fill(causal(s.shape[-1]), float("-inf"))
            err = max(err, (torch.softmax(s, -1) - probs).abs().max().item())
    close(f"{name}: self-attention of every layer == softmax(q·kᵀ/√d) from the state dict", err, 0.0, 1e-12)

    target = emb_d if cfg.get("tie_word_embeddings", True) else sd["lm_head.weight"]
    logits = tr.decoder_hidden_states[-1] @ target.T + sd["final_logits_bias"]
    close(f"{name}: logits == h·{'embedᵀ' if cfg.get('tie_word_embeddings', True) else 'lm_headᵀ'}"
          " + final_logits_bias", tr.logits, logits, 1e-12)
    if family == "marian":
        table = model.model.encoder.positions
        close(f"{name}: position table == sin half | cos half (float32-rounded)", table,
              sinusoid(cfg["max_position_embeddings"], C), 1e-7)
        row0 = torch.cat([torch.zeros(C // 2), torch.ones(C // 2)]).to(table.dtype)
        report(f"{name}: position 0 is [0]*C/2 + [1]*C/2 (no offset, not interleaved)",
               torch.equal(table[0], row0))


def check_t5(name, cfg, model, enc, dec):
    exact = build(t5, cfg, hf_float32=False)  # the same weights without HF's float32 islands
    exact.load_state_dict(model.state_dict())
    tr = exact(enc, dec)
    sd, H, C = exact.state_dict(), cfg["num_heads"], cfg["d_model"]
    nb, md = cfg["relative_attention_num_buckets"], cfg["relative_attention_max_distance"]
    err_bias, err_attn, masked_ok = 0.0, 0.0, True
    for stack, ids, states, probs_list in (("encoder", enc, tr.encoder_hidden_states, tr.encoder_attentions),
                                           ("decoder", dec, tr.decoder_hidden_states, tr.decoder_attentions)):
        n = ids.shape[0]
        table = sd[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]  # (buckets, H)
        bucket = torch.tensor([[mesh_tf_bucket(j - i, stack == "encoder", nb, md) for j in range(n)]
                               for i in range(n)])
        bias0 = table[bucket].permute(2, 0, 1)  # (H, n, n), layer 0's table for every layer
        future = causal(n) if stack == "decoder" else torch.zeros(n, n, dtype=torch.bool)
        for l, probs in enumerate(probs_list):
            used = tr.extras[f"{stack}.position_bias.layer{l}"]
            err_bias = max(err_bias, (used[:, ~future] - bias0[:, ~future]).abs().max().item())
            masked_ok &= bool((used[:, future] == float("-inf")).all())
            p = f"{stack}.block.{l}.layer.0."
            x = states[l]
            x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg["layer_norm_epsilon"])
            x = x * sd[p + "layer_norm.weight"]
            q = heads(F.linear(x, sd[p + "SelfAttention.q.weight"]), H)
            k = heads(F.linear(x, sd[p + "SelfAttention.k.weight"]), H)
            s = (q @ k.transpose(-1, -2) + bias0).masked_fill(future, float("-inf"))  # no 1/sqrt(d_kv)
            err_attn = max(err_attn, (torch.softmax(s, -1) - probs).abs().max().item())
    close(f"{name}: every layer's position bias == layer 0's table at Mesh-TF buckets", err_bias, 0.0, 0.0)
    report(f"{name}: decoder position bias is -inf in the future", masked_ok)
    close(f"{name}: self-attention of every layer == softmax(q·kᵀ + bias0), unscaled, from the state dict",
          err_attn, 0.0, 1e-12)
    h = tr.decoder_hidden_states[-1]
    logits = (h * C ** -0.5) @ sd["shared.weight"].T if cfg["tie_word_embeddings"] else h @ sd["lm_head.weight"].T
    what = "(h·d_model^-½)·sharedᵀ" if cfg["tie_word_embeddings"] else "h·lm_headᵀ, no rescale"
    close(f"{name}: logits == {what}", tr.logits, logits, 1e-12)
    other = model(enc, dec)
    close(f"{name}: HF's float32 islands (RMS variance, softmax) move probabilities by",
          max((a - b).abs().max().item() for a, b in zip(other.encoder_attentions, tr.encoder_attentions)), 0.0, 1e-5)
    rel = torch.arange(-300, 301)
    mism = sum(int(b) != mesh_tf_bucket(int(r), bd, nb, md) for bd in (True, False)
               for r, b in zip(rel, t5.relative_position_bucket(rel, bd, nb, md)))
    report(f"{name}: float32 buckets == float64 Mesh-TF buckets for |relative| <= 300, both directions",
           mism == 0, f"{mism} differ")


def check_case(name, module, cfg, seed):
    family = cfg["model_type"]
    model = randomize(build(module, cfg), seed)
    g = torch.Generator().manual_seed(seed + 100)
    dec_vocab = cfg.get("decoder_vocab_size") or cfg["vocab_size"]
    enc = torch.randint(0, cfg["vocab_size"], (S,), generator=g)
    dec = torch.cat([torch.tensor([model.start_token_id()]), torch.randint(0, dec_vocab, (T - 1,), generator=g)])

    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    want = t5_expected(cfg) if family == "t5" else bart_like_expected(cfg, family)
    detail = f"{len(sd)} tensors" if sd == want else (
        f"extra {sorted(set(sd) - set(want))} missing {sorted(set(want) - set(sd))} "
        f"shape {[k for k in set(sd) & set(want) if sd[k] != want[k]]}")
    report(f"{name}: state_dict names and shapes are HF's", sd == want, detail)

    tr = model(enc, dec)
    n_enc, n_dec = len(tr.encoder_attentions), len(tr.decoder_attentions)
    shapes = (all(a.shape[1:] == (S, S) for a in tr.encoder_attentions)
              and all(a.shape[1:] == (T, T) for a in tr.decoder_attentions)
              and all(a.shape[1:] == (T, S) for a in tr.cross_attentions)
              and len(tr.cross_attentions) == n_dec and tr.logits.shape == (T, dec_vocab)
              and len(tr.encoder_hidden_states) == n_enc + 1 and len(tr.decoder_hidden_states) == n_dec + 1)
    report(f"{name}: shapes ({n_enc} enc / {n_dec} dec layers, [H,S,S] [H,T,T] [H,T,S], "
           f"logits [T,{dec_vocab}])", shapes)
    everything = tr.encoder_attentions + tr.decoder_attentions + tr.cross_attentions
    close(f"{name}: every attention row sums to 1",
          max((a.sum(-1) - 1).abs().max().item() for a in everything), 0.0, 1e-6)
    future = max(a[:, causal(T)].abs().max().item() for a in tr.decoder_attentions)
    past = min(a[:, ~causal(T)].min().item() for a in tr.decoder_attentions)
    report(f"{name}: decoder self-attention causal (future exactly 0, past > 0)", future == 0.0 and past > 0,
           f"max future {future}, min past {past:.1e}")
    report(f"{name}: encoder and cross attention see every source token",
           min(a.min().item() for a in tr.encoder_attentions + tr.cross_attentions) > 0)

    if family == "t5":
        check_t5(name, cfg, model, enc, dec)
    else:
        check_bart_like(name, family, cfg, model, enc, dec, tr)

    for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-12)):
        m = model.to(dtype)
        cross_k = [(blk.layer[1].EncDecAttention.k if family == "t5" else blk.encoder_attn.k_proj)
                   for blk in (m.decoder.block if family == "t5" else m.model.decoder.layers)]
        calls = []
        hooks = [lin.register_forward_hook(lambda *_: calls.append(1)) for lin in cross_k]
        ids, gen = m.generate(enc, NEW, stop_at_eos=False)
        for hk in hooks:
            hk.remove()
        full = m(enc, ids[:-1])
        pairs = ([(gen.logits, full.logits)] + list(zip(gen.decoder_attentions, full.decoder_attentions))
                 + list(zip(gen.cross_attentions, full.cross_attentions))
                 + list(zip(gen.encoder_attentions, full.encoder_attentions))
                 + list(zip(gen.decoder_hidden_states, full.decoder_hidden_states)))
        # Relative to each tensor's scale: float32 GEMMs of 1 and n rows round differently, and
        # the residual stream grows (|h| up to ~16 here), so an absolute 1e-5 would test rounding.
        err = max(((a - b).abs().max() / max(1.0, b.abs().max().item())).item() for a, b in pairs)
        kind = str(dtype).replace("torch.", "")
        close(f"{name}: {kind} cached generation ({NEW} steps) == full decoder re-run "
              "(logits, self/cross/encoder attentions, hidden states; err / max(1, |x|))", err, 0.0, tol)
        report(f"{name}: {kind} greedy ids are the argmax of the re-run, start {ids[0].item()}",
               ids[0].item() == model.start_token_id() and torch.equal(ids[1:], full.logits.argmax(-1)),
               f"ids {ids.tolist()}")
        report(f"{name}: {kind} cross-attention keys projected once per decoder layer",
               len(calls) == len(cross_k), f"{len(calls)} projections for {len(cross_k)} layers")
    model.to(torch.float64)


def main():
    torch.set_num_threads(1)
    for seed, (name, module, cfg) in enumerate(cases()):
        check_case(name, module, cfg, 4100 + seed)
    print(f"\n{len(FAILURES)} failure(s)" if FAILURES else "\nall checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
