"""RecordingWriter: writes an AttnScope recording (docs/recording-format.md) layer by layer.

A recording is a safetensors file: an 8-byte little-endian header length, a JSON header
(tensor names, dtypes, shapes, byte offsets, and `__metadata__`), then the tensor bytes. Every
size is known once the tokens, layers and heads are, so the writer puts the header first and
each layer's tensors at their final offsets as soon as they are given: memory holds one layer.
The header is padded with spaces (safetensors allows trailing whitespace), so metadata added at
the end (predictions) is written into the same place when the recording is closed.

The file is written beside the target as `<out>.tmp-<pid>` and renamed over it by close(), so a
run that fails, or misses layers, leaves no half file (and any earlier recording unchanged).

The `safetensors` package has no streaming writer, so the bytes are written here; when it is
importable, close() opens the result with `safetensors.safe_open` before renaming it.
"""
import json
import logging
import os
import struct
import weakref

import torch

log = logging.getLogger("attnscope_recorder")

FORMAT = "attnscope-recording"
VERSION = 1
# --dtype name -> (torch dtype, safetensors dtype name).
DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16")}
# Room left in the header for metadata set after the layers (predictions: a few hundred bytes).
DEFAULT_RESERVE = 16384
COPY_CHUNK = 64 << 20  # bytes moved at a time when the header outgrows its room
# Metadata the writer derives from its arguments: they describe the tensors' layout.
OWN_KEYS = ("format", "version", "tokens", "num_layers", "num_heads", "num_tokens", "head_dim", "pyramid")
# Long recordings carry each head max-pooled by 4, 16, 64, … while the coarsest level keeps 64
# rows (docs/recording-format.md, "Pyramid"; AttnScope's record/pyramid.h writes the same).
PYRAMID_MIN_TOKENS, PYRAMID_MIN_SIDE = 1024, 64


