"""Reference ViT (Dosovitskiy et al. 2021) and DeiT (Touvron et al. 2021), with Hugging
Face's module and parameter names.

An image (3, H, W) is cut into p × p patches by a Conv2d(3, C, p, stride p); the patches,
row by row, follow [CLS] (and DeiT's distillation token [DIST]); learned position
embeddings are added, stretched bicubically (torch's interpolate, align_corners=False, as
HF's interpolate_pos_encoding) when the patch grid differs from training. Pre-LN blocks:
x = x + Attn(LN_before(x)); x = x + FFN(LN_after(x)), exact GELU. A final LayerNorm feeds the
heads: a classifier on [CLS]; DeiT with teacher averages a classifier on [CLS] and one on
[DIST]. hidden_states follow HF: embeddings, then every block's output (before the final
LayerNorm).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .common import LayerNorm, Trace, activation, attention, split_heads


def config(model_type, architecture, image_size, patch_size, hidden_size, num_layers, num_heads,
           intermediate_size, labels=None, qkv_bias=True):
    """A Hugging Face ViTConfig / DeiTConfig dict (as written to config.json)."""
    cfg = {
        "architectures": [architecture],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": patch_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": hidden_size,
        "image_size": image_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "layer_norm_eps": 1e-12,
        "model_type": model_type,
        "num_attention_heads": num_heads,
        "num_channels": 3,
        "num_hidden_layers": num_layers,
        "patch_size": patch_size,
        "qkv_bias": qkv_bias,
        "torch_dtype": "float32",
    }
    if labels:
        cfg["id2label"] = {str(i): label for i, label in enumerate(labels)}
        cfg["label2id"] = {label: i for i, label in enumerate(labels)}
    return cfg


def bicubic_resize(grid, out_h, out_w):
    """torch's upsample_bicubic2d (align_corners=False, A = -0.75) written out, on a
    (C, h, w) tensor; checked against F.interpolate by make_vit_fixtures.py."""
    a = -0.75

    def cubic1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def cubic2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    def taps(n_in, n_out):
        out = []
        for i in range(n_out):
            real = n_in / n_out * (i + 0.5) - 0.5
            base = min(math.floor(real), n_in - 1)
            t = min(max(real - base, 0.0), 1.0)
            weights = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)]
            index = [min(max(base - 1 + k, 0), n_in - 1) for k in range(4)]
            out.append((index, weights))
        return out

    c, h, w = grid.shape
    ty, tx = taps(h, out_h), taps(w, out_w)
    out = torch.zeros(c, out_h, out_w, dtype=grid.dtype)
    for oy, (iy, wy) in enumerate(ty):
        for ox, (ix, wx) in enumerate(tx):
            for j in range(4):
                for i in range(4):
                    out[:, oy, ox] += wy[j] * wx[i] * grid[:, iy[j], ix[i]]
    return out


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        p = cfg["patch_size"]
        self.projection = nn.Conv2d(cfg["num_channels"], cfg["hidden_size"], kernel_size=p, stride=p)

    def forward(self, pixel_values):
        """(3, H, W) -> (gh·gw, C), patches row by row; a remainder under p pixels is dropped."""
        x = self.projection(pixel_values[None])[0]  # (C, gh, gw)
        return x.flatten(1).T


class ViTEmbeddings(nn.Module):
    def __init__(self, cfg, distillation=False):
        super().__init__()
        c = cfg["hidden_size"]
        self.grid = (cfg["image_size"] // cfg["patch_size"],) * 2
        self.num_prefix = 2 if distillation else 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c))
        if distillation:
            self.distillation_token = nn.Parameter(torch.zeros(1, 1, c))
        self.position_embeddings = nn.Parameter(torch.zeros(1, self.num_prefix + self.grid[0] * self.grid[1], c))
        self.patch_embeddings = ViTPatchEmbeddings(cfg)
        self.patch_size = cfg["patch_size"]

    def interpolate_pos_encoding(self, height, width):
        """(S + gh·gw, C) position embeddings for an image of height × width pixels."""
        pos = self.position_embeddings[0]
        grid = (height // self.patch_size, width // self.patch_size)
        if grid == self.grid:
            return pos
        s, c = self.num_prefix, pos.shape[-1]
        patch = pos[s:].reshape(self.grid[0], self.grid[1], c).permute(2, 0, 1)[None]
        patch = F.interpolate(patch, size=grid, mode="bicubic", align_corners=False)
        return torch.cat([pos[:s], patch[0].permute(1, 2, 0).reshape(-1, c)])

    def forward(self, pixel_values):
        patches = self.patch_embeddings(pixel_values)
        prefix = [self.cls_token[0]]
        if self.num_prefix == 2:
            prefix.append(self.distillation_token[0])
        x = torch.cat(prefix + [patches])
        return x + self.interpolate_pos_encoding(pixel_values.shape[1], pixel_values.shape[2])


class ViTSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, bias = cfg["hidden_size"], cfg.get("qkv_bias", True)
        self.num_heads = cfg["num_attention_heads"]
        self.query = nn.Linear(c, c, bias=bias)
        self.key = nn.Linear(c, c, bias=bias)
        self.value = nn.Linear(c, c, bias=bias)

    def forward(self, x, trace):
        q, k, v = (split_heads(f(x), self.num_heads) for f in (self.query, self.key, self.value))
        return attention(q, k, v, causal=False, trace=trace)


class ViTDense(nn.Module):
    """HF's ViTSelfOutput / ViTOutput: a dense layer (the residual is added by the block)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.dense(x)


class ViTAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = ViTSelfAttention(cfg)
        self.output = ViTDense(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, x, trace):
        return self.output(self.attention(x, trace))


class ViTLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.attention = ViTAttention(cfg)
        self.intermediate = ViTDense(c, cfg["intermediate_size"])
        self.output = ViTDense(cfg["intermediate_size"], c)
        self.layernorm_before = LayerNorm(c, eps)
        self.layernorm_after = LayerNorm(c, eps)
        self.act = activation(cfg["hidden_act"])

    def forward(self, x, trace):
        x = x + self.attention(self.layernorm_before(x), trace)
        return x + self.output(self.act(self.intermediate(self.layernorm_after(x))))


class ViTEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(cfg) for _ in range(cfg["num_hidden_layers"]))


class ViTPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg["hidden_size"], cfg["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[0]))


class ViTModel(nn.Module):
    """ViTModel (distillation=False) and DeiTModel (True)."""

    def __init__(self, cfg, add_pooling_layer=True, distillation=False):
        super().__init__()
        self.cfg = cfg
        self.embeddings = ViTEmbeddings(cfg, distillation)
        self.encoder = ViTEncoder(cfg)
        self.layernorm = LayerNorm(cfg["hidden_size"], cfg["layer_norm_eps"])
        self.pooler = ViTPooler(cfg) if add_pooling_layer else None

    def forward(self, pixel_values):
        """pixel_values: (3, H, W). Returns a Trace; extras["last_hidden_state"] is after
        the final LayerNorm."""
        trace = Trace()
        x = self.embeddings(pixel_values)
        trace.hidden_states.append(x)
        for layer in self.encoder.layer:
            x = layer(x, trace)
            trace.hidden_states.append(x)
        last = self.layernorm(x)
        trace.extras["last_hidden_state"] = last
        if self.pooler is not None:
            trace.extras["pooler_output"] = self.pooler(last)
        return trace


class ViTForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.vit = ViTModel(cfg, add_pooling_layer=False)
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, pixel_values):
        trace = self.vit(pixel_values)
        trace.logits = self.classifier(trace.extras["last_hidden_state"][0])  # (num_labels,)
        return trace


def DeiTModel(cfg):
    return ViTModel(cfg, add_pooling_layer=True, distillation=True)


class DeiTForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.deit = ViTModel(cfg, add_pooling_layer=False, distillation=True)
        self.classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, pixel_values):
        trace = self.deit(pixel_values)
        trace.logits = self.classifier(trace.extras["last_hidden_state"][0])
        return trace


class DeiTForImageClassificationWithTeacher(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.deit = ViTModel(cfg, add_pooling_layer=False, distillation=True)
        self.cls_classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))
        self.distillation_classifier = nn.Linear(cfg["hidden_size"], len(cfg["id2label"]))

    def forward(self, pixel_values):
        trace = self.deit(pixel_values)
        last = trace.extras["last_hidden_state"]
        trace.logits = (self.cls_classifier(last[0]) + self.distillation_classifier(last[1])) / 2
        return trace


ARCHITECTURES = {
    "ViTModel": ViTModel,
    "ViTForImageClassification": ViTForImageClassification,
    "DeiTModel": DeiTModel,
    "DeiTForImageClassification": DeiTForImageClassification,
    "DeiTForImageClassificationWithTeacher": DeiTForImageClassificationWithTeacher,
}


def backbone(model):
    """The ViTModel inside a task model (or the model itself)."""
    return getattr(model, "vit", None) or getattr(model, "deit", None) or model


