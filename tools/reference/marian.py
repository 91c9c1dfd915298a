"""Reference Marian NMT (Junczys-Dowmunt et al. 2018) as Hugging Face's MarianMTModel, with its
module and parameter names and semantics.

One unbatched sequence, computing in the parameters' dtype. The layers are BART's
(bart.BartEncoderLayer / BartDecoderLayer: HF's Marian layers and attention are "Copied from"
BART's, so the parameter names under model.{encoder,decoder}.layers.{i} are the same). A
state_dict() is named like the checkpoint save_pretrained writes: model.shared.weight (shared
vocabulary) or model.encoder.embed_tokens.weight + model.decoder.embed_tokens.weight (separate),
final_logits_bias (1, V_target), the layers, and lm_head.weight only when untied. There are no
embed_positions weights (computed, and dropped on save) and no layernorm_embedding.

Source read: huggingface/transformers at commit 00b676f8f0489b88652a31d70751cc540dd06305 (the
4.5x line, read from the stored index): models/marian/modeling_marian.py; also
models/marian/configuration_marian.py at 4aa4342b720ef79340412180d41ad22b01d4942f (defaults),
models/marian/modeling_marian.py at d02747e153da5844c1abaa36eec184b0177247c0 (4.3, same position
table), convert_marian_to_pytorch.py at 3eb0870a217257db1415740f8ea61855d21d283f, and the
separate-vocabulary threads huggingface/transformers#15831 and #26400.

Semantics and where each one comes from (everything not listed is BART's, see bart.py):
- Positions (MarianSinusoidalPositionalEmbedding._init_weight): a fixed table of
  max_position_embeddings rows, NOT offset: position p reads row p (the decoder's cache_position).
  Row p, column j: angle = p / 10000**(2 * (j // 2) / dim) (numpy float64); the first half of the
  columns holds sin of the even-j angles, the second half cos of the odd-j angles (not
  interleaved), so column i < dim/2 is sin(p / 10000**(2i/dim)) and column dim/2 + i is
  cos(p / 10000**(2i/dim)) (odd dim: ceil(dim/2) sin columns). The values go through
  torch.FloatTensor, so the table is float32-rounded whatever the model dtype (kept here).
- The table is a parameter in HF but never stored: MarianMTModel._keys_to_ignore_on_save drops
  model.{encoder,decoder}.embed_positions.weight, and _init_weights rebuilds it on load. Here it is
  a non-persistent buffer.
- Embeddings (MarianEncoder / MarianDecoder.forward): embed_tokens(ids) * embed_scale + positions,
  embed_scale = sqrt(d_model) if scale_embedding else 1.0 (Helsinki-NLP configs: true); no
  layernorm_embedding, no final LayerNorm.
- Vocabularies (MarianModel.__init__, MarianMTModel.__init__ / tie_weights): with
  share_encoder_decoder_embeddings (default true) encoder, decoder and the tied head use
  model.shared (vocab_size rows). Otherwise model.shared is None and the encoder and decoder have
  their own embed_tokens; the head and final_logits_bias have decoder_vocab_size rows
  (target_vocab_size) and a tied head (tie_word_embeddings, default true) is the decoder's
  embed_tokens. Here the decoder's embed_tokens has decoder_vocab_size rows, as the checkpoints
  with a separate target vocabulary hold it; HF's MarianModel.__init__ builds it as a copy of
  shared (vocab_size rows), so HF itself loads such a checkpoint only when the two sizes are equal
  (size-mismatch report #26400).
- Head (MarianMTModel.forward): logits = lm_head(h) + final_logits_bias.
- Generation starts with decoder_start_token_id, = pad_token_id in Marian checkpoints
  (MarianConfig default 58100 for both; convert_marian_to_pytorch sets
  decoder_start_token_id=pad_token_id). The converted configs also set bad_words_ids [[pad]] (pad
  is never generated), a logits processor of HF's generate that generate() here does not apply.
- activation_function: Helsinki-NLP checkpoints use "swish" (= SiLU); MarianConfig's default is "gelu".
"""
import math

import torch
from torch import nn

from .bart import BartDecoderLayer, BartEncoderLayer, BartLikeLM


