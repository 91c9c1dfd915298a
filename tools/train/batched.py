"""Batched training forwards over the parameters of the reference models in tools/reference/.

The reference modules (reference.gpt2 / reference.bert) own the parameters, so every
state_dict() name is exactly Hugging Face's. Their own forward runs one unbatched sequence
and records a Trace; these functions compute the same maths for a batch (B, T), with
dropout, through torch.nn.functional, fast enough to train. train_common.check_saved_folder
checks a saved model's reference forward against these.
"""
import math

import torch
import torch.nn.functional as F


def _heads(x, n_head):
    """(B, T, C) -> (B, H, T, d)."""
    b, t, c = x.shape
    return x.view(b, t, n_head, c // n_head).transpose(1, 2)


def _attend(q, k, v, mask, dropout, training):
    """q, k, v: (B, H, T, d); mask: bool, True = forbidden, broadcast to (B, H, T, T).
    Returns the merged context (B, T, C) and the probabilities (B, H, T, T)."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    probs = scores.masked_fill(mask, float("-inf")).softmax(-1)
    context = F.dropout(probs, dropout, training) @ v  # (B, H, T, d)
    b, h, t, d = context.shape
    return context.transpose(1, 2).reshape(b, t, h * d), probs


def _layer_norm(x, ln, eps):
    return F.layer_norm(x, (x.shape[-1],), ln.weight, ln.bias, eps)


def gpt2_forward(model, ids, dropout=0.0, keep_attentions=False, skip_mlp=False, n_layers=None,
                 residuals=None):
    """model: reference.gpt2.GPT2LMHeadModel; ids: (B, T) int64. skip_mlp: leave the MLPs
    out (exactly equal when their weights and biases are all zero, as gelu(0) = 0).
    n_layers: run only the first n blocks (the rest are skipped, as if they added nothing).
    residuals: a list to append the residual stream (B, T, C) after each block to.
    keep_attentions="with_grad" keeps the probabilities in the autograd graph (for losses on them).
    Returns (logits (B, T, V), attentions: per layer (B, H, T, T) if keep_attentions)."""
    cfg, tr = model.cfg, model.transformer
    eps, n_head, training = cfg["layer_norm_epsilon"], cfg["n_head"], model.training
    t = ids.shape[1]
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # (T, T) future positions
    x = F.dropout(tr.wte.weight[ids] + tr.wpe.weight[:t], dropout, training)  # (B, T, C)
    attentions = []
    for block in tr.h[:n_layers]:
        a = block.attn
        qkv = _layer_norm(x, block.ln_1, eps) @ a.c_attn.weight + a.c_attn.bias  # (B, T, 3C)
        q, k, v = (_heads(z, n_head) for z in qkv.chunk(3, dim=-1))
        context, probs = _attend(q, k, v, mask, dropout, training)
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