def layers_vs_torch(model, trace):
    """Every block against a pre-LN (norm_first) nn.TransformerEncoderLayer built from
    nn.MultiheadAttention with copied weights, and each layer's probabilities from
    nn.MultiheadAttention itself. Returns the maximum absolute difference."""
    vit = backbone(model)
    cfg, err = vit.cfg, 0.0
    c = cfg["hidden_size"]
    for i, lyr in enumerate(vit.encoder.layer):
        sa = lyr.attention.attention
        zero = torch.zeros(c, dtype=sa.query.weight.dtype)
        bias = [m.bias if m.bias is not None else zero for m in (sa.query, sa.key, sa.value)]
        layer = nn.TransformerEncoderLayer(c, cfg["num_attention_heads"], cfg["intermediate_size"], dropout=0.0,
                                           activation="gelu", layer_norm_eps=cfg["layer_norm_eps"],
                                           batch_first=True, norm_first=True).double().eval()
        w = {
            "self_attn.in_proj_weight": torch.cat([sa.query.weight, sa.key.weight, sa.value.weight]),
            "self_attn.in_proj_bias": torch.cat(bias),
            "self_attn.out_proj.weight": lyr.attention.output.dense.weight,
            "self_attn.out_proj.bias": lyr.attention.output.dense.bias,
            "norm1.weight": lyr.layernorm_before.weight, "norm1.bias": lyr.layernorm_before.bias,
            "linear1.weight": lyr.intermediate.dense.weight, "linear1.bias": lyr.intermediate.dense.bias,
            "linear2.weight": lyr.output.dense.weight, "linear2.bias": lyr.output.dense.bias,
            "norm2.weight": lyr.layernorm_after.weight, "norm2.bias": lyr.layernorm_after.bias,
        }
        with torch.no_grad():
            for name, value in w.items():
                layer.get_parameter(name).copy_(value)
            x = trace.hidden_states[i]
            out = layer(x[None])[0]
            ln = F.layer_norm(x, (c,), lyr.layernorm_before.weight, lyr.layernorm_before.bias, cfg["layer_norm_eps"])
            _, probs = layer.self_attn(ln[None], ln[None], ln[None], need_weights=True, average_attn_weights=False)
        err = max(err, (out - trace.hidden_states[i + 1]).abs().max().item(),
                  (probs[0] - trace.attentions[i]).abs().max().item())
    return err


def embeddings_vs_torch(model, pixel_values, trace):
    """The embeddings recomputed with unfold + matmul (not Conv2d) and F.interpolate."""
    emb = backbone(model).embeddings
    p = emb.patch_size
    gh, gw = pixel_values.shape[1] // p, pixel_values.shape[2] // p
    cols = F.unfold(pixel_values[None, :, :gh * p, :gw * p], kernel_size=p, stride=p)[0]  # (3·p·p, P)
    w = emb.patch_embeddings.projection
    patches = cols.T @ w.weight.reshape(w.weight.shape[0], -1).T + w.bias
    prefix = [emb.cls_token[0]] + ([emb.distillation_token[0]] if emb.num_prefix == 2 else [])
    x = torch.cat(prefix + [patches])
    pos = emb.position_embeddings[0]
    s, c = emb.num_prefix, pos.shape[-1]
    if (gh, gw) != emb.grid:
        own = bicubic_resize(pos[s:].reshape(emb.grid[0], emb.grid[1], c).permute(2, 0, 1), gh, gw)
        pos = torch.cat([pos[:s], own.permute(1, 2, 0).reshape(-1, c)])
    return (x + pos - trace.hidden_states[0]).abs().max().item()


def heads_vs_torch(model, trace):
    """The classification heads recomputed with torch.nn.functional from hidden[L]."""
    vit = backbone(model)
    cfg = vit.cfg
    h = F.layer_norm(trace.hidden_states[-1], (cfg["hidden_size"],), vit.layernorm.weight, vit.layernorm.bias,
                     cfg["layer_norm_eps"])
    name = type(model).__name__
    if name in ("ViTForImageClassification", "DeiTForImageClassification"):
        ref = F.linear(h[0], model.classifier.weight, model.classifier.bias)
    elif name == "DeiTForImageClassificationWithTeacher":
        ref = (F.linear(h[0], model.cls_classifier.weight, model.cls_classifier.bias)
               + F.linear(h[1], model.distillation_classifier.weight, model.distillation_classifier.bias)) / 2
    else:
        return 0.0
    return (ref - trace.logits).abs().max().item()
