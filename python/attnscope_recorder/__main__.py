"""python -m attnscope_recorder --model NAME_OR_DIR --text … --out rec.safetensors

Loads a Hugging Face model (hub id or folder) with `transformers` and records its attention
(record_hf). Under torchrun (WORLD_SIZE > 1) it joins the process group and only rank 0
writes; --tensor-parallel splits each layer's heads over the ranks (transformers' tp_plan).
Exit status: 0 written, 1 failed (the message says why), 2 bad arguments or no transformers.
"""
import argparse
import os
import sys

import torch

from .writer import DTYPES, RecordingError, parse_layers

TORCH_DTYPES = {"auto": "auto", "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m attnscope_recorder",
                                description="Record a Hugging Face model's attention to an AttnScope recording.")
    p.add_argument("--model", required=True, help="hub id or folder (config.json, weights, tokenizer)")
    p.add_argument("--text", required=True, help="input text")
    p.add_argument("--pair", help="second sentence (BERT-style pairs)")
    p.add_argument("--out", required=True, help="recording to write (.safetensors; replaced atomically)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32", help="precision of the stored attention (default f32)")
    p.add_argument("--layers", help="record only these layers, e.g. 0,2,5-7 (default: all)")
    p.add_argument("--qkv", action="store_true", help="also store each head's query, key and value vectors")
    p.add_argument("--torch-dtype", choices=sorted(TORCH_DTYPES), default="auto",
                   help="dtype to load the weights in (default: as stored)")
    p.add_argument("--device", help="device to run on (default: cuda when available, else cpu)")
    p.add_argument("--device-map", help="passed to from_pretrained, e.g. 'auto' to spread layers over the GPUs (needs accelerate)")
    p.add_argument("--tensor-parallel", action="store_true",
                   help="under torchrun: split each layer's heads over the ranks (tp_plan='auto')")
    return p.parse_args(argv)


def join_torchrun():
    """Joins the process group torchrun describes in the environment (WORLD_SIZE > 1)."""
    import torch.distributed as dist
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def load(transformers, args):
    """The model class its config names (so its head gives predictions), and the tokenizer."""
    config = transformers.AutoConfig.from_pretrained(args.model)
    arch = (getattr(config, "architectures", None) or [""])[0]
    cls = getattr(transformers, arch, None) or transformers.AutoModel
    kwargs = {"torch_dtype": TORCH_DTYPES[args.torch_dtype], "attn_implementation": "eager"}
    if args.device_map:
        kwargs["device_map"] = args.device_map
    if args.tensor_parallel:
        kwargs["tp_plan"] = "auto"
    try:
        model = cls.from_pretrained(args.model, **kwargs)
    except TypeError:  # transformers older than 4.36: no attn_implementation (record_hf switches)
        kwargs.pop("attn_implementation")
        model = cls.from_pretrained(args.model, **kwargs)
    if not args.device_map and not args.tensor_parallel:
        model.to(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model, transformers.AutoTokenizer.from_pretrained(args.model)


def main(argv=None):
    args = parse_args(argv)
    try:
        import transformers
    except ImportError:
        print("attnscope_recorder: --model needs the 'transformers' package, which is not importable here "
              "(pip install transformers); from your own code, record_with_hooks needs only torch", file=sys.stderr)
        return 2
    from .hf import record_hf, sizes
    from .hooks import rank
    try:
        join_torchrun()
        model, tokenizer = load(transformers, args)
        record_hf(model, tokenizer, args.text, args.out, args.dtype, args.layers, args.qkv, args.pair)
    except (RecordingError, OSError, ValueError) as e:
        print(f"attnscope_recorder: {e}", file=sys.stderr)
        return 1
    if rank() == 0:
        layers, heads, _ = sizes(model)
        recorded = layers if args.layers is None else len(parse_layers(args.layers, layers))
        print(f"wrote {args.out}: {recorded} layers x {heads} heads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
