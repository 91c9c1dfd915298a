"""Self-checks of the reference models and tokenizers, run by make_fixtures.py.

Each check returns the maximum absolute error it found; the caller compares it with a bound.
The independent checks rebuild a layer from PyTorch's own modules (nn.MultiheadAttention,
nn.TransformerEncoderLayer, torch.nn.functional) with copied weights.
"""
import torch
import torch.nn.functional as F
from torch import nn

from . import safetensors_io, tokenizers
from .common import causal_mask, gelu_erf, gelu_tanh, layer_norm


def ops_vs_torch():
    """Our layer_norm / GELUs against torch.nn.functional on random data."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 33, generator=g, dtype=torch.float64) * 3
    w, b = torch.randn(33, generator=g, dtype=torch.float64), torch.randn(33, generator=g, dtype=torch.float64)
    return max(
        (layer_norm(x, w, b, 1e-5) - F.layer_norm(x, (33,), w, b, 1e-5)).abs().max().item(),
        (gelu_erf(x) - F.gelu(x)).abs().max().item(),
        (gelu_tanh(x) - F.gelu(x, approximate="tanh")).abs().max().item(),
    )


def rows_sum_to_one(trace):
    return max((a.sum(-1) - 1).abs().max().item() for a in trace.attentions)


def causal_zeros(trace):
    """Largest attention probability on a future position (must be exactly 0)."""
    n = trace.attentions[0].shape[-1]
    return max(a[:, causal_mask(n)].abs().max().item() if n > 1 else 0.0 for a in trace.attentions)


def gpt2_consistency(model, input_ids, trace):
    """logits == hidden[L] @ wteᵀ, and running a prefix reproduces the prefix's positions."""
    wte = model.transformer.wte.weight
    err = (trace.hidden_states[-1] @ wte.T - trace.logits).abs().max().item()
    k = max(1, input_ids.shape[0] // 2)
    prefix = model(input_ids[:k])
    err = max(err, (prefix.logits - trace.logits[:k]).abs().max().item())
    for a, b in zip(prefix.attentions, trace.attentions):
        err = max(err, (a - b[:, :k, :k]).abs().max().item())
    for a, b in zip(prefix.hidden_states[:-1], trace.hidden_states[:-1]):
        err = max(err, (a - b[:k]).abs().max().item())
    return err


def _encoder_layer(c, heads, ffn, eps, act, norm_first, weights):
    """nn.TransformerEncoderLayer (float64) from weights given in nn.Linear layout [out, in]."""
    layer = nn.TransformerEncoderLayer(c, heads, ffn, dropout=0.0, activation=act,
                                       layer_norm_eps=eps, batch_first=True,
                                       norm_first=norm_first).double().eval()
    with torch.no_grad():
        for name, value in weights.items():
            layer.get_parameter(name).copy_(value)
    return layer


def _mha_probs(layer, x, mask):
    """Per-head attention probabilities from nn.MultiheadAttention, (H, N, N)."""
    _, probs = layer.self_attn(x[None], x[None], x[None], attn_mask=mask, need_weights=True,
                               average_attn_weights=False)
    return probs[0]


def _compare(layer, x_in, x_out, probs_in, probs_ref, mask=None):
    out = layer(x_in[None], src_mask=mask)[0]
    return max((out - x_out).abs().max().item(),
               (_mha_probs(layer, probs_in, mask) - probs_ref).abs().max().item())


def bert_layers_vs_torch(model, trace):
    """Every BERT layer against a post-LN nn.TransformerEncoderLayer with copied weights."""
    bert = getattr(model, "bert", model)
    cfg = bert.cfg
    err = 0.0
    for i, lyr in enumerate(bert.encoder.layer):
        att = lyr.attention
        w = {
            "self_attn.in_proj_weight": torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]),
            "self_attn.in_proj_bias": torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]),
            "self_attn.out_proj.weight": att.output.dense.weight, "self_attn.out_proj.bias": att.output.dense.bias,
            "norm1.weight": att.output.LayerNorm.weight, "norm1.bias": att.output.LayerNorm.bias,
            "linear1.weight": lyr.intermediate.dense.weight, "linear1.bias": lyr.intermediate.dense.bias,
            "linear2.weight": lyr.output.dense.weight, "linear2.bias": lyr.output.dense.bias,
            "norm2.weight": lyr.output.LayerNorm.weight, "norm2.bias": lyr.output.LayerNorm.bias,
        }
        layer = _encoder_layer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"],
                               cfg["layer_norm_eps"], "gelu", False, w)
        x = trace.hidden_states[i]
        err = max(err, _compare(layer, x, trace.hidden_states[i + 1], x, trace.attentions[i]))
    return err


