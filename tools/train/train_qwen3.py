#!/usr/bin/python3
"""Trains attnscope-qwen3-tiny: a small Qwen3ForCausalLM with grouped KV heads and sliding-window layers.

    /usr/bin/python3 tools/train/train_qwen3.py [--out DIR] [--steps N]

Architecture: the Llama kind of decoder (RMSNorm, RoPE, SwiGLU) with Qwen3's per-head q/k
RMSNorm, as tools/reference/llama.py implements it (Hugging Face names): 4 layers, 8 query
heads sharing 2 key/value heads (head_dim 32, so q_proj is 256 wide), hidden 160, 256 positions; layers 0 and 2 are
sliding-window layers (each query sees its last 32 tokens, itself included), layers 1 and 3
attend to everything before them (explicit layer_types in config.json). Tied embedding/head.
Trained with batched.llama_forward on 256-token windows that start at a document's
<|endoftext|>, so that position 0 is the BOS the engine adds (tokenizer_config.json says
add_bos_token, bos_token <|endoftext|>).

Data: tools/train/corpus.py (the same WordNet + fortune text as attnscope-gpt2-small, 2% held
out). Tokenizer: attnscope-gpt2-small's byte-level BPE (vocab.json and merges.txt copied, 5,000
ids, <|endoftext|> last). One CPU thread, seeded. Writes config.json, model.safetensors (F32),
vocab.json, merges.txt, tokenizer_config.json, attnscope.json; prints validation perplexity,
per-head statistics (how far back each head looks) and sample completions, and checks that the
saved folder, reloaded by the reference loader, gives the training forward's logits.
"""
import argparse
import json
import math
import shutil
import sys

import train_common as tc  # first: sets thread limits and sys.path
import torch
import torch.nn.functional as F

import batched
import corpus
import tokenizer_train
from reference import llama, tokenizers

SEED = 2718
TOKENIZER_FROM = tc.MODELS_DIR / "attnscope-gpt2-small"
HIDDEN, N_LAYER, N_HEAD, N_KV_HEAD, HEAD_DIM, FFN, N_POSITIONS = 160, 4, 8, 2, 32, 480, 256
WINDOW = 32
LAYER_TYPES = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]
BATCH, STEPS, WARMUP = 8, 900, 40
PEAK_LR, WEIGHT_DECAY, BETAS = 3e-3, 0.1, (0.9, 0.95)
EVAL_EVERY = 50
PROMPTS = ["The cat sat on the", "To run is to", "A dog is a", "Once upon a time, there was a",
           "The best way to learn is", "If you want to be happy,", "Love is",
           "The old man looked at the sea and"]


def read_tokenizer(folder):
    with open(folder / "vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    with open(folder / "merges.txt", encoding="utf-8") as f:
        merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line]
    return vocab, merges


def encode_stream(enc, docs, eot):
    """<|endoftext|> doc <|endoftext|> doc ...: every document starts after a BOS."""
    ids = []
    for doc in docs:
        ids.append(eot)
        ids.extend(enc.ids(doc))
    return torch.tensor(ids, dtype=torch.long)


def sample_batch(stream, starts, gen):
    """BATCH windows of N_POSITIONS + 1 tokens, each beginning at a document's BOS."""
    pick = starts[torch.randint(0, starts.numel(), (BATCH,), generator=gen)]
    chunk = torch.stack([stream[s:s + N_POSITIONS + 1] for s in pick.tolist()])
    return chunk[:, :-1], chunk[:, 1:]


