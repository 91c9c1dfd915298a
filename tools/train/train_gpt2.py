#!/usr/bin/python3
"""Trains attnscope-gpt2-small: a small GPT-2 (GPT2LMHeadModel) with its own byte-level BPE.

    /usr/bin/python3 tools/train/train_gpt2.py [--out DIR] [--steps N]

Data: tools/train/corpus.py (WordNet glosses/examples + fortunes, 2% held out). Tokenizer:
GPT-2 byte-level BPE learned here (GPT-2 pre-tokenizer regex, bytes_to_unicode, NUM_MERGES
merges, <|endoftext|> last). Model: the reference GPT-2 of tools/reference/gpt2.py (Hugging
Face names), trained with a batched forward (batched.py) on random 256-token windows of the
concatenated documents (separated by <|endoftext|>). One CPU thread, seeded; ~25 min.
Writes config.json, model.safetensors (F32), vocab.json, merges.txt, tokenizer_config.json,
attnscope.json; prints validation perplexity, head statistics and sample completions, and
checks that the saved folder, reloaded by the reference loader, gives the same logits.
"""
import argparse
import math
import sys

import train_common as tc  # first: sets thread limits and sys.path
import torch
import torch.nn.functional as F

import batched
import corpus
import tokenizer_train
from reference import gpt2, tokenizers

SEED = 1234
NUM_MERGES = 4743  # 256 bytes + 4743 merges + <|endoftext|> = 5000 ids
N_EMBD, N_LAYER, N_HEAD, N_POSITIONS = 160, 4, 4, 256
BATCH, STEPS, WARMUP = 16, 1500, 100
PEAK_LR, WEIGHT_DECAY, BETAS, DROPOUT = 2e-3, 0.1, (0.9, 0.95), 0.0
EVAL_EVERY = 200
PROMPTS = ["The cat sat on the", "To run is to", "A dog is a", "Once upon a time, there was a",
           "The best way to learn is", "If you want to be happy,", "Love is",
           "The old man looked at the sea and"]
PUNCTUATION = set(".,;:!?")


def encode_stream(enc, docs, eot):
    ids = []
    for doc in docs:
        ids.extend(enc.ids(doc))
        ids.append(eot)
    return torch.tensor(ids, dtype=torch.long)


def sample_batch(stream, gen):
    starts = torch.randint(0, stream.numel() - N_POSITIONS - 1, (BATCH,), generator=gen)
    chunk = torch.stack([stream[s:s + N_POSITIONS + 1] for s in starts.tolist()])
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def evaluate(model, stream, max_windows=None):
    """Mean next-token loss over non-overlapping 256-token windows of the validation stream."""
    model.eval()
    n = (stream.numel() - 1) // N_POSITIONS
    if max_windows:
        n = min(n, max_windows)
    total, count = 0.0, 0
    for i in range(0, n, BATCH):
        rows = [stream[j * N_POSITIONS: (j + 1) * N_POSITIONS + 1] for j in range(i, min(n, i + BATCH))]
        chunk = torch.stack(rows)
        logits, _ = batched.gpt2_forward(model, chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1),
                               reduction="sum")
        total += loss.item()
        count += chunk[:, 1:].numel()
    model.train()
    return total / count


@torch.no_grad()
def complete(model, enc, prompt, gen, new_tokens=24, top_k=20, temperature=0.7):
    model.eval()
    ids = enc.ids(prompt)
    eot = len(enc.encoder) - 1
    for _ in range(new_tokens):
        logits, _ = batched.gpt2_forward(model, torch.tensor([ids[-N_POSITIONS:]]))
        top = torch.topk(logits[0, -1] / temperature, top_k)
        nxt = top.indices[torch.multinomial(top.values.softmax(-1), 1, generator=gen)].item()
        if nxt == eot:
            break
        ids.append(nxt)
    return enc.decode(ids)