def pyramid_factors(tokens):
    """The pooling factors a recording of `tokens` carries (none below PYRAMID_MIN_TOKENS)."""
    factors, f = [], 4
    while tokens >= PYRAMID_MIN_TOKENS and -(-tokens // f) >= PYRAMID_MIN_SIDE:
        factors.append(f)
        f *= 4
    return factors


def pyramid_levels(attention, factors):
    """[H, ⌈N/f⌉, ⌈N/f⌉] block maxima of attention [H, N, N] for each factor, each level pooled
    from the one before (ceil_mode: the last block of a row or column may be short)."""
    levels, x, done = [], attention.float().unsqueeze(0), 1
    for f in factors:
        x = torch.nn.functional.max_pool2d(x, kernel_size=f // done, stride=f // done, ceil_mode=True)
        levels.append(x[0])
        done = f
    return levels


class RecordingError(Exception):
    """A recording that cannot be written as asked; the message names the file and the problem."""


def meta_value(value):
    """A metadata value as the format's string: JSON for lists and dicts, `true`/`false`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def describe_layers(layers):
    """[0, 1, 2, 5] -> '0-2, 5'."""
    runs, out = [], []
    for layer in sorted(layers):
        if runs and layer == runs[-1][1] + 1:
            runs[-1][1] = layer
        else:
            runs.append([layer, layer])
    for a, b in runs:
        out.append(str(a) if a == b else f"{a}-{b}")
    return ", ".join(out)


def parse_layers(spec, num_layers):
    """'0,2,5-7' (or a list of ints) -> sorted distinct model layer numbers, each < num_layers."""
    if not isinstance(spec, str):
        layers = [int(x) for x in spec]
    else:
        layers = []
        try:
            for part in spec.split(","):
                a, dash, b = part.strip().partition("-")
                first = int(a)
                last = int(b) if dash else first
                if last < first:
                    raise ValueError(part)
                layers += range(first, last + 1)
        except ValueError:
            raise RecordingError(f"layers '{spec}': expected a list like 0,2,5-7") from None
    bad = [x for x in layers if not 0 <= x < num_layers]
    if not layers or bad:
        raise RecordingError(f"layers '{spec}': the model has layers 0 to {num_layers - 1}")
    return sorted(set(layers))


def _remove_quietly(file, path):
    """Closes and deletes an unfinished temporary file (also at exit when close() never ran)."""
    try:
        file.close()
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


class RecordingWriter:
    """Writes `attention.layer{L}` [H, N, N] (and `query/key/value.layer{L}` [H, N, d_head]
    with qkv=True) for L in 0 .. num_layers-1, in any order, each straight to disk.

        with RecordingWriter("rec.safetensors", tokens, num_layers=2, num_heads=4,
                             metadata={"model": "gpt2", "family": "gpt2", "causal": True}) as w:
            for l in range(2):
                w.write_layer(l, attentions[l])          # [H, N, N] (or [1, H, N, N])
            w.set_metadata("attnscope.predictions", {...})   # optional, before close
        # leaving the block calls close(); an exception in it calls abort()

    num_layers counts the *recorded* layers; when they are a subset of the model's, pass
    metadata["layers"] = the model layer numbers (ascending). metadata holds the format's
    other keys (model, family, causal, special_tokens, num_key_value_heads, text, task, …);
    non-string values are written as JSON (lists, dicts) or `true`/`false`. The writer sets
    format, version, tokens, num_layers, num_heads, num_tokens and head_dim itself.
    Not thread-safe: one writer, one thread.
    """

    def __init__(self, path, tokens, num_layers, num_heads, dtype="f32", head_dim=None, qkv=False,
                 metadata=None, reserve=DEFAULT_RESERVE):
        self.path = os.fspath(path)
        if dtype not in DTYPES:
            raise RecordingError(f"{self.path}: dtype must be one of {sorted(DTYPES)}, is {dtype!r}")
        tokens = [str(t) for t in tokens]
        if not tokens or num_layers < 1 or num_heads < 1:
            raise RecordingError(f"{self.path}: a recording needs tokens, layers and heads "
                                 f"(got {len(tokens)} tokens, {num_layers} layers, {num_heads} heads)")
        if qkv and not head_dim:
            raise RecordingError(f"{self.path}: recording query/key/value needs head_dim")
        self.num_layers, self.num_heads, self.num_tokens = num_layers, num_heads, len(tokens)
        self.head_dim, self.qkv = head_dim, qkv
        self.torch_dtype, dtype_name = DTYPES[dtype]
        self.metadata = {"model": "", "family": ""}
        self.metadata.update({k: meta_value(v) for k, v in (metadata or {}).items()})
        self.metadata.update(format=FORMAT, version=str(VERSION), tokens=meta_value(tokens),
                             num_layers=str(num_layers), num_heads=str(num_heads),
                             num_tokens=str(len(tokens)))
        if head_dim:
            self.metadata["head_dim"] = str(head_dim)
        self.factors = pyramid_factors(self.num_tokens)
        if self.factors:
            self.metadata["pyramid"] = json.dumps(self.factors)
        self._check_metadata()

        # The layout: layer by layer, attention then Q, K, V; offsets contiguous from 0.
        H, N = num_heads, self.num_tokens
        self.tensors = {}  # name -> {"dtype", "shape", "data_offsets"}, in file order
        offset, width = 0, torch.tensor([], dtype=self.torch_dtype).element_size()
        for layer in range(num_layers):
            parts = [("attention", N)] + ([(p, head_dim) for p in ("query", "key", "value")] if qkv else [])
            for part, cols in parts:
                size = H * N * cols * width
                self.tensors[f"{part}.layer{layer}"] = {"dtype": dtype_name, "shape": [H, N, cols],
                                                        "data_offsets": [offset, offset + size]}
                offset += size
        for f in self.factors:  # the pyramid, after every layer's parts
            side = -(-N // f)
            for layer in range(num_layers):
                size = H * side * side * width
                self.tensors[f"attention_max{f}.layer{layer}"] = {"dtype": dtype_name, "shape": [H, side, side],
                                                                  "data_offsets": [offset, offset + size]}
                offset += size
        self.data_size = offset
        self.written = set()  # layers on disk

        header = self._header()
        self.header_room = len(header) + reserve
        self.header_room += -self.header_room % 8  # 8-byte aligned data, as safetensors writes it
        self.temp_path = f"{self.path}.tmp-{os.getpid()}"
        try:
            self._file = open(self.temp_path, "wb+")
        except OSError as e:
            raise RecordingError(f"{self.path}: cannot write (cannot create {os.path.basename(self.temp_path)} "
                                 f"in that folder: {e.strerror})") from e
        self._cleanup = weakref.finalize(self, _remove_quietly, self._file, self.temp_path)
        self._write_header(header)

    # --- metadata --------------------------------------------------------------------------

    def _check_metadata(self):
        """The checks AttnScope's reader makes on the keys a caller may pass."""
        md, n = self.metadata, self.num_tokens

        def json_list(key, length, what):
            try:
                value = json.loads(md[key])
            except ValueError:
                value = None
            if not isinstance(value, list) or len(value) != length:
                raise RecordingError(f"{self.path}: metadata '{key}' must be {what}, is {md[key][:80]}")
            return value

        if "special_tokens" in md:
            flags = json_list("special_tokens", n, f"{n} 0/1 flags, one per token")
            if any(f not in (0, 1) or isinstance(f, bool) for f in flags):
                raise RecordingError(f"{self.path}: metadata 'special_tokens' must hold 0/1 flags")
        if "layers" in md:
            layers = json_list("layers", self.num_layers, f"{self.num_layers} model layer numbers")
            if any(not isinstance(x, int) or x < 0 for x in layers) or layers != sorted(set(layers)):
                raise RecordingError(f"{self.path}: metadata 'layers' must list ascending model layer numbers")
        if "sliding_windows" in md:
            json_list("sliding_windows", self.num_layers, f"{self.num_layers} window sizes")
        if "num_key_value_heads" in md:
            kv = int(md["num_key_value_heads"]) if md["num_key_value_heads"].isdigit() else 0
            if kv < 1 or self.num_heads % kv:
                raise RecordingError(f"{self.path}: num_key_value_heads {kv} does not divide {self.num_heads} heads")

    def set_metadata(self, key, value):
        """Sets a metadata key before close() (e.g. predictions, known only after the run).
        The keys describing the tensors (OWN_KEYS) are fixed when the writer is made."""
        if key in OWN_KEYS:
            raise RecordingError(f"{self.path}: metadata '{key}' is fixed when the writer is made")
        self.metadata[key] = meta_value(value)
        self._check_metadata()

    # --- header ----------------------------------------------------------------------------

    def _header(self):
        header = {"__metadata__": dict(sorted(self.metadata.items()))}
        header.update(self.tensors)
        return json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _write_header(self, header):
        """Writes the length field and the header padded with spaces to header_room."""
        assert len(header) <= self.header_room
        self._file.seek(0)
        self._file.write(struct.pack("<Q", self.header_room))
        self._file.write(header + b" " * (self.header_room - len(header)))

    # --- layers ----------------------------------------------------------------------------

    def _prepare(self, name, t, cols, grouped=False):
        """t as this recording's dtype on the CPU, contiguous, shape checked: [H, N, cols].
        Accepts a leading batch axis of 1, and with `grouped` (keys and values of grouped-query
        attention) KV heads dividing H, repeated so query head h holds KV head h // (H / KV)."""
        H, N = self.num_heads, self.num_tokens
        t = t.detach()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if grouped and t.dim() == 3 and 0 < t.shape[0] < H and H % t.shape[0] == 0:
            t = t.repeat_interleave(H // t.shape[0], dim=0)
        if tuple(t.shape) != (H, N, cols):
            raise RecordingError(f"{self.path}: {name} has shape {list(t.shape)}, the recording needs "
                                 f"[{H}, {N}, {cols}] (heads, tokens, {'tokens' if cols == N else 'head_dim'})")
        return t.to(self.torch_dtype).cpu().contiguous()

    def write_layer(self, layer, attention, q=None, k=None, v=None):
        """Writes recorded layer `layer`: attention [H, N, N] (softmax probabilities, query
        rows), and with qkv=True q, k, v [H, N, d_head] (k and v may have KV heads)."""
        if not 0 <= layer < self.num_layers:
            raise RecordingError(f"{self.path}: layer {layer} out of range (recording {self.num_layers} layers)")
        if layer in self.written:
            raise RecordingError(f"{self.path}: layer {layer} was already written")
        if self._file.closed:
            raise RecordingError(f"{self.path}: the writer is closed")
        parts = [("attention", attention, self.num_tokens, False)]
        if self.qkv:
            if q is None or k is None or v is None:
                raise RecordingError(f"{self.path}: layer {layer}: this recording stores query, key and value; give all three")
            parts += [("query", q, self.head_dim, False), ("key", k, self.head_dim, True),
                      ("value", v, self.head_dim, True)]
        # Every part checked before any is written: one layer in memory, at most.
        ready = [(f"{part}.layer{layer}", self._prepare(f"{part}.layer{layer}", t, cols, grouped))
                 for part, t, cols, grouped in parts]
        # The pyramid of the attention as stored (its dtype): the maxima are stored values.
        ready += [(f"attention_max{f}.layer{layer}", level.to(self.torch_dtype).contiguous())
                  for f, level in zip(self.factors, pyramid_levels(ready[0][1], self.factors))]
        for name, t in ready:
            self._file.seek(8 + self.header_room + self.tensors[name]["data_offsets"][0])
            self._file.write(t.numpy())  # little-endian hosts, as the format
        self._file.flush()  # on disk (in the OS's hands) now, not at close
        self.written.add(layer)

    def missing_layers(self):
        return [layer for layer in range(self.num_layers) if layer not in self.written]

    # --- finishing -------------------------------------------------------------------------

    def abort(self):
        """Deletes the unfinished file; the target, if it exists, stays as it was."""
        self._cleanup()

    def close(self):
        """Writes the final header and renames the file into place; raises RecordingError
        (and leaves no file) when a layer is missing."""
        if not self._cleanup.alive:
            return
        missing = self.missing_layers()
        if missing:
            self.abort()
            raise RecordingError(f"{self.path}: not written: layer{'s' if len(missing) > 1 else ''} "
                                 f"{describe_layers(missing)} of {self.num_layers} never arrived")
        try:
            header = self._header()
            if len(header) > self.header_room:
                self._grow_header(header)
            else:
                self._write_header(header)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            _check_with_safetensors(self.temp_path)
            os.replace(self.temp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._cleanup.detach()

    def _grow_header(self, header):
        """The metadata outgrew the reserved room: copy the data behind a bigger header."""
        log.info("%s: metadata larger than the reserved header room; copying the data once", self.path)
        old_room = self.header_room
        self.header_room = len(header) + (-len(header) % 8)
        grown = f"{self.temp_path}.grow"
        with open(grown, "wb") as out:
            out.write(struct.pack("<Q", self.header_room))
            out.write(header + b" " * (self.header_room - len(header)))
            self._file.seek(8 + old_room)
            while chunk := self._file.read(COPY_CHUNK):
                out.write(chunk)
        self._file.close()
        os.replace(grown, self.temp_path)
        self._file = open(self.temp_path, "rb+")
        self._cleanup.detach()
        self._cleanup = weakref.finalize(self, _remove_quietly, self._file, self.temp_path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self._cleanup.alive:
            done = sorted(self.written)
            log.warning("%s: not written (%s); recorded layers %s of %d, missing %s", self.path, exc_type.__name__,
                        describe_layers(done) or "none", self.num_layers, describe_layers(self.missing_layers()))
            self.abort()
        return False


def _check_with_safetensors(path):
    """Opens the file with the `safetensors` package when it is installed (a second reader)."""
    try:
        from safetensors import safe_open
    except ImportError:
        return
    with safe_open(path, framework="pt") as f:
        f.keys()