def init_weights(model, std=0.02):
    """Norm weights 1; projections into the residual stream (o_proj, down_proj) N(0, std/√(2L))
    as in GPT-2; every other matrix (and the tied embedding) N(0, std)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                p.normal_(0.0, std / math.sqrt(2 * N_LAYER))
            else:
                p.normal_(0.0, std)


def eval_windows(stream):
    """Non-overlapping (N_POSITIONS + 1)-token windows of the validation stream (which starts
    with a BOS; later windows start wherever they fall)."""
    n = (stream.numel() - 1) // N_POSITIONS
    return [stream[j * N_POSITIONS: (j + 1) * N_POSITIONS + 1] for j in range(n)]


@torch.no_grad()
def evaluate(model, stream, max_windows=None):
    """Mean next-token loss over the validation windows."""
    model.eval()
    windows = eval_windows(stream)[:max_windows]
    total, count = 0.0, 0
    for i in range(0, len(windows), BATCH):
        chunk = torch.stack(windows[i:i + BATCH])
        logits, _ = batched.llama_forward(model, chunk[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += chunk[:, 1:].numel()
    model.train()
    return total / count


@torch.no_grad()
def complete(model, enc, prompt, gen, new_tokens=24, top_k=20, temperature=0.7):
    model.eval()
    eot = len(enc.encoder) - 1
    ids = [eot] + enc.ids(prompt)
    for _ in range(new_tokens):
        logits, _ = batched.llama_forward(model, torch.tensor([ids[-N_POSITIONS:]]))
        top = torch.topk(logits[0, -1] / temperature, top_k)
        nxt = top.indices[torch.multinomial(top.values.softmax(-1), 1, generator=gen)].item()
        if nxt == eot:
            break
        ids.append(nxt)
    return enc.decode(ids[1:])


@torch.no_grad()
def head_table(model, stream, n_windows=16):
    """Per head on 256-token validation windows: mean distance back (query − key, weighted by
    attention), the share of attention on keys WINDOW or more tokens back (queries that can
    reach them), on the previous token, and on position 0."""
    model.eval()
    chunk = torch.stack(eval_windows(stream)[:n_windows])[:, :-1]
    _, att = batched.llama_forward(model, chunk, keep_attentions=True)
    a = torch.stack([x.mean(0) for x in att])  # (L, H, T, T), averaged over the windows
    t = a.shape[-1]
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    dist = (a * (i - j).clamp(min=0)).sum(-1).mean(-1)  # (L, H)
    far = (a[:, :, WINDOW:, :] * (j <= i - WINDOW)[WINDOW:]).sum(-1).mean(-1)
    prev = a[:, :, torch.arange(1, t), torch.arange(t - 1)].mean(-1)
    first = a[:, :, 1:, 0].mean(-1)
    model.train()
    return dist, far, prev, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=tc.Path, default=tc.MODELS_DIR / "attnscope-qwen3-tiny")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    tc.setup(SEED)

    train_docs, valid_docs = corpus.build()
    tc.log(f"corpus: {len(train_docs)} train / {len(valid_docs)} valid documents")
    vocab, merges = read_tokenizer(TOKENIZER_FROM)
    enc = tokenizer_train.CachedBPE(vocab, merges)
    eot = vocab[tokenizers.EOT]
    assert eot == len(vocab) - 1
    train_stream = encode_stream(enc, train_docs, eot)
    valid_stream = encode_stream(enc, valid_docs, eot)
    starts = (train_stream[:-N_POSITIONS - 1] == eot).nonzero().flatten()
    tc.log(f"BPE (from {TOKENIZER_FROM.name}): {len(vocab)} ids; tokens train "
           f"{train_stream.numel():,} valid {valid_stream.numel():,}; {starts.numel():,} window starts")

    cfg = llama.config("qwen3", len(vocab), HIDDEN, N_LAYER, N_HEAD, FFN, num_kv_heads=N_KV_HEAD,
                       head_dim=HEAD_DIM, max_positions=N_POSITIONS, sliding_window=WINDOW,
                       tie_word_embeddings=True, layer_types=LAYER_TYPES,
                       bos_token_id=eot, eos_token_id=eot)
    assert llama.layer_types(cfg) == LAYER_TYPES and llama.sliding_window_of(cfg) == WINDOW
    model = llama.DecoderForCausalLM(cfg)
    init_weights(model)
    n_params = sum(p.numel() for p in model.parameters())
    tc.log(f"model: {n_params:,} parameters, {cfg}")

    opt = tc.adamw(model, PEAK_LR, WEIGHT_DECAY, BETAS)
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    train_start = tc.elapsed()
    running = None
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = tc.cosine_lr(step, args.steps, PEAK_LR, WARMUP)
        x, y = sample_batch(train_stream, starts, gen)
        logits, _ = batched.llama_forward(model, x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % EVAL_EVERY == 0 or step == 0:
            val = evaluate(model, valid_stream, max_windows=16)
            tc.log(f"step {step + 1:5d} train loss {running:.3f} valid loss {val:.3f} "
                   f"(ppl {math.exp(val):.1f}) lr {opt.param_groups[0]['lr']:.2e} "
                   f"({(tc.elapsed() - train_start) / (step + 1):.2f} s/step)")
    train_minutes = (tc.elapsed() - train_start) / 60
    val = evaluate(model, valid_stream)
    tc.log(f"trained {args.steps} steps ({args.steps * BATCH * N_POSITIONS:,} tokens) in "
           f"{train_minutes:.1f} min; validation loss {val:.4f}, perplexity {math.exp(val):.2f} "
           f"per BPE token over {valid_stream.numel():,} tokens")

    out = args.out
    size = tc.save_model(out, model, cfg)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(TOKENIZER_FROM / name, out / name)
    tc.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": N_POSITIONS,
        "bos_token": tokenizers.EOT, "eos_token": tokenizers.EOT, "unk_token": tokenizers.EOT,
        "add_prefix_space": False, "add_bos_token": True})
    tc.write_json(out / "attnscope.json", {"task": "next-token", "examples": PROMPTS[:6]})
    tc.log(f"saved {out} (model.safetensors {size:,} bytes)")
    tc.report_sizes(out)

    # Reload with the pure-PyTorch reference loader; logits and tokens must match.
    model.eval()
    ref_model = tc.reload(out, llama)
    ref_enc = tokenizers.read_bpe_files(out)
    worst = 0.0
    for text in PROMPTS + valid_docs[:4]:
        _, ids = ref_enc.encode(text)
        assert ids == enc.ids(text), f"tokenizer round trip differs on {text!r}"
        ids = ([eot] + ids)[:N_POSITIONS]
        mine, _ = batched.llama_forward(model, torch.tensor([ids]))
        theirs = ref_model(torch.tensor(ids)).logits
        worst = max(worst, (mine[0] - theirs).abs().max().item())
    tc.log(f"reload check: max |logit difference| = {worst:.2e}")
    if worst > 1e-3:
        tc.log("reload check FAILED")
        return 1

    dist, far, prev, first = head_table(model, valid_stream)
    tc.log(f"layer types: {LAYER_TYPES}")
    tc.log(f"mean distance back per head (layer x head):\n{dist.numpy().round(1)}")
    tc.log(f"attention on keys >= {WINDOW} tokens back (queries at >= {WINDOW}):\n"
           f"{far.numpy().round(3)}")
    tc.log(f"previous-token attention per head:\n{prev.numpy().round(2)}")
    tc.log(f"attention on position 0 (BOS) per head:\n{first.numpy().round(2)}")
    gen = torch.Generator().manual_seed(SEED)
    for prompt in PROMPTS:
        tc.log(f"sample: {complete(model, enc, prompt, gen)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
