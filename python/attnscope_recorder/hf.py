"""Recording a Hugging Face `transformers` model: record_hf(model, tokenizer, text, out).

How it gets the attention:
- Fused kernels (sdpa, flash attention) return no attention weights, so the model is switched
  to the eager implementation for the run (with a logged warning) and switched back after.
- Each layer's attention module is found (the innermost modules whose class name ends in
  "Attention", one per layer) and hooked: its output holds the weights [1, H, N, N], written
  as soon as the layer has run. The model runs without output_attentions when its modules
  return weights unasked (transformers >= 4.48 in eager mode), so it keeps none; older
  versions need output_attentions=True and then hold every layer's weights until the run
  returns (run_model). When the modules cannot be matched to the layers, the recording is
  made from the model's returned `attentions` after the run (a warning says so).
- With qkv=True, Q/K/V are taken from the module's projections (q_proj/k_proj/v_proj,
  query/key/value, q_lin/k_lin/v_lin, GPT-2's c_attn); in rotary families the queries and
  keys are those returned by the modeling file's apply_rotary_pos_emb (after q/k norm and
  the rotation, as the format asks).
Only rank 0 writes (hooks.py), and tensor-parallel shares of the heads are gathered to it.
"""
import contextlib
import logging
import os
import re
import sys

import torch

from .hooks import AttentionHooks, rank
from .tokens import readable
from .writer import RecordingError, describe_layers, parse_layers

log = logging.getLogger("attnscope_recorder")

# Model class name suffix -> the recording's `task` (and the predictions' task).
TASKS = (("ForCausalLM", "causal-lm"), ("LMHeadModel", "causal-lm"), ("ForMaskedLM", "masked-lm"),
         ("ForSequenceClassification", "classification"), ("ForImageClassification", "image-classification"))
PREDICTION_TASK = {"causal-lm": "next-token", "masked-lm": "fill-mask", "classification": "classification"}
# Names of the query/key/value projections inside an attention module, per family style.
PROJECTIONS = (("q_proj", "k_proj", "v_proj"), ("query", "key", "value"), ("q_lin", "k_lin", "v_lin"))


def text_config(model):
    """The language model's config (multimodal configs nest it)."""
    cfg = model.config
    return cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg


def task_of(model):
    name = type(model).__name__
    return next((task for suffix, task in TASKS if name.endswith(suffix)), "base")


def is_causal(model):
    """Decoder-only: a causal-LM class or architecture, or config.is_decoder."""
    cfg = text_config(model)
    if getattr(cfg, "is_encoder_decoder", False):
        return False
    archs = list(getattr(cfg, "architectures", None) or []) + [type(model).__name__]
    return bool(getattr(cfg, "is_decoder", False)) or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)


def model_name(model):
    name = getattr(model.config, "_name_or_path", "") or ""
    return os.path.basename(os.path.normpath(name)) if os.path.isdir(name) else name


def sizes(model):
    """(layers, heads, head_dim) from the config."""
    cfg = text_config(model)
    heads = cfg.num_attention_heads
    return cfg.num_hidden_layers, heads, getattr(cfg, "head_dim", None) or cfg.hidden_size // heads


def sliding_windows(cfg):
    """One window per model layer (0 = full), or None when no layer slides."""
    window = getattr(cfg, "sliding_window", None)
    if not window or getattr(cfg, "use_sliding_window", True) is False:
        return None
    kinds = getattr(cfg, "layer_types", None)
    if kinds:
        return [window if kind == "sliding_attention" else 0 for kind in kinds]
    return [window] * cfg.num_hidden_layers if cfg.model_type == "mistral" else None


def token_strings(tokenizer, ids):
    """The N token strings shown in AttnScope (special tokens as they are spelled)."""
    decoder = getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", None)
    byte_level = hasattr(tokenizer, "byte_decoder") or "ByteLevel" in f"{type(decoder).__name__} {decoder}"
    special = set(tokenizer.all_special_ids)
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [p if i in special else readable(p or "", byte_level) for i, p in zip(ids, pieces)]


def metadata(model, tokenizer, ids, text, pair=None):
    """The recording's metadata for a Hugging Face model and one input."""
    cfg = text_config(model)
    special = set(tokenizer.all_special_ids)
    md = {"model": model_name(model), "family": getattr(cfg, "model_type", "") or "",
          "causal": is_causal(model), "task": task_of(model), "text": text,
          "special_tokens": [int(i in special) for i in ids]}
    if pair is not None:
        md["pair"] = pair
    kv = getattr(cfg, "num_key_value_heads", None)
    if kv and kv != cfg.num_attention_heads:  # grouped-query attention (AttnScope writes it only then)
        md["num_key_value_heads"] = kv
    return md


