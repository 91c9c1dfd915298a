"""Records attention from a PyTorch model into AttnScope's recording format
(docs/recording-format.md), layer by layer, for models too large for a desktop.

    RecordingWriter       the streaming writer (header first, one layer in memory)
    record_with_hooks     any torch.nn.Module: forward hooks on its attention modules
    record_hf             a Hugging Face transformers model and tokenizer
    python -m attnscope_recorder --model NAME_OR_DIR --text … --out rec.safetensors

Needs only torch; `transformers` for record_hf and the command line; uses `safetensors`,
when installed, to check each file it writes. See python/README.md.
"""
from .hf import record_hf  # works on transformers' objects without importing transformers
from .hooks import AttentionHooks, output_probs, rank, record_with_hooks, world_size
from .writer import RecordingError, RecordingWriter, parse_layers

__all__ = ["AttentionHooks", "RecordingError", "RecordingWriter", "output_probs", "parse_layers", "rank",
           "record_hf", "record_with_hooks", "world_size"]
