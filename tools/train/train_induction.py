#!/usr/bin/python3
"""Trains attnscope-induction-toy: a 2-layer attention-only transformer in GPT-2 clothing.

    /usr/bin/python3 tools/train/train_induction.py [--out DIR] [--steps N]

The model is a GPT2LMHeadModel (tools/reference/gpt2.py, Hugging Face names) whose MLPs are
zero and frozen (c_fc / c_proj weights and biases 0, so each block's MLP adds nothing): an
attention-only transformer that any GPT-2 loader runs unchanged. Its words are 240 syllables
(16 consonants x 5 vowels x no coda / "n" / "r": "ba", "ban", "bar", "ko", ...), one token
each, written with a leading space like GPT-2 words.
Training sequences (128 tokens) start with <|endoftext|> (the tokenizer adds it, like GPT-2's
BOS: a fixed first token gives idle heads somewhere to rest, which made the first repeated
tokens copy well). Half are one run of 2-16 different syllables repeated ("R R R ..."), half
chains of "R [gap] R" segments: a run R of 4-32 different syllables, 0-8 random ones, R again.
With run lengths varying, the only thing to learn beyond chance is "find the earlier
occurrence of the current token and predict what followed it": a previous-token head in
layer 0 and an induction head in layer 1. One CPU thread, seeded, about 16 minutes.
The two heads need each other (an induction head reads what a previous-token head wrote), so
plain training sits at chance for a long plateau, and with only a hint for layer 0 the model
found another copying circuit (a same-token head and a positional offset) instead of the
textbook one. Two auxiliary losses, used in training only, ask for the textbook circuit: a
linear probe must read the previous token from the residual stream after layer 0 (so layer 0
grows a previous-token head), and layer 1's INDUCTION_HEADS are asked to attend from each
repeated token to the token that followed its previous occurrence (AUX_WEIGHT each). The LM
loss alone decides whether and how that attention is used to copy; the probe is discarded and
the saved model is a plain GPT-2. The copying accuracy and the heads are measured afterwards.
Two choices make an ablation sweep name the circuit, induction head first and a previous-token
head second (what the app's sweep test and the README show). Layer 1's heads other than
INDUCTION_HEADS write nothing (SILENT_HEADS: their rows of c_proj zero and frozen): trained
freely, another layer-1 head learned the same job, and switching either off cost less than the
previous-token head. And each layer-0 head is switched off at random in training (HEAD_DROP,
its output zero as head_mask does): with a single previous-token head feeding the induction
head, switching it off made the model copy the wrong token with confidence (46 nats, far more
than losing the induction head), while with the work spread over several heads each alone
costs little and the induction head is the one the copy cannot do without. The measured cost of
every head is logged, and the script fails unless the induction head costs most and a
previous-token head comes next.

Writes config.json, model.safetensors (F32), vocab.json + merges.txt (the 256 byte symbols,
"Ġ"+consonant(+vowel(+coda)), <|endoftext|>), tokenizer.json and tokenizer_config.json with
add_prefix_space (so "ba ko" and " ba ko" tokenize alike) and <|endoftext|> put first
(add_bos_token; a template post-processor in tokenizer.json), attnscope.json. Measures copy
accuracy on the second half of repeated sequences and names the previous-token and induction
heads from their attention; checks the saved folder with the reference loader.
"""
import argparse
import sys

import train_common as tc  # first: sets thread limits and sys.path
import torch
import torch.nn.functional as F

import batched
from reference import gpt2, tokenizers

SEED = 777
CONSONANTS, VOWELS, CODAS = "bdfghjklmnprstvz", "aeiou", ("", "n", "r")
N_EMBD, N_LAYER, N_HEAD, N_POSITIONS = 128, 2, 4, 128
BATCH, STEPS, WARMUP = 32, 6000, 200
PEAK_LR, WEIGHT_DECAY, BETAS = 3e-3, 0.01, (0.9, 0.98)
RUN_LENGTHS, MAX_GAP = (4, 32), 8
PERIODIC_SHARE, PERIOD = 0.5, (2, 16)
AUX_WEIGHT = 1.0
INDUCTION_HEADS = [0]
HEAD_DROP = 0.25  # training only: each layer-0 head is switched off with this probability
SILENT_HEADS = [1, 2, 3]  # layer 1 heads whose output projection is zero and frozen
EVAL_EVERY = 100
SPACE = tokenizers.BYTE_ENCODER[ord(" ")]  # "Ġ"
EXAMPLES = ["ban ko mir du zen ta ban ko mir du zen ta",
            "lo pin ra nu sar ko ven da lo pin ra nu sar ko ven da",
            "mor ti gan fe ru hon mor ti gan fe ru hon mor ti gan fe ru hon",
            "sa jun bi dor te lo min ra ku sa jun bi dor te lo min ra ku"]


