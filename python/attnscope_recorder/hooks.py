"""Recording any torch.nn.Module: forward hooks on its attention modules, one per layer.

Each hook takes the layer's attention probabilities (and optionally Q/K/V) from the module's
inputs or output as the forward pass produces them and hands them to a RecordingWriter at
once, so the recorder holds one layer at a time (the model itself may keep more).

Distributed runs (torchrun, accelerate): only rank 0 writes; the other ranks run the forward
pass and write nothing. Under tensor parallelism each rank's attention module computes a share
of the heads; when `num_heads` (the model's total) is given, the shares are gathered to rank 0
in rank order. Pipeline parallelism (layers on different ranks) is not supported: rank 0 sees
only its own layers, and close() names the missing ones.
"""
import torch
import torch.distributed as dist

from .writer import RecordingError, RecordingWriter, describe_layers, parse_layers


def rank():
    """This process's rank in torch.distributed, 0 when it is not initialised."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size():
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def output_probs(module, args, output):
    """The default `probs`: the module's output when it is a tensor (a softmax or dropout
    module), else its second element (Hugging Face attention modules return
    (attn_output, attn_weights, …))."""
    return output if torch.is_tensor(output) else output[1]


def _gather_heads(tensors):
    """All ranks' shares of a layer's heads (axis -3), concatenated in rank order."""
    out = []
    for t in tensors:
        if t is None:
            out.append(None)
            continue
        t = t.contiguous()
        parts = [torch.empty_like(t) for _ in range(world_size())]
        dist.all_gather(parts, t)
        out.append(torch.cat(parts, dim=t.dim() - 3))
    return out


class AttentionHooks:
    """Forward hooks that stream each layer's attention into a recording; a context manager.

        with AttentionHooks(attention_modules, "rec.safetensors", tokens) as hooks:
            with torch.no_grad():
                model(input_ids)
            hooks.close()

    modules[i] is model layer i's attention module (None: that layer is given to fill()).
    probs(module, args, output) returns the layer's probabilities [H, N, N] (or [1, H, N, N],
    or None when this call has none); qkv(module, args, output), when given, returns
    (q, k, v), each [H, N, d_head] (k, v may have KV heads: they are repeated). `layers`
    lists the model layers to record (default all; hooks go only on those). The writer is
    created when the first layer arrives, which gives the head count (and head_dim with qkv;
    without, pass metadata["head_dim"]).
    Leaving the block without close() (an exception) deletes the unfinished file.
    """

    def __init__(self, modules, out, tokens, probs=output_probs, qkv=None, layers=None, num_heads=None,
                 dtype="f32", metadata=None):
        self.modules, self.out, self.tokens = list(modules), out, list(tokens)
        self.probs, self.qkv, self.num_heads, self.dtype = probs, qkv, num_heads, dtype
        everything = list(range(len(self.modules)))
        self.layers = everything if layers is None else parse_layers(layers, len(self.modules))
        self.index = {layer: i for i, layer in enumerate(self.layers)}  # model layer -> recorded
        self.metadata = dict(metadata or {})
        if self.layers != everything:
            self.metadata["layers"] = self.layers
        self.writes = rank() == 0
        self.writer = None
        self.captured = set()  # model layers seen (on every rank)
        self.handles = []

    def __enter__(self):
        # Other ranks hook too when they may hold a share of the heads to send.
        if self.writes or (self.num_heads is not None and world_size() > 1):
            for layer in self.layers:
                module = self.modules[layer]
                if module is not None:
                    hook = (lambda layer: lambda m, args, output: self._on_forward(layer, m, args, output))(layer)
                    self.handles.append(module.register_forward_hook(hook))
        return self

    def _on_forward(self, layer, module, args, output):
        probs = self.probs(module, args, output)
        if probs is None:
            return
        q, k, v = self.qkv(module, args, output) if self.qkv else (None, None, None)
        self.fill(layer, probs, q, k, v)

    def fill(self, layer, probs, q=None, k=None, v=None):
        """Records model layer `layer` (from a hook, or from the model's returned attentions).
        Called on every rank alike; only rank 0 writes."""
        if layer not in self.index or layer in self.captured:
            return
        heads = probs.shape[-3]
        if self.num_heads is not None and heads != self.num_heads:
            if world_size() > 1 and heads * world_size() == self.num_heads:
                probs, q, k, v = _gather_heads([probs, q, k, v])  # tensor parallel: each rank's share
            else:
                raise RecordingError(f"{self.out}: layer {layer} gave {heads} heads, but the model has {self.num_heads}"
                                     f" ({world_size()} process{'es' if world_size() > 1 else ''})")
        self.captured.add(layer)
        if not self.writes:
            return
        if self.writer is None:
            self.writer = RecordingWriter(self.out, self.tokens, len(self.layers), probs.shape[-3], self.dtype,
                                          head_dim=q.shape[-1] if q is not None else None, qkv=q is not None,
                                          metadata=self.metadata)
        self.writer.write_layer(self.index[layer], probs, q, k, v)

    def missing(self):
        """Model layers not recorded yet."""
        return [layer for layer in self.layers if layer not in self.captured]

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []

    def close(self, metadata=None):
        """Removes the hooks and finishes the file (rank 0; the others return None).
        `metadata` adds keys known only after the run. Returns the path written."""
        self.remove()
        if not self.writes:
            return None
        if self.writer is None:
            raise RecordingError(f"{self.out}: not written: no attention arrived (none of the "
                                 f"{len(self.layers)} hooked modules ran, or they gave no probabilities)")
        missing = self.missing()
        if missing:
            self.writer.abort()
            raise RecordingError(f"{self.out}: not written: model layer{'s' if len(missing) > 1 else ''} "
                                 f"{describe_layers(missing)} never reached a hook (of {describe_layers(self.layers)})")
        for key, value in (metadata or {}).items():
            self.writer.set_metadata(key, value)
        self.writer.close()
        return self.out

    def __exit__(self, exc_type, exc, tb):
        self.remove()
        if exc_type is not None and self.writer is not None:
            self.writer.__exit__(exc_type, exc, tb)  # logs what was missing, deletes the file
        return False


def record_with_hooks(modules, run, out, tokens, probs=output_probs, qkv=None, layers=None, num_heads=None,
                      dtype="f32", metadata=None):
    """Runs `run()` once (under torch.no_grad) with hooks on `modules` and writes `out`.

    modules: model layer i's attention module at index i; run: a callable doing the forward
    pass (e.g. `lambda: model(input_ids)`); tokens: the N token strings shown in AttnScope;
    probs / qkv: how to take a layer's probabilities / (q, k, v) from a hooked module's
    (module, args, output) — see AttentionHooks; layers: model layer numbers to record
    (a list, or "0,2,5-7"; sets the `layers` metadata); num_heads: the model's head count (checks what
    arrives, and gathers tensor-parallel shares); metadata: the format's other keys (model,
    family, causal, special_tokens, num_key_value_heads, text, task, …).

    Returns run()'s result. Only rank 0 writes (see the module docstring).
    """
    with AttentionHooks(modules, out, tokens, probs, qkv, layers, num_heads, dtype, metadata) as hooks:
        with torch.no_grad():
            result = run()
        hooks.close()
    return result
