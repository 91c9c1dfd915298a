"""Batched training forwards over the parameters of the reference models in tools/reference/.

The reference modules (reference.gpt2 / reference.bert / reference.llama) own the parameters, so every
state_dict() name is exactly Hugging Face's. Their own forward runs one unbatched sequence
and records a Trace; these functions compute the same maths for a batch (B, T), with
dropout, through torch.nn.functional, fast enough to train. train_common.check_saved_folder
checks a saved model's reference forward against these.
"""
import math

import torch
import torch.nn.functional as F

from reference import llama, rope


def _heads(x, n_head):
    """(B, T, C) -> (B, H, T, d)."""
    b, t, c = x.shape
    return x.view(b, t, n_head, c // n_head).transpose(1, 2)


def _attend(q, k, v, mask, dropout, training, gate=None):
    """q, k, v: (B, H, T, d); mask: bool, True = forbidden, broadcast to (B, H, T, T).
    gate: optional (B, H) factors for each head's output (0 switches a head off, as
    Hugging Face's head_mask does). Returns the merged context (B, T, C) and the
    probabilities (B, H, T, T)."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    probs = scores.masked_fill(mask, float("-inf")).softmax(-1)
    context = F.dropout(probs, dropout, training) @ v  # (B, H, T, d)
    if gate is not None:
        context = context * gate[:, :, None, None]
    b, h, t, d = context.shape
    return context.transpose(1, 2).reshape(b, t, h * d), probs


def _layer_norm(x, ln, eps):
    return F.layer_norm(x, (x.shape[-1],), ln.weight, ln.bias, eps)


def gpt2_forward(model, ids, dropout=0.0, keep_attentions=False, skip_mlp=False, n_layers=None,
                 residuals=None, head_gates=None):
    """model: reference.gpt2.GPT2LMHeadModel; ids: (B, T) int64. skip_mlp: leave the MLPs
    out (exactly equal when their weights and biases are all zero, as gelu(0) = 0).
    n_layers: run only the first n blocks (the rest are skipped, as if they added nothing).
    residuals: a list to append the residual stream (B, T, C) after each block to.
    keep_attentions="with_grad" keeps the probabilities in the autograd graph (for losses on them).
    head_gates: optional {layer: (B, H) factors} for the heads' outputs (0 = switched off).
    Returns (logits (B, T, V), attentions: per layer (B, H, T, T) if keep_attentions)."""
    cfg, tr = model.cfg, model.transformer
    eps, n_head, training = cfg["layer_norm_epsilon"], cfg["n_head"], model.training
    t = ids.shape[1]
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # (T, T) future positions
    x = F.dropout(tr.wte.weight[ids] + tr.wpe.weight[:t], dropout, training)  # (B, T, C)
    attentions = []
    for layer, block in enumerate(tr.h[:n_layers]):
        a = block.attn
        qkv = _layer_norm(x, block.ln_1, eps) @ a.c_attn.weight + a.c_attn.bias  # (B, T, 3C)
        q, k, v = (_heads(z, n_head) for z in qkv.chunk(3, dim=-1))
        gate = (head_gates or {}).get(layer)
        context, probs = _attend(q, k, v, mask, dropout, training, gate)
        x = x + F.dropout(context @ a.c_proj.weight + a.c_proj.bias, dropout, training)
        if not skip_mlp:
            m = block.mlp
            h = F.gelu(_layer_norm(x, block.ln_2, eps) @ m.c_fc.weight + m.c_fc.bias,
                       approximate="tanh")
            x = x + F.dropout(h @ m.c_proj.weight + m.c_proj.bias, dropout, training)
        if keep_attentions:
            attentions.append(probs if keep_attentions == "with_grad" else probs.detach())
        if residuals is not None:
            residuals.append(x)
    x = _layer_norm(x, tr.ln_f, eps)
    return x @ tr.wte.weight.T, attentions  # tied lm_head


def bert_mlm_forward(model, ids, token_types, pad_mask, dropout=0.0, keep_attentions=False,
                     positions=None):
    """model: reference.bert.BertForMaskedLM; ids, token_types: (B, T) int64; pad_mask: (B, T)
    bool, True on [PAD]. positions: optional (M,) flat indices into B·T; then only those rows
    go through the MLM head. Returns (logits (B, T, V) or (M, V), attentions)."""
    bert = model.bert
    cfg = bert.cfg
    eps, n_head, training = cfg["layer_norm_eps"], cfg["num_attention_heads"], model.training
    emb = bert.embeddings
    t = ids.shape[1]
    x = (emb.word_embeddings.weight[ids] + emb.token_type_embeddings.weight[token_types]
         + emb.position_embeddings.weight[:t])  # (B, T, C)
    x = F.dropout(_layer_norm(x, emb.LayerNorm, eps), dropout, training)
    mask = pad_mask[:, None, None, :]  # (B, 1, 1, T) padded keys
    attentions = []
    for layer in bert.encoder.layer:
        s = layer.attention.self
        q, k, v = (_heads(F.linear(x, f.weight, f.bias), n_head) for f in (s.query, s.key, s.value))
        context, probs = _attend(q, k, v, mask, dropout, training)
        o = layer.attention.output
        x = _layer_norm(x + F.dropout(F.linear(context, o.dense.weight, o.dense.bias), dropout,
                                      training), o.LayerNorm, eps)
        h = F.gelu(F.linear(x, layer.intermediate.dense.weight, layer.intermediate.dense.bias))
        o = layer.output
        x = _layer_norm(x + F.dropout(F.linear(h, o.dense.weight, o.dense.bias), dropout,
                                      training), o.LayerNorm, eps)
        if keep_attentions:
            attentions.append(probs.detach())
    if positions is not None:
        x = x.reshape(-1, x.shape[-1])[positions]  # (M, C)
    head = model.cls.predictions
    tf = head.transform
    h = _layer_norm(F.gelu(F.linear(x, tf.dense.weight, tf.dense.bias)), tf.LayerNorm, eps)
    return h @ emb.word_embeddings.weight.T + head.bias, attentions  # tied decoder


def _rms_norm(x, norm, eps):
    """LlamaRMSNorm (reference.llama.RMSNorm, gemma=False): normalise in float32, cast back,
    then scale."""
    xf = x.float()
    return norm.weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def _banded_attention(q, k, v, scaling, window):
    """Sliding-window attention computed block by block: the same probabilities as the dense
    masked softmax (query i sees keys i-window+1 .. i), but each block of `window` queries only
    scores its own block of keys and the one before (T·2w scores instead of T·T).
    q, k, v: (B, H, T, d). Returns the context (B, H, T, d)."""
    b, h, t, d = q.shape
    w = window
    pad = (-t) % w  # padded keys sit after every real query, so the causal mask hides them
    if pad:
        q, k, v = (F.pad(z, (0, 0, 0, pad)) for z in (q, k, v))
    n = (t + pad) // w
    qb, kb, vb = (z.reshape(b, h, n, w, d) for z in (q, k, v))  # (B, H, n, w, d)
    # Block i's keys: block i-1 (zeros before block 0, masked) then block i: (B, H, n, 2w, d)
    kk = torch.cat((F.pad(kb, (0, 0, 0, 0, 1, 0))[:, :, :-1], kb), dim=3)
    vv = torch.cat((F.pad(vb, (0, 0, 0, 0, 1, 0))[:, :, :-1], vb), dim=3)
    back = torch.arange(w)[:, None] + w - torch.arange(2 * w)[None, :]  # (w, 2w) query − key
    forbidden = ((back < 0) | (back >= w)).expand(n, w, 2 * w).clone()  # (n, w, 2w)
    forbidden[0, :, :w] = True  # block 0 has no block before it
    scores = (qb @ kk.transpose(-1, -2)) * scaling  # (B, H, n, w, 2w)
    probs = scores.masked_fill(forbidden, float("-inf")).softmax(-1)
    return (probs @ vv).reshape(b, h, n * w, d)[:, :, :t]


def llama_forward(model, ids, keep_attentions=False):
    """model: reference.llama.DecoderForCausalLM of a llama / mistral / qwen2 / qwen3 config
    (not Gemma: no soft-caps, sandwich norms or embedding scale here); ids: (B, T) int64.
    Same maths as the reference: RMSNorm, q/k norm (Qwen3) before RoPE (reference.rope),
    grouped KV heads by repeat_interleave (query head h uses KV head h // rep), causal mask
    plus each sliding layer's window (reference.llama.forbidden_mask), SwiGLU MLP. Without
    keep_attentions, sliding layers use _banded_attention (equal up to rounding).
    Returns (logits (B, T, V), attentions: per layer (B, H, T, T) if keep_attentions)."""
    cfg, dec = model.cfg, model.model
    if cfg["model_type"].startswith("gemma"):
        raise ValueError("llama_forward does not implement Gemma's differences")
    eps = cfg["rms_norm_eps"]
    b, t = ids.shape
    x = dec.embed_tokens.weight[ids]  # (B, T, C)
    cos, sin = dec.rotary(t, x.dtype)  # (T, d)
    masks = {}
    attentions = []
    for layer in dec.layers:
        a = layer.self_attn
        h, kv, d = a.num_heads, a.num_kv_heads, a.head_dim
        y = _rms_norm(x, layer.input_layernorm, eps)
        q = F.linear(y, a.q_proj.weight, a.q_proj.bias).view(b, t, h, d).transpose(1, 2)  # (B, H, T, d)
        k = F.linear(y, a.k_proj.weight, a.k_proj.bias).view(b, t, kv, d).transpose(1, 2)  # (B, KV, T, d)
        v = F.linear(y, a.v_proj.weight, a.v_proj.bias).view(b, t, kv, d).transpose(1, 2)
        if a.q_norm is not None:
            q, k = _rms_norm(q, a.q_norm, eps), _rms_norm(k, a.k_norm, eps)
        q, k = rope.apply(q, cos, sin), rope.apply(k, cos, sin)
        k = k.repeat_interleave(h // kv, dim=1)  # (B, H, T, d)
        v = v.repeat_interleave(h // kv, dim=1)
        if a.window is not None and not keep_attentions and t > 2 * a.window:
            context, probs = _banded_attention(q, k, v, a.scaling, a.window), None
        else:
            if a.window not in masks:
                masks[a.window] = llama.forbidden_mask(t, a.window)  # (T, T)
            scores = (q @ k.transpose(-1, -2)) * a.scaling  # (B, H, T, T)
            probs = scores.masked_fill(masks[a.window], float("-inf")).softmax(-1)
            context = probs @ v  # (B, H, T, d)
        context = context.transpose(1, 2).reshape(b, t, h * d)  # (B, T, H·d)
        x = x + F.linear(context, a.o_proj.weight, a.o_proj.bias)
        m = layer.mlp
        y = _rms_norm(x, layer.post_attention_layernorm, eps)
        gate = F.linear(y, m.gate_proj.weight, m.gate_proj.bias)
        x = x + F.linear(F.silu(gate) * F.linear(y, m.up_proj.weight, m.up_proj.bias),
                         m.down_proj.weight, m.down_proj.bias)
        if keep_attentions:
            attentions.append(probs.detach())
    x = _rms_norm(x, dec.norm, eps)
    return x @ model.head_weight().T, attentions


def _bart_attention(attn, x, memory, mask, dropout, training):
    """reference.bart.BartAttention over a batch: queries from x (B, T, C), keys and values from
    memory (B, S, C); mask: bool, True = forbidden, broadcast to (B, H, T, S). Returns the output
    (B, T, C) and the probabilities (B, H, T, S)."""
    q, k, v = (_heads(F.linear(z, f.weight, f.bias), attn.num_heads)
               for z, f in ((x, attn.q_proj), (memory, attn.k_proj), (memory, attn.v_proj)))
    context, probs = _attend(q, k, v, mask, dropout, training)
    return F.linear(context, attn.out_proj.weight, attn.out_proj.bias), probs


def _bart_ffn(layer, x, act, dropout, training):
    h = F.dropout(act(F.linear(x, layer.fc1.weight, layer.fc1.bias)), dropout, training)
    return F.dropout(F.linear(h, layer.fc2.weight, layer.fc2.bias), dropout, training)


def marian_forward(model, src, src_pad, tgt, dropout=0.0, keep_attentions=False):
    """model: reference.marian.MarianMTModel with a shared vocabulary; src: (B, S) int64 source
    ids, src_pad: (B, S) bool, True on padding; tgt: (B, T) decoder inputs (start token first;
    padding after the last real token needs no mask: the causal mask keeps it from every real
    query). The reference's maths (BART's post-norm layers, sinusoidal positions, scaled
    embeddings, final_logits_bias). Returns (logits (B, T, V), cross-attentions: per decoder
    layer (B, H, T, S) if keep_attentions; "with_grad" keeps them in the autograd graph)."""
    from reference import bart
    cfg, m = model.cfg, model.model
    training = model.training
    act = bart.act_fn(cfg["activation_function"])
    table = m.encoder_table()
    enc, dec = m.encoder, m.decoder
    s, t = src.shape[1], tgt.shape[1]
    pad = src_pad[:, None, None, :]  # (B, 1, 1, S) padded keys
    x = F.dropout(table[src] * enc.embed_scale + enc.positions[:s], dropout, training)
    for layer in enc.layers:
        a, _ = _bart_attention(layer.self_attn, x, x, pad, dropout, training)
        x = _layer_norm(x + F.dropout(a, dropout, training), layer.self_attn_layer_norm, 1e-5)
        x = _layer_norm(x + _bart_ffn(layer, x, act, dropout, training), layer.final_layer_norm, 1e-5)
    causal = torch.ones(t, t, dtype=torch.bool).triu(1)
    y = F.dropout(table[tgt] * dec.embed_scale + dec.positions[:t], dropout, training)
    cross = []
    for layer in dec.layers:
        a, _ = _bart_attention(layer.self_attn, y, y, causal, dropout, training)
        y = _layer_norm(y + F.dropout(a, dropout, training), layer.self_attn_layer_norm, 1e-5)
        a, probs = _bart_attention(layer.encoder_attn, y, x, pad, dropout, training)
        y = _layer_norm(y + F.dropout(a, dropout, training), layer.encoder_attn_layer_norm, 1e-5)
        y = _layer_norm(y + _bart_ffn(layer, y, act, dropout, training), layer.final_layer_norm, 1e-5)
        if keep_attentions:
            cross.append(probs if keep_attentions == "with_grad" else probs.detach())
    return y @ table.T + model.final_logits_bias, cross
