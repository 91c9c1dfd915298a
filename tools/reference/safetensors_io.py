"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian u64 header
length, a UTF-8 JSON header, then the raw little-endian tensor bytes. The header maps each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
first data byte) and may hold "__metadata__" (string -> string). We pad the header with
spaces to a multiple of 8 bytes, as the reference implementation does, so that the data
section is 8-byte aligned.
"""
import json
import struct

import torch

# safetensors dtype name <-> torch dtype.
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}

# Same-width integer type used to get at the raw bytes of types numpy lacks (bfloat16).
_RAW_VIEW = {torch.bfloat16: torch.int16, torch.float16: torch.int16}


def tensor_bytes(t):
    """Raw little-endian bytes of a tensor, row-major."""
    t = t.detach().contiguous().cpu()
    if t.dtype in _RAW_VIEW:
        t = t.view(_RAW_VIEW[t.dtype])
    return t.numpy().tobytes()  # x86/ARM hosts are little-endian


def serialize(tensors, metadata=None):
    """Returns the bytes of a safetensors file holding `tensors` (name -> tensor), in name order."""
    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"__metadata__ must map str to str, got {key!r}: {type(value)}")
        header["__metadata__"] = dict(metadata)
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in NAMES:
            raise TypeError(f"tensor '{name}': unsupported dtype {t.dtype}")
        data = tensor_bytes(t)
        header[name] = {
            "dtype": NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write(path, tensors, metadata=None):
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def read(path):
    """Returns (tensors: name -> tensor, metadata: dict). Tensors keep their stored dtype."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} exceeds file size {len(blob)}")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        raw_dtype = _RAW_VIEW.get(dtype, dtype)
        count = 1
        for dim in info["shape"]:
            count *= dim
        if end > len(data) or end - begin != count * torch.tensor([], dtype=dtype).element_size():
            raise ValueError(f"{path}: tensor '{name}' has bad data_offsets {info['data_offsets']}")
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=raw_dtype) if count else \
            torch.empty(0, dtype=raw_dtype)
        tensors[name] = flat.view(dtype).reshape(info["shape"]).clone()
    return tensors, metadata