def predictions(model, tokenizer, task, ids, logits, k=5):
    """The top-k predictions in AttnScope's metadata form (`attnscope.predictions`), or None."""
    if logits is None or task not in PREDICTION_TASK:
        return None
    position = -1
    if task == "causal-lm":
        position = len(ids) - 1
        row = logits[0, position]
    elif task == "masked-lm":
        if tokenizer.mask_token_id not in ids:
            return None
        position = ids.index(tokenizer.mask_token_id)
        row = logits[0, position]
    else:
        row = logits[0]
    probs = torch.softmax(row.float(), dim=-1)
    top = torch.topk(probs, min(k, probs.numel()))
    id2label = getattr(model.config, "id2label", None) or {}

    def label(i):
        if task == "classification":
            return str(id2label.get(i, i))
        return tokenizer.decode([i]) if task == "causal-lm" else tokenizer.convert_ids_to_tokens(i)

    return {"task": PREDICTION_TASK[task], "position": position,
            "top": [{"label": label(i), "id": i, "prob": p} for p, i in zip(top.values.tolist(), top.indices.tolist())]}


@contextlib.contextmanager
def eager_attention(model):
    """Switches a model using sdpa or flash attention to the eager implementation for the
    block (fused kernels return no attention weights), and back after; says so."""
    cfg = model.config
    impl = getattr(cfg, "_attn_implementation", None) or getattr(cfg, "attn_implementation", None)
    if impl in (None, "eager"):
        yield
        return
    log.warning("attnscope_recorder: %s uses the '%s' attention implementation, which returns no attention "
                "weights; switching to 'eager' for this recording (slower; load the model with "
                "attn_implementation='eager' to avoid the switch)", model_name(model) or type(model).__name__, impl)

    def use(name):
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(name)
        else:
            cfg._attn_implementation = name

    use("eager")
    try:
        yield
    finally:
        use(impl)


def attention_modules(model, num_layers):
    """The per-layer attention modules: the innermost modules whose class name ends in
    'Attention' (BertSelfAttention, not BertAttention), in model order — or None when there
    are not exactly num_layers of them (encoder-decoders, unusual naming)."""
    found = [(name, m) for name, m in model.named_modules() if type(m).__name__.endswith("Attention")]
    innermost = [m for name, m in found if not any(other.startswith(name + ".") for other, _ in found)]
    return innermost if len(innermost) == num_layers else None


class NoWeights(Exception):
    """Raised by a hook to stop a run whose attention modules return no weights unasked."""


def weights_in(n, probe):
    """A `probs` function finding the [1, H, N, N] weights among an attention module's outputs.
    While probe["on"], a module returning none stops the run (NoWeights)."""
    def probs(module, args, output):
        items = [output] if torch.is_tensor(output) else list(output) if isinstance(output, (tuple, list)) else []
        for t in items:
            if torch.is_tensor(t) and t.dim() == 4 and t.shape[0] == 1 and t.shape[-1] == t.shape[-2] == n:
                return t
        if probe["on"]:
            raise NoWeights()
        return None  # this call returned no weights (a fused kernel): the layer is taken after the run
    return probs


def heads_first(t, n):
    """[1, X, N, d] or [1, N, X, d] -> [X, N, d]."""
    t = t[0] if t.dim() == 4 else t
    return t.transpose(0, 1) if t.shape[1] != n and t.shape[0] == n else t


