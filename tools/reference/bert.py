"""Reference BERT (Devlin et al. 2019), with Hugging Face's module and parameter names.

Post-LN encoder: x = LN(x + Attn(x)); x = LN(x + FFN(x)), FFN = dense -> act -> dense.
A state_dict() of these modules is named exactly like a Hugging Face checkpoint:
BertModel has no prefix, the task models put it under "bert.". The MLM decoder weight is
tied to the word embeddings and not a parameter (HF does not save it either).
"""
import torch
from torch import nn

from .common import LayerNorm, Trace, activation, attention, split_heads


def config(vocab_size, hidden_size, num_layers, num_heads, intermediate_size,
           architecture="BertModel", max_positions=64, labels=None, torch_dtype="float32"):
    """A Hugging Face BertConfig dict (as written to config.json)."""
    cfg = {
        "architectures": [architecture],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": max_positions,
        "model_type": "bert",
        "num_attention_heads": num_heads,
        "num_hidden_layers": num_layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": torch_dtype,
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    if labels:
        cfg["id2label"] = {str(i): label for i, label in enumerate(labels)}
        cfg["label2id"] = {label: i for i, label in enumerate(labels)}
    return cfg


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], c)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], c)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], c)
        self.LayerNorm = LayerNorm(c, cfg["layer_norm_eps"])

    def forward(self, input_ids, token_type_ids):
        positions = torch.arange(input_ids.shape[0])
        x = (self.word_embeddings.weight[input_ids]
             + self.token_type_embeddings.weight[token_type_ids]
             + self.position_embeddings.weight[positions])
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        self.num_heads = cfg["num_attention_heads"]
        self.query = nn.Linear(c, c)
        self.key = nn.Linear(c, c)
        self.value = nn.Linear(c, c)

    def forward(self, x, trace):
        q, k, v = (split_heads(f(x), self.num_heads) for f in (self.query, self.key, self.value))
        return attention(q, k, v, causal=False, trace=trace)


class BertDenseLayerNorm(nn.Module):
    """HF's BertSelfOutput / BertOutput: LN(dense(h) + residual)."""

    def __init__(self, in_size, cfg):
        super().__init__()
        self.dense = nn.Linear(in_size, cfg["hidden_size"])
        self.LayerNorm = LayerNorm(cfg["hidden_size"], cfg["layer_norm_eps"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BertAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertDenseLayerNorm(cfg["hidden_size"], cfg)

    def forward(self, x, trace):
        return self.output(self.self(x, trace), x)


class BertIntermediate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.act = activation(cfg["hidden_act"])

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertDenseLayerNorm(cfg["intermediate_size"], cfg)

    def forward(self, x, trace):
        a = self.attention(x, trace)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(cfg) for _ in range(cfg["num_hidden_layers"]))


class BertPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[0]))  # the [CLS] position


class BertModel(nn.Module):
    def __init__(self, cfg, add_pooling_layer=True):
        super().__init__()
        self.cfg = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg) if add_pooling_layer else None

    def forward(self, input_ids, token_type_ids=None):
        """input_ids, token_type_ids: (N,) int. Returns a Trace (no logits)."""
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        trace = Trace()
        x = self.embeddings(input_ids, token_type_ids)
        trace.hidden_states.append(x)
        for layer in self.encoder.layer:
            x = layer(x, trace)
            trace.hidden_states.append(x)
        if self.pooler is not None:
            trace.extras["pooler_output"] = self.pooler(x)
        return trace


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])
        self.act = activation(cfg["hidden_act"])
        self.LayerNorm = LayerNorm(cfg["hidden_size"], cfg["layer_norm_eps"])

    def forward(self, h):
        return self.LayerNorm(self.act(self.dense(h)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg)
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))

    def forward(self, h, word_embeddings):
        return self.transform(h) @ word_embeddings.T + self.bias  # decoder tied to embeddings


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg)


class BertForMaskedLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(cfg)

    def forward(self, input_ids, token_type_ids=None):
        trace = self.bert(input_ids, token_type_ids)
        word_embeddings = self.bert.embeddings.word_embeddings.weight
        trace.logits = self.cls.predictions(trace.hidden_states[-1], word_embeddings)  # (N, V)
        return trace


class BertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg, add_pooling_layer=True)
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, input_ids, token_type_ids=None):
        trace = self.bert(input_ids, token_type_ids)
        trace.logits = self.classifier(trace.extras["pooler_output"])  # (num_labels,)
        return trace


ARCHITECTURES = {
    "BertModel": BertModel,
    "BertForMaskedLM": BertForMaskedLM,
    "BertForSequenceClassification": BertForSequenceClassification,
}
