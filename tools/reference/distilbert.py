"""Reference DistilBERT (Sanh et al. 2019), with Hugging Face's module and parameter names.

Like BERT without token types or pooler: learned positions, post-LN blocks
x = sa_layer_norm(x + out_lin(Attn(x))); x = output_layer_norm(x + lin2(act(lin1(x)))).
All LayerNorms use eps 1e-12 (hard-coded in HF). The MLM projector weight is tied to the
word embeddings; only `vocab_projector.bias` is a parameter.
"""
import torch
from torch import nn

from .common import LayerNorm, Trace, activation, attention, split_heads

EPS = 1e-12


def config(vocab_size, dim, n_layers, n_heads, hidden_dim,
           architecture="DistilBertModel", max_positions=64, labels=None, torch_dtype="float32"):
    """A Hugging Face DistilBertConfig dict (as written to config.json)."""
    cfg = {
        "activation": "gelu",
        "architectures": [architecture],
        "attention_dropout": 0.1,
        "dim": dim,
        "dropout": 0.1,
        "hidden_dim": hidden_dim,
        "initializer_range": 0.02,
        "max_position_embeddings": max_positions,
        "model_type": "distilbert",
        "n_heads": n_heads,
        "n_layers": n_layers,
        "pad_token_id": 0,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "sinusoidal_pos_embds": False,
        "tie_weights_": True,
        "torch_dtype": torch_dtype,
        "vocab_size": vocab_size,
    }
    if labels:
        cfg["id2label"] = {str(i): label for i, label in enumerate(labels)}
        cfg["label2id"] = {label: i for i, label in enumerate(labels)}
    return cfg


class Embeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], cfg["dim"])
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], cfg["dim"])
        self.LayerNorm = LayerNorm(cfg["dim"], EPS)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[0])
        x = self.word_embeddings.weight[input_ids] + self.position_embeddings.weight[positions]
        return self.LayerNorm(x)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["dim"]
        self.n_heads = cfg["n_heads"]
        self.q_lin = nn.Linear(d, d)
        self.k_lin = nn.Linear(d, d)
        self.v_lin = nn.Linear(d, d)
        self.out_lin = nn.Linear(d, d)

    def forward(self, x, trace):
        q, k, v = (split_heads(f(x), self.n_heads) for f in (self.q_lin, self.k_lin, self.v_lin))
        return self.out_lin(attention(q, k, v, causal=False, trace=trace))


class FFN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.lin1 = nn.Linear(cfg["dim"], cfg["hidden_dim"])
        self.lin2 = nn.Linear(cfg["hidden_dim"], cfg["dim"])
        self.act = activation(cfg["activation"])

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = MultiHeadSelfAttention(cfg)
        self.sa_layer_norm = LayerNorm(cfg["dim"], EPS)
        self.ffn = FFN(cfg)
        self.output_layer_norm = LayerNorm(cfg["dim"], EPS)

    def forward(self, x, trace):
        a = self.sa_layer_norm(self.attention(x, trace) + x)
        return self.output_layer_norm(self.ffn(a) + a)


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg["n_layers"]))


class DistilBertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg)
        self.transformer = Transformer(cfg)

    def forward(self, input_ids):
        """input_ids: (N,) int. Returns a Trace (no logits)."""
        trace = Trace()
        x = self.embeddings(input_ids)
        trace.hidden_states.append(x)
        for layer in self.transformer.layer:
            x = layer(x, trace)
            trace.hidden_states.append(x)
        return trace


class TiedProjector(nn.Module):
    """vocab_projector: its weight is the word embedding matrix, only the bias is its own."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, h, weight):
        return h @ weight.T + self.bias


class DistilBertForMaskedLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.distilbert = DistilBertModel(cfg)
        self.vocab_transform = nn.Linear(cfg["dim"], cfg["dim"])
        self.act = activation(cfg["activation"])
        self.vocab_layer_norm = LayerNorm(cfg["dim"], EPS)
        self.vocab_projector = TiedProjector(cfg["vocab_size"])

    def forward(self, input_ids):
        trace = self.distilbert(input_ids)
        h = self.vocab_layer_norm(self.act(self.vocab_transform(trace.hidden_states[-1])))
        trace.logits = self.vocab_projector(h, self.distilbert.embeddings.word_embeddings.weight)
        return trace  # logits (N, V)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.distilbert = DistilBertModel(cfg)
        self.pre_classifier = nn.Linear(cfg["dim"], cfg["dim"])
        self.classifier = nn.Linear(cfg["dim"], len(cfg["id2label"]))

    def forward(self, input_ids):
        trace = self.distilbert(input_ids)
        pooled = torch.relu(self.pre_classifier(trace.hidden_states[-1][0]))  # [CLS] position
        trace.logits = self.classifier(pooled)  # (num_labels,)
        return trace


ARCHITECTURES = {
    "DistilBertModel": DistilBertModel,
    "DistilBertForMaskedLM": DistilBertForMaskedLM,
    "DistilBertForSequenceClassification": DistilBertForSequenceClassification,
}