class QKVCapture:
    """Catches each attention module's per-head Q/K/V while it runs (see the module docstring).
    A context manager; its instance is the `qkv` function AttentionHooks calls."""

    def __init__(self, modules, n, head_dim, cfg):
        self.n, self.d = n, head_dim
        self.rotary = any(re.search(r"(^|_)rope(_|$)|rotary", key) for key in vars(cfg))
        self.slot = {}  # id(attention module) -> {"q", "k", "v"} of its current call
        self.active = None  # the slot of the module running now
        self.handles, self.patched = [], []
        for m in modules:
            self.slot[id(m)] = {}
            self.handles.append(m.register_forward_pre_hook(lambda mod, args: self._start(mod)))
            children = dict(m.named_children())
            names = next((p for p in PROJECTIONS if all(c in children for c in p)), None)
            if names is None and "c_attn" in children:
                self.handles.append(children["c_attn"].register_forward_hook(self._on_fused))
            elif names is None:
                raise RecordingError(f"qkv: {type(m).__name__} has none of the projections "
                                     f"{', '.join('/'.join(p) for p in PROJECTIONS)} or c_attn; "
                                     "record it with record_with_hooks and a qkv function")
            else:
                for key, name in zip("qkv", names):
                    self.handles.append(children[name].register_forward_hook(self._on_projection(key)))
            if self.rotary:
                self._patch_rotary(m)

    def _patch_rotary(self, module):
        """Rotary families: queries and keys are what apply_rotary_pos_emb returns."""
        namespace = sys.modules[type(module).__module__]
        original = getattr(namespace, "apply_rotary_pos_emb", None)
        if original is None:
            raise RecordingError(f"qkv: {type(module).__name__} is rotary, but its modeling file has no "
                                 "apply_rotary_pos_emb to take the turned queries and keys from")
        if any(ns is namespace for ns, _ in self.patched):
            return

        def turned(q, k, *args, **kwargs):
            q, k = original(q, k, *args, **kwargs)
            if self.active is not None:
                self.active["q_turned"], self.active["k_turned"] = q, k
            return q, k

        self.patched.append((namespace, original))
        namespace.apply_rotary_pos_emb = turned

    def _start(self, module):
        self.active = self.slot[id(module)]
        self.active.clear()

    def _on_projection(self, key):
        def hook(module, args, output):
            if self.active is not None:
                self.active[key] = output[0].view(self.n, -1, self.d).transpose(0, 1)  # (X, N, d)
        return hook

    def _on_fused(self, module, args, output):
        if self.active is not None:
            q, k, v = output[0].chunk(3, dim=-1)  # GPT-2: columns [q | k | v]
            for key, t in zip("qkv", (q, k, v)):
                self.active[key] = t.view(self.n, -1, self.d).transpose(0, 1)

    def __call__(self, module, args, output):
        got, self.active = self.slot[id(module)], None
        if self.rotary:
            if "q_turned" not in got:
                raise RecordingError(f"qkv: {type(module).__name__} did not call apply_rotary_pos_emb; "
                                     "its turned queries and keys cannot be recorded")
            got["q"], got["k"] = heads_first(got["q_turned"], self.n), heads_first(got["k_turned"], self.n)
        return got["q"], got["k"], got["v"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        for namespace, original in self.patched:
            namespace.apply_rotary_pos_emb = original
        return False


def run_model(model, inputs, probe):
    """The forward pass. First without output_attentions: recent transformers' eager modules
    return their weights anyway, the hooks write them, and the model keeps none. Older ones
    return weights only when asked, which the first hooked module shows (NoWeights); then the
    run starts again with output_attentions=True, and the model holds every layer's weights
    on its devices until it returns (the recorder still writes them one by one)."""
    with torch.no_grad():
        if probe["on"]:
            try:
                return model(**inputs, output_attentions=False, return_dict=True)
            except NoWeights:
                probe["on"] = False
        return model(**inputs, output_attentions=True, return_dict=True)


def record_hf(model, tokenizer, text, out, dtype="f32", layers=None, qkv=False, pair=None, extra_metadata=None):
    """Runs a Hugging Face model on `text` (and `pair`) and writes the recording `out`.

    dtype: "f32" or "f16"; layers: model layer numbers to record ("0,2,5-7" or a list;
    default all); qkv: also store each head's query, key and value. Adds next-token,
    fill-mask or class predictions when the model has such a head. Returns the model's
    outputs (on every rank; only rank 0 writes).
    """
    num_layers, num_heads, head_dim = sizes(model)
    chosen = parse_layers(layers, num_layers) if layers is not None else None
    enc = tokenizer(text, pair, return_tensors="pt") if pair is not None else tokenizer(text, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    n = len(ids)
    md = metadata(model, tokenizer, ids, text, pair)
    md["head_dim"] = head_dim
    windows = sliding_windows(text_config(model))
    if windows:
        md["sliding_windows"] = [windows[layer] for layer in (chosen or range(num_layers))]
    md.update(extra_metadata or {})
    modules = attention_modules(model, num_layers)
    if modules is None:
        if qkv:
            raise RecordingError(f"{out}: qkv needs one attention module per layer; found no such modules in "
                                 f"{type(model).__name__}")
        log.warning("attnscope_recorder: could not match %s's attention modules to its %d layers; recording from "
                    "the returned attentions after the run (all layers in memory at once)", type(model).__name__,
                    num_layers)
    probe = {"on": modules is not None}
    device = getattr(model, "device", None) or next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in enc.items()}
    was_training = model.training
    model.eval()
    try:
        with eager_attention(model), \
                (QKVCapture(modules, n, head_dim, text_config(model)) if qkv else contextlib.nullcontext()) as grab, \
                AttentionHooks(modules or [None] * num_layers, out, token_strings(tokenizer, ids), weights_in(n, probe),
                               grab, chosen, num_heads, dtype, md) as hooks:
            outputs = run_model(model, inputs, probe)
            returned = getattr(outputs, "attentions", None) or ()
            for layer in hooks.missing():  # layers no hook saw: from the returned tuple
                if layer < len(returned) and returned[layer] is not None and not qkv:
                    hooks.fill(layer, returned[layer])
            missing = hooks.missing()
            if missing:
                raise RecordingError(f"{out}: the model returned no attention weights for layer"
                                     f"{'s' if len(missing) > 1 else ''} {describe_layers(missing)}; it may run a "
                                     "fused attention kernel: load it with attn_implementation='eager'")
            found = predictions(model, tokenizer, md["task"], ids, getattr(outputs, "logits", None)) \
                if rank() == 0 else None
            hooks.close({"attnscope.predictions": found} if found else None)
    finally:
        model.train(was_training)
    return outputs