def build_vocab():
    """GPT-2 layout: the 256 byte symbols (so any text tokenizes), then the merged symbols
    "Ġ"+consonant, "Ġ"+consonant+vowel, "Ġ"+consonant+vowel+coda, then <|endoftext|> last.
    Returns (vocab: token -> id, merges, ids of the 240 syllables ("ba", "ban", "bar", ...))."""
    vocab = {c: i for i, c in enumerate(tokenizers.BYTE_ENCODER.values())}
    merges = [(SPACE, c) for c in CONSONANTS]
    merges += [(SPACE + c, v) for c in CONSONANTS for v in VOWELS]
    merges += [(SPACE + c + v, k) for k in CODAS if k for c in CONSONANTS for v in VOWELS]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[tokenizers.EOT] = len(vocab)
    syllables = [vocab[SPACE + c + v + k] for k in CODAS for c in CONSONANTS for v in VOWELS]
    return vocab, merges, syllables


def tokenizer_json(vocab, merges):
    """Hugging Face tokenizers' tokenizer.json for this vocabulary (GPT-2 byte level, with
    add_prefix_space so the first word gets the same token as later ones), putting
    <|endoftext|> first as the model was trained (tokenizer_config.json says add_bos_token)."""
    byte_level = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                  "use_regex": True}
    eot = tokenizers.EOT

    def bos(type_id):
        return {"SpecialToken": {"id": eot, "type_id": type_id}}

    def seq(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}
    template = {"type": "TemplateProcessing", "single": [bos(0), seq("A", 0)],
                "pair": [bos(0), seq("A", 0), bos(1), seq("B", 1)],
                "special_tokens": {eot: {"id": eot, "ids": [vocab[eot]], "tokens": [eot]}}}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[tokenizers.EOT], "content": tokenizers.EOT,
                          "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": template,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab,
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def repeated_batch(syllables, bos, gen, batch=BATCH, length=N_POSITIONS, periodic_share=None,
                   period=None):
    """(B, T) ids. Each row is, with probability PERIODIC_SHARE, one random run R of
    PERIOD syllables repeated to fill the row ("R R R ..."); otherwise a chain of segments
    "R [gap] R" with |R| in RUN_LENGTHS and 0..MAX_GAP random syllables between the copies.
    Run lengths vary, so no fixed offset predicts a copy: beyond period 2 (where the token
    before the current one is the answer) only induction works."""
    table = torch.tensor(syllables)

    def rand(n):
        return torch.randint(len(syllables), (n,), generator=gen)

    def run(n):  # n distinct syllables
        return torch.randperm(len(syllables), generator=gen)[:n]

    def between(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    rows = []
    for _ in range(batch):
        if float(torch.rand(1, generator=gen)) < (periodic_share or PERIODIC_SHARE):
            r = run(between(*(period or PERIOD)))
            row = r.repeat(length // len(r) + 1).tolist()
        else:
            row = []
            while len(row) < length:
                r = run(between(*RUN_LENGTHS))
                row.extend(torch.cat([r, rand(between(0, MAX_GAP)), r]).tolist())
        rows.append(row[:length - 1])
    return torch.cat([torch.full((batch, 1), bos), table[torch.tensor(rows)]], 1)


def induction_targets(ids):
    """(B, T) ids -> (B, T) position right after the latest earlier occurrence of the token at
    each position, -1 where it has not occurred before."""
    t = ids.shape[1]
    same = (ids[:, :, None] == ids[:, None, :]) & torch.ones(t, t, dtype=torch.bool).tril(-1)
    last = torch.where(same, torch.arange(t), torch.full((t,), -1)).max(-1).values  # (B, T)
    return torch.where(last >= 0, last + 1, last)


def copy_accuracy(model, syllables, bos, gen, prefix, n, count=512):
    """Accuracy of next-token predictions inside the second copy: at positions
    dest .. dest+n-2 the next token is determined by the first copy. Sequences are
    `prefix` random syllables, then R (n syllables), then R again."""
    table = torch.tensor(syllables)
    run = table[torch.stack([torch.randperm(len(syllables), generator=gen)[:n] for _ in range(count)])]
    pre = table[torch.randint(len(syllables), (count, prefix), generator=gen)]
    ids = torch.cat([torch.full((count, 1), bos), pre, run, run], 1)  # (count, 1 + prefix + 2n)
    dest = 1 + prefix + n
    with torch.no_grad():
        logits, att = batched.gpt2_forward(model.eval(), ids, keep_attentions=True)
    pred = logits[:, dest:dest + n - 1].argmax(-1)
    acc = (pred == ids[:, dest + 1:dest + n]).float().mean().item()
    return acc, ids, att, dest


def head_scores(att, dest, n):
    """Per (layer, head): previous-token score = mean attention from position i to i-1;
    induction score = mean attention from a second-copy position to the token that followed
    the same token in the first copy. att: per layer (B, H, T, T)."""
    a = torch.stack(att).mean(1)  # (L, H, T, T)
    t = a.shape[-1]
    prev = a[:, :, torch.arange(1, t), torch.arange(t - 1)].mean(-1)
    queries = torch.arange(dest, dest + n - 1)
    induction = a[:, :, queries, queries - n + 1].mean(-1)
    return prev, induction


def silence(c_proj_weight, heads):
    """Zeroes the rows of a Conv1D output projection (C_in, C_out) that read the given heads'
    outputs, and keeps them zero in training (their gradient is masked): those heads write
    nothing to the residual stream."""
    d = c_proj_weight.shape[0] // N_HEAD
    keep = torch.ones_like(c_proj_weight)
    for h in heads:
        keep[h * d:(h + 1) * d] = 0.0
    with torch.no_grad():
        c_proj_weight.mul_(keep)
    c_proj_weight.register_hook(lambda grad: grad * keep)


def sweep_costs(model, ids, dest, n):
    """What each head costs the copied tokens: per (layer, head), the mean drop in the
    log-probability of the correct next token at the second copy's positions dest ..
    dest+n-2 when that head alone is switched off (its output zero, as head_mask does)."""
    def copied_logprob(gates=None):
        with torch.no_grad():
            logits, _ = batched.gpt2_forward(model.eval(), ids, skip_mlp=True, head_gates=gates)
        logp = logits[:, dest:dest + n - 1].log_softmax(-1)
        return logp.gather(-1, ids[:, dest + 1:dest + n, None])[..., 0].mean().item()
    base = copied_logprob()
    costs = torch.zeros(N_LAYER, N_HEAD)
    for layer in range(N_LAYER):
        for head in range(N_HEAD):
            gate = torch.ones(ids.shape[0], N_HEAD)
            gate[:, head] = 0.0
            costs[layer, head] = base - copied_logprob({layer: gate})
    return base, costs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=tc.Path, default=tc.MODELS_DIR / "attnscope-induction-toy")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    tc.setup(SEED)
    torch.set_flush_denormal(True)  # sharp attention underflows; denormals slow training 3x
    vocab, merges, syllables = build_vocab()
    bos = vocab[tokenizers.EOT]  # every sequence starts with <|endoftext|>, as GPT-2 input does

    cfg = gpt2.config(len(vocab), N_EMBD, N_LAYER, N_HEAD, N_POSITIONS,
                      eos_token_id=vocab[tokenizers.EOT])
    cfg.update(attn_pdrop=0.0, embd_pdrop=0.0, resid_pdrop=0.0)
    model = gpt2.GPT2LMHeadModel(cfg)
    tc.init_weights(model, residual_layers=N_LAYER)
    for block in model.transformer.h:  # attention-only: MLP zero and frozen
        for p in block.mlp.parameters():
            p.data.zero_()
            p.requires_grad_(False)
    silence(model.transformer.h[1].attn.c_proj.weight, SILENT_HEADS)
    tc.log(f"model: {sum(p.numel() for p in model.parameters() if p.requires_grad):,} trained "
           f"parameters; vocab {len(vocab)} ({len(syllables)} syllables); {cfg}")

    probe = torch.nn.Linear(N_EMBD, len(vocab))  # training only: reads the previous token
    opt = tc.adamw(model, PEAK_LR, WEIGHT_DECAY, BETAS)
    opt.add_param_group({"params": list(probe.parameters()), "weight_decay": 0.0})
    gen = torch.Generator().manual_seed(SEED)
    eval_gen = torch.Generator().manual_seed(SEED + 1)
    model.train()
    train_start, running = tc.elapsed(), None
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = tc.cosine_lr(step, args.steps, PEAK_LR, WARMUP)
        ids = repeated_batch(syllables, bos, gen)
        residuals = []
        inputs = ids[:, :-1]
        gates = {0: (torch.rand(BATCH, N_HEAD, generator=gen) >= HEAD_DROP).float()}
        logits, att = batched.gpt2_forward(model, inputs, skip_mlp=True, residuals=residuals,
                                           keep_attentions="with_grad", head_gates=gates)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        # The probe: position t's residual after layer 0 should tell token t - 1.
        aux = F.cross_entropy(probe(residuals[0][:, 1:]).reshape(-1, len(vocab)), ids[:, :-2].reshape(-1))
        # Layer 1's induction head: attend to the token after the previous occurrence.
        target = induction_targets(inputs)
        rows = target >= 0
        index = target.clamp(min=0)[:, None, :, None].expand(-1, len(INDUCTION_HEADS), -1, -1)
        probs = att[1][:, INDUCTION_HEADS].gather(-1, index)[..., 0]  # (B, heads, T)
        aux_induction = -(probs.permute(0, 2, 1)[rows] + 1e-9).log().mean()
        loss = loss + AUX_WEIGHT * (aux + aux_induction)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if (step + 1) % EVAL_EVERY == 0 or step == 0:
            acc, _, att, dest = copy_accuracy(model, syllables, bos, eval_gen, 20, 30, count=128)
            prev, induction = head_scores(att, dest, 30)
            model.train()
            tc.log(f"step {step + 1:5d} loss {running:.3f} copy accuracy {acc:.3f}; best "
                   f"previous-token score per layer {prev.max(1).values.numpy().round(2)}, "
                   f"induction {induction.max(1).values.numpy().round(2)}")
    train_minutes = (tc.elapsed() - train_start) / 60
    assert all(float(p.abs().max()) == 0.0 for b in model.transformer.h for p in b.mlp.parameters())

    eval_gen = torch.Generator().manual_seed(12345)
    results = {}
    for prefix, n in ((0, 32), (0, 63), (20, 30), (40, 10), (10, 50)):
        acc, ids, att, _ = copy_accuracy(model, syllables, bos, eval_gen, prefix, n)
        results[(prefix, n)] = acc
        tc.log(f"copy accuracy, {prefix} random + R + R with |R| = {n}: {acc:.4f} "
               f"(chance {1 / len(syllables):.3f})")
    _, ids, att, dest = copy_accuracy(model, syllables, bos, eval_gen, 20, 40)
    prev, induction = head_scores(att, dest, 40)
    tc.log(f"trained {args.steps} steps in {train_minutes:.1f} min")
    tc.log(f"previous-token score (layer x head):\n{prev.numpy().round(3)}")
    tc.log(f"induction score (layer x head):\n{induction.numpy().round(3)}")
    ph = int(prev[0].argmax())
    ih = int(induction[1].argmax())
    tc.log(f"previous-token head: layer 0 head {ph} (score {prev[0, ph]:.3f}); "
           f"induction head: layer 1 head {ih} (score {induction[1, ih]:.3f})")
    # What each head costs the copy: on runs repeated right after <|endoftext|> (as the app's
    # test input), and after 20 random syllables.
    rankings = {}
    for prefix, n in ((0, 30), (20, 40)):
        _, ids, _, dest = copy_accuracy(model, syllables, bos, eval_gen, prefix, n, count=256)
        base, costs = sweep_costs(model, ids, dest, n)
        rankings[prefix] = sorted(((float(costs[l, h]), l, h) for l in range(N_LAYER)
                                   for h in range(N_HEAD)), reverse=True)
        tc.log(f"{prefix} random + R + R with |R| = {n}: copied tokens' mean log-probability "
               f"{base:.3f}; cost of switching each head off alone (nats, layer x head):\n"
               f"{costs.numpy().round(3)}")
        tc.log("most harmful: " + ", ".join(f"{l}.{h} {c:.2f}" for c, l, h in rankings[prefix][:4]))
    first, second = rankings[0][0], rankings[0][1]
    circuit_ranked = first[1:] == (1, ih) and second[1] == 0 and prev[0, second[2]] > 0.9 and second[0] > 0

    out = args.out
    size = tc.save_model(out, model, cfg)
    tokenizers.write_bpe_files(out, vocab, merges)
    tc.write_json(out / "tokenizer.json", tokenizer_json(vocab, merges))
    tc.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": N_POSITIONS,
        "add_prefix_space": True, "add_bos_token": True,
        "bos_token": tokenizers.EOT, "eos_token": tokenizers.EOT,
        "unk_token": tokenizers.EOT})
    tc.write_json(out / "attnscope.json", {
        "task": "next-token", "examples": EXAMPLES,
        "heads": {"previous_token": [0, ph], "induction": [1, ih]}})
    tc.log(f"saved {out} (model.safetensors {size:,} bytes)")
    tc.report_sizes(out)

    # Reload with the pure-PyTorch reference loader; logits and tokens must match.
    ref_model = tc.reload(out, gpt2)
    ref_enc = tokenizers.read_bpe_files(out)
    worst = 0.0
    for text in EXAMPLES:
        _, ids = ref_enc.encode(" " + text)  # add_prefix_space
        assert all(i in syllables for i in ids), f"unexpected tokens for {text!r}"
        ids = [bos] + ids
        mine, _ = batched.gpt2_forward(model.eval(), torch.tensor([ids]))
        worst = max(worst, (mine[0] - ref_model(torch.tensor(ids)).logits).abs().max().item())
        pred = mine[0].argmax(-1).tolist()
        tc.log(f"example {text!r}: predicted next tokens {ref_enc.decode(pred)!r}")
    tc.log(f"reload check: max |logit difference| = {worst:.2e}")
    return 0 if worst <= 1e-3 and min(results.values()) > 0.9 and circuit_ranked else 1


if __name__ == "__main__":
    sys.exit(main())