@torch.no_grad()
def head_table(model, enc, docs):
    """Per head: mean attention to the previous token, and mean attention mass that queries
    put on punctuation tokens (vs. the share of punctuation among visible keys)."""
    model.eval()
    punct = torch.tensor([t in PUNCTUATION for t in
                          [enc.decode([i]) for i in range(len(enc.encoder))]])
    prev, onp, base, count = 0, 0, 0, 0
    for doc in docs:
        ids = torch.tensor([enc.ids(doc)[:N_POSITIONS]])
        if ids.shape[1] < 8:
            continue
        _, att = batched.gpt2_forward(model, ids, keep_attentions=True)
        a = torch.stack([x[0] for x in att])  # (L, H, T, T)
        t = a.shape[-1]
        prev = prev + a[:, :, torch.arange(1, t), torch.arange(t - 1)].mean(-1)
        is_p = punct[ids[0]].float()  # (T,)
        onp = onp + (a[:, :, 1:, :] @ is_p).mean(-1)
        visible = torch.tril(torch.ones(t, t))[1:] @ is_p / torch.arange(2, t + 1)
        base = base + visible.mean()
        count += 1
    return prev / count, onp / count, base / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=tc.Path, default=tc.MODELS_DIR / "attnscope-gpt2-small")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    tc.setup(SEED)

    train_docs, valid_docs = corpus.build()
    tc.log(f"corpus: {len(train_docs)} train / {len(valid_docs)} valid documents")
    tokenizer_train.self_test()
    vocab, merges = tokenizer_train.learn_bpe(train_docs, NUM_MERGES)
    enc = tokenizer_train.CachedBPE(vocab, merges)
    eot = vocab[tokenizers.EOT]
    assert eot == len(vocab) - 1
    train_stream = encode_stream(enc, train_docs, eot)
    valid_stream = encode_stream(enc, valid_docs, eot)
    tc.log(f"BPE: {len(vocab)} ids, {len(merges)} merges; tokens train {train_stream.numel():,} "
           f"valid {valid_stream.numel():,}")

    cfg = gpt2.config(len(vocab), N_EMBD, N_LAYER, N_HEAD, N_POSITIONS, eos_token_id=eot)
    cfg.update(attn_pdrop=DROPOUT, embd_pdrop=DROPOUT, resid_pdrop=DROPOUT)
    model = gpt2.GPT2LMHeadModel(cfg)
    tc.init_weights(model, residual_layers=N_LAYER)
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
        x, y = sample_batch(train_stream, gen)
        logits, _ = batched.gpt2_forward(model, x, DROPOUT)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % EVAL_EVERY == 0 or step == 0:
            val = evaluate(model, valid_stream, max_windows=64)
            tc.log(f"step {step + 1:5d} train loss {running:.3f} valid loss {val:.3f} "
                   f"(ppl {math.exp(val):.1f}) lr {opt.param_groups[0]['lr']:.2e}")
    train_minutes = (tc.elapsed() - train_start) / 60
    val = evaluate(model, valid_stream)
    tc.log(f"trained {args.steps} steps ({args.steps * BATCH * N_POSITIONS:,} tokens) in "
           f"{train_minutes:.1f} min; validation loss {val:.4f}, perplexity {math.exp(val):.2f} "
           f"per BPE token over {valid_stream.numel():,} tokens")

    out = args.out
    size = tc.save_model(out, model, cfg)
    tokenizers.write_bpe_files(out, vocab, merges)
    tc.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": N_POSITIONS,
        "bos_token": tokenizers.EOT, "eos_token": tokenizers.EOT, "unk_token": tokenizers.EOT,
        "add_prefix_space": False, "add_bos_token": False})
    tc.write_json(out / "attnscope.json", {"task": "next-token", "examples": PROMPTS[:6]})
    tc.log(f"saved {out} (model.safetensors {size:,} bytes)")
    tc.report_sizes(out)

    # Reload with the pure-PyTorch reference loader; logits and tokens must match.
    model.eval()
    ref_model = tc.reload(out, gpt2)
    ref_enc = tokenizers.read_bpe_files(out)
    worst = 0.0
    for text in PROMPTS + valid_docs[:4]:
        _, ids = ref_enc.encode(text)
        assert ids == enc.ids(text), f"tokenizer round trip differs on {text!r}"
        ids = ids[:N_POSITIONS]
        mine, _ = batched.gpt2_forward(model, torch.tensor([ids]))
        theirs = ref_model(torch.tensor(ids)).logits
        worst = max(worst, (mine[0] - theirs).abs().max().item())
    tc.log(f"reload check: max |logit difference| = {worst:.2e}")
    if worst > 1e-3:
        tc.log("reload check FAILED")
        return 1

    prev, onp, base = head_table(model, enc, valid_docs[:300])
    tc.log(f"previous-token attention per head (layer x head):\n{prev.numpy().round(2)}")
    tc.log(f"attention on punctuation per head (share of punctuation among visible keys "
           f"{base.item():.3f}):\n{onp.numpy().round(2)}")
    gen = torch.Generator().manual_seed(SEED)
    for prompt in PROMPTS:
        tc.log(f"sample: {complete(model, enc, prompt, gen)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