def distilbert_layers_vs_torch(model, trace):
    """Every DistilBERT block against a post-LN nn.TransformerEncoderLayer."""
    cfg, err = model.distilbert.cfg, 0.0
    for i, blk in enumerate(model.distilbert.transformer.layer):
        a = blk.attention
        w = {
            "self_attn.in_proj_weight": torch.cat([a.q_lin.weight, a.k_lin.weight, a.v_lin.weight]),
            "self_attn.in_proj_bias": torch.cat([a.q_lin.bias, a.k_lin.bias, a.v_lin.bias]),
            "self_attn.out_proj.weight": a.out_lin.weight, "self_attn.out_proj.bias": a.out_lin.bias,
            "norm1.weight": blk.sa_layer_norm.weight, "norm1.bias": blk.sa_layer_norm.bias,
            "linear1.weight": blk.ffn.lin1.weight, "linear1.bias": blk.ffn.lin1.bias,
            "linear2.weight": blk.ffn.lin2.weight, "linear2.bias": blk.ffn.lin2.bias,
            "norm2.weight": blk.output_layer_norm.weight, "norm2.bias": blk.output_layer_norm.bias,
        }
        layer = _encoder_layer(cfg["dim"], cfg["n_heads"], cfg["hidden_dim"], 1e-12, "gelu", False, w)
        x = trace.hidden_states[i]
        err = max(err, _compare(layer, x, trace.hidden_states[i + 1], x, trace.attentions[i]))
    return err


def gpt2_layers_vs_torch(model, trace):
    """Every GPT-2 block against a pre-LN (norm_first) nn.TransformerEncoderLayer with a
    causal mask and tanh-GELU; Conv1D weights are transposed into nn.Linear layout."""
    cfg, tr, err = model.cfg, model.transformer, 0.0
    eps, n = cfg["layer_norm_epsilon"], trace.hidden_states[0].shape[0]
    mask = causal_mask(n)
    for i, blk in enumerate(tr.h):
        w = {
            "self_attn.in_proj_weight": blk.attn.c_attn.weight.T, "self_attn.in_proj_bias": blk.attn.c_attn.bias,
            "self_attn.out_proj.weight": blk.attn.c_proj.weight.T, "self_attn.out_proj.bias": blk.attn.c_proj.bias,
            "norm1.weight": blk.ln_1.weight, "norm1.bias": blk.ln_1.bias,
            "linear1.weight": blk.mlp.c_fc.weight.T, "linear1.bias": blk.mlp.c_fc.bias,
            "linear2.weight": blk.mlp.c_proj.weight.T, "linear2.bias": blk.mlp.c_proj.bias,
            "norm2.weight": blk.ln_2.weight, "norm2.bias": blk.ln_2.bias,
        }
        layer = _encoder_layer(cfg["n_embd"], cfg["n_head"], blk.mlp.c_fc.weight.shape[1], eps,
                               lambda t: F.gelu(t, approximate="tanh"), True, w)
        x = trace.hidden_states[i]
        out = layer(x[None], src_mask=mask)[0]
        if i == len(tr.h) - 1:  # HF's last hidden state is after ln_f
            out = F.layer_norm(out, out.shape[-1:], tr.ln_f.weight, tr.ln_f.bias, eps)
        ln1 = F.layer_norm(x, x.shape[-1:], blk.ln_1.weight, blk.ln_1.bias, eps)
        probs = _mha_probs(layer, ln1, mask)
        err = max(err, (out - trace.hidden_states[i + 1]).abs().max().item(),
                  (probs - trace.attentions[i]).abs().max().item())
    return err