def config(vocab_size, d_model, layers, heads, ffn_dim, max_positions=64, decoder_vocab_size=None,
           share_encoder_decoder_embeddings=True, **overrides):
    """A Hugging Face MarianConfig dict (as written to config.json); pad = decoder start = last id,
    eos = 0, swish and scaled embeddings as the Helsinki-NLP checkpoints."""
    pad = vocab_size - 1
    cfg = {
        "activation_dropout": 0.0, "activation_function": "swish", "architectures": ["MarianMTModel"],
        "attention_dropout": 0.0, "bos_token_id": 0, "d_model": d_model, "decoder_attention_heads": heads,
        "decoder_ffn_dim": ffn_dim, "decoder_layerdrop": 0.0, "decoder_layers": layers,
        "decoder_start_token_id": pad, "decoder_vocab_size": decoder_vocab_size or vocab_size, "dropout": 0.1,
        "encoder_attention_heads": heads, "encoder_ffn_dim": ffn_dim, "encoder_layerdrop": 0.0,
        "encoder_layers": layers, "eos_token_id": 0, "forced_eos_token_id": 0, "init_std": 0.02,
        "is_encoder_decoder": True, "max_position_embeddings": max_positions, "model_type": "marian",
        "num_hidden_layers": layers, "pad_token_id": pad, "scale_embedding": True,
        "share_encoder_decoder_embeddings": share_encoder_decoder_embeddings, "torch_dtype": "float32",
        "use_cache": True, "vocab_size": vocab_size,
    }
    cfg.update(overrides)
    return cfg


def sinusoidal_table(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding's weight (n_pos, dim): sin half, then cos half; float32-rounded."""
    j = torch.arange(dim, dtype=torch.float64)
    exponent = 2 * torch.div(j, 2, rounding_mode="floor") / dim  # 2 * (j // 2) / dim
    angle = torch.arange(n_pos, dtype=torch.float64)[:, None] / torch.pow(10000.0, exponent)
    sentinel = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out = torch.empty(n_pos, dim, dtype=torch.float32)
    out[:, :sentinel] = torch.sin(angle[:, 0::2]).float()
    out[:, sentinel:] = torch.cos(angle[:, 1::2]).float()
    return out


class MarianStack(nn.Module):
    """MarianEncoder / MarianDecoder; embed_tokens only when the vocabularies are not shared."""

    def __init__(self, cfg, decoder, vocab_rows=None):
        super().__init__()
        c = cfg["d_model"]
        self.embed_scale = math.sqrt(c) if cfg.get("scale_embedding", False) else 1.0
        self.embed_tokens = nn.Embedding(vocab_rows, c) if vocab_rows else None
        self.register_buffer("positions", sinusoidal_table(cfg["max_position_embeddings"], c), persistent=False)
        n = cfg["decoder_layers"] if decoder else cfg["encoder_layers"]
        self.layers = nn.ModuleList(BartDecoderLayer(cfg, i) if decoder else BartEncoderLayer(cfg)
                                    for i in range(n))

    def embed(self, ids, table, start=0):
        return table[ids] * self.embed_scale + self.positions[start:start + ids.shape[0]]


class MarianModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.share = bool(cfg.get("share_encoder_decoder_embeddings", True))
        dec_rows = cfg.get("decoder_vocab_size") or cfg["vocab_size"]
        self.shared = nn.Embedding(cfg["vocab_size"], cfg["d_model"]) if self.share else None
        self.encoder = MarianStack(cfg, False, None if self.share else cfg["vocab_size"])
        self.decoder = MarianStack(cfg, True, None if self.share else dec_rows)

    def encoder_table(self):
        return self.shared.weight if self.share else self.encoder.embed_tokens.weight

    def decoder_table(self):
        return self.shared.weight if self.share else self.decoder.embed_tokens.weight


class MarianMTModel(BartLikeLM):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = MarianModel(cfg)
        share = self.model.share
        target = cfg["vocab_size"] if share else (cfg.get("decoder_vocab_size") or cfg["vocab_size"])
        self.register_buffer("final_logits_bias", torch.zeros(1, target))
        self.tied = bool(cfg.get("tie_word_embeddings", True))
        self.lm_head = None if self.tied else nn.Linear(cfg["d_model"], target, bias=False)

    def start_token_id(self):
        return self.cfg.get("decoder_start_token_id", self.cfg["pad_token_id"])


ARCHITECTURES = {"MarianMTModel": MarianMTModel}