def heads_vs_torch(model, trace):
    """The task heads recomputed from the last hidden state with torch.nn.functional."""
    h = trace.hidden_states[-1]
    name = type(model).__name__
    if name == "BertForMaskedLM":
        p = model.cls.predictions
        t = F.gelu(F.linear(h, p.transform.dense.weight, p.transform.dense.bias))
        t = F.layer_norm(t, t.shape[-1:], p.transform.LayerNorm.weight, p.transform.LayerNorm.bias,
                         model.bert.cfg["layer_norm_eps"])
        ref = F.linear(t, model.bert.embeddings.word_embeddings.weight, p.bias)
    elif name == "BertForSequenceClassification":
        pooled = torch.tanh(F.linear(h[0], model.bert.pooler.dense.weight, model.bert.pooler.dense.bias))
        ref = F.linear(pooled, model.classifier.weight, model.classifier.bias)
    elif name == "DistilBertForMaskedLM":
        t = F.gelu(F.linear(h, model.vocab_transform.weight, model.vocab_transform.bias))
        t = F.layer_norm(t, t.shape[-1:], model.vocab_layer_norm.weight, model.vocab_layer_norm.bias, 1e-12)
        ref = F.linear(t, model.distilbert.embeddings.word_embeddings.weight, model.vocab_projector.bias)
    elif name == "DistilBertForSequenceClassification":
        t = F.relu(F.linear(h[0], model.pre_classifier.weight, model.pre_classifier.bias))
        ref = F.linear(t, model.classifier.weight, model.classifier.bias)
    elif name == "GPT2LMHeadModel":
        ref = F.linear(h, model.transformer.wte.weight)
    else:
        return 0.0
    return (ref - trace.logits).abs().max().item()


def safetensors_round_trip(tmp_path):
    """Writes every supported dtype and reads it back; returns the number of mismatches."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, generator=g)
    tensors = {"f32": x, "f16": x.half(), "bf16": x.bfloat16(), "f64": x.double(),
               "i32": torch.arange(-3, 4, dtype=torch.int32), "scalar": torch.tensor(2.5),
               "empty": torch.zeros(0, 4)}
    safetensors_io.write(tmp_path, tensors, {"k": "v"})
    back, meta = safetensors_io.read(tmp_path)
    bad = int(meta != {"k": "v"}) + int(set(back) != set(tensors))
    for k, t in tensors.items():
        bad += int(back[k].dtype != t.dtype or not torch.equal(back[k], t))
    return bad


def tokenizer_cases(bpe, texts):
    """Known answers from Hugging Face's test_tokenization_bert.py, GPT-2's byte map, and
    decode(encode(t)) == t for the byte-level BPE `bpe` on `texts`.
    Returns a list of failure descriptions (empty when all pass)."""
    failures = []

    def expect(got, want, what):
        if got != want:
            failures.append(f"{what}: got {got}, want {want}")

    expect(tokenizers.basic_tokenize(" \tHeLLo!how  \n Are yoU?  "),
           ["hello", "!", "how", "are", "you", "?"], "basic lower")
    expect(tokenizers.basic_tokenize("H\u00e9llo"), ["hello"], "accent strip")
    expect(tokenizers.basic_tokenize("ah\u535a\u63a8zz"), ["ah", "\u535a", "\u63a8", "zz"], "CJK")
    vocab = {t: i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed",
                                         "wa", "un", "runn", "##ing"])}
    pieces = [p for w in "unwanted running".split() for p in tokenizers.wordpiece(w, vocab)]
    expect(pieces, ["un", "##want", "##ed", "runn", "##ing"], "wordpiece")
    expect(tokenizers.wordpiece("unwantedX", vocab), ["[UNK]"], "wordpiece unk")
    byte_map = tokenizers.BYTE_ENCODER
    expect((len(set(byte_map.values())), byte_map[32], byte_map[10], byte_map[33]),
           (256, "\u0120", "\u010a", "!"), "bytes_to_unicode")
    expect(tokenizers.GPT2_PATTERN.findall("I've  2 cats!\n"),
           ["I", "'ve", " ", " 2", " cats", "!", "\n"], "gpt2 pre-tokenizer")
    for t in texts:
        expect(bpe.decode(bpe.encode(t)[1]), t, "bpe round trip")
    return failures
