#!/usr/bin/python3
"""Trains attnscope-bert-mini: a small BERT masked LM (BertForMaskedLM) with its own WordPiece.

    /usr/bin/python3 tools/train/train_bert.py [--out DIR] [--steps N]

Data: tools/train/corpus.py, split into sentences. Tokenizer: lower-cased WordPiece learned
here (tokenizer_train.learn_wordpiece). Examples are sentence pairs [CLS] a [SEP] b [SEP]
(token_type_ids 0 / 1) cut from the running sentence stream: a and b are consecutive runs of
whole sentences, truncated to the batch's length. Each batch has one length drawn from
SEQ_LENGTHS (so that all 256 positions are trained) and about TOKENS_PER_BATCH tokens.
Masking is BERT's: 15% of the non-special tokens are chosen; 80% become [MASK], 10% a
random token, 10% stay. Loss and accuracy on the chosen positions. One CPU thread, seeded.
Writes config.json, model.safetensors (F32), vocab.txt, tokenizer_config.json,
attnscope.json; prints validation masked-token accuracy, head statistics and fill-mask
examples, and checks the saved folder with the reference loader.
"""
import argparse
import math
import random
import sys

import train_common as tc  # first: sets thread limits and sys.path
import torch
import torch.nn.functional as F

import batched
import corpus
import tokenizer_train
from reference import bert, tokenizers

SEED = 4321
VOCAB_SIZE = 5000
HIDDEN, LAYERS, HEADS, INTERMEDIATE, MAX_POSITIONS = 160, 4, 4, 640, 256
SEQ_LENGTHS, SEQ_WEIGHTS = (32, 64, 128, 256), (0.3, 0.35, 0.25, 0.1)
TOKENS_PER_BATCH, STEPS, WARMUP = 4096, 6000, 300
PEAK_LR, WEIGHT_DECAY, BETAS, DROPOUT = 2e-3, 0.01, (0.9, 0.98), 0.0
MASK_PROB = 0.15
EVAL_EVERY = 500
PAD, UNK, CLS, SEP, MASK = range(5)  # BERT_SPECIALS order
FILL_MASK = ["The cat sat on the [MASK].", "Paris is the capital of [MASK].",
             "To run is to move [MASK] on foot.", "A dog is a domestic [MASK].",
             "She opened the [MASK] and walked into the room.",
             "The [MASK] is the star that is the source of light and heat for the planets.",
             "Never put off until tomorrow what you can do [MASK].",
             "A carpenter is a [MASK] who makes things from wood."]


class FastWordPiece:
    """tokenizers.WordPieceTokenizer's ids, with a per-word cache (for plain text: no
    special tokens written in it)."""

    def __init__(self, vocab_list):
        self.vocab = {t: i for i, t in enumerate(vocab_list)}
        self.cache = {}

    def ids(self, text):
        out = []
        for word in tokenizers.basic_tokenize(text, do_lower_case=True):
            if word not in self.cache:
                self.cache[word] = [self.vocab[p] for p in tokenizers.wordpiece(word, self.vocab)]
            out.extend(self.cache[word])
        return out


def sentence_stream(docs, wp):
    """Token ids of every sentence of every document, in document order (no empty ones)."""
    out = []
    for doc in docs:
        for sentence in corpus.split_sentences(doc):
            ids = wp.ids(sentence)
            if ids:
                out.append(ids)
    return out


class PairSampler:
    """Walks the sentence stream, cutting [CLS] a [SEP] b [SEP] examples of a given length."""

    def __init__(self, sentences, rng):
        self.sentences, self.rng, self.pos = sentences, rng, 0

    def _take(self):
        s = self.sentences[self.pos]
        self.pos = (self.pos + 1) % len(self.sentences)
        return s

    def example(self, length):
        budget = length - 3
        run = [self._take()]
        while sum(map(len, run)) < budget or len(run) < 2:
            run.append(self._take())
        cut = self.rng.randint(1, len(run) - 1)
        a = [t for s in run[:cut] for t in s]
        b = [t for s in run[cut:] for t in s]
        while len(a) + len(b) > budget:  # BERT's truncate_seq_pair: trim the longer side
            (a if len(a) > len(b) else b).pop()
        ids = [CLS] + a + [SEP] + b + [SEP]
        types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
        return ids, types


def collate(examples, length):
    ids = torch.full((len(examples), length), PAD, dtype=torch.long)
    types = torch.zeros((len(examples), length), dtype=torch.long)
    for i, (e, t) in enumerate(examples):
        ids[i, :len(e)] = torch.tensor(e)
        types[i, :len(t)] = torch.tensor(t)
    return ids, types, ids == PAD


def mask_tokens(ids, vocab_size, gen):
    """BERT masking. Returns (inputs, flat positions of the chosen tokens, their labels,
    flat positions that were replaced by [MASK])."""
    special = ids < 5
    chosen = (torch.rand(ids.shape, generator=gen) < MASK_PROB) & ~special
    for row in range(ids.shape[0]):  # at least one prediction per example
        if not chosen[row].any():
            candidates = (~special[row]).nonzero().flatten()
            if len(candidates):
                pick = candidates[torch.randint(len(candidates), (1,), generator=gen)]
                chosen[row, pick] = True
    r = torch.rand(ids.shape, generator=gen)
    to_mask = chosen & (r < 0.8)
    to_random = chosen & (r >= 0.8) & (r < 0.9)
    inputs = ids.clone()
    inputs[to_mask] = MASK
    inputs[to_random] = torch.randint(5, vocab_size, (int(to_random.sum()),), generator=gen)
    positions = chosen.flatten().nonzero().flatten()
    return inputs, positions, ids.flatten()[positions], to_mask.flatten().nonzero().flatten()


def make_batch(sampler, vocab_size, gen, length):
    examples = [sampler.example(length) for _ in range(max(1, TOKENS_PER_BATCH // length))]
    ids, types, pad = collate(examples, length)
    inputs, positions, labels, masked = mask_tokens(ids, vocab_size, gen)
    return inputs, types, pad, positions, labels, masked


@torch.no_grad()
def evaluate(model, batches):
    """(loss, accuracy on all chosen positions, accuracy on [MASK] positions)."""
    model.eval()
    loss, correct, n, mask_correct, mask_n = 0.0, 0, 0, 0, 0
    for inputs, types, pad, positions, labels, masked in batches:
        logits, _ = batched.bert_mlm_forward(model, inputs, types, pad, positions=positions)
        loss += F.cross_entropy(logits, labels, reduction="sum").item()
        hit = logits.argmax(-1) == labels
        correct += hit.sum().item()
        n += len(labels)
        is_mask = torch.isin(positions, masked)
        mask_correct += hit[is_mask].sum().item()
        mask_n += is_mask.sum().item()
    model.train()
    return loss / n, correct / n, mask_correct / mask_n, n


@torch.no_grad()
def fill_mask(model, vocab_list, text, k=5):
    tokens, ids, types = tokenizers.WordPieceTokenizer(vocab_list).encode(text)
    ids_t = torch.tensor([ids])
    logits, _ = batched.bert_mlm_forward(model.eval(), ids_t, torch.tensor([types]),
                                         ids_t == PAD)
    where = tokens.index("[MASK]")
    probs = logits[0, where].softmax(-1)
    top = torch.topk(probs, k)
    return [(vocab_list[i], round(p, 3)) for i, p in zip(top.indices.tolist(), top.values.tolist())]


@torch.no_grad()
def head_table(model, batches):
    """Per head: attention to the previous token, the next token, and to [CLS]/[SEP]."""
    model.eval()
    prev, nxt, special, count = 0, 0, 0, 0
    for inputs, types, pad, *_ in batches:
        _, att = batched.bert_mlm_forward(model, inputs, types, pad, keep_attentions=True)
        a = torch.stack(att).mean(1)  # (L, H, T, T), averaged over the batch (full rows)
        t = a.shape[-1]
        prev = prev + a[:, :, torch.arange(1, t), torch.arange(t - 1)].mean(-1)
        nxt = nxt + a[:, :, torch.arange(t - 1), torch.arange(1, t)].mean(-1)
        is_special = ((inputs == CLS) | (inputs == SEP)).float().mean(0)  # (T,)
        special = special + (a @ is_special).mean(-1)
        count += 1
    return prev / count, nxt / count, special / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=tc.Path, default=tc.MODELS_DIR / "attnscope-bert-mini")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    tc.setup(SEED)
    rng = random.Random(SEED)
    gen = torch.Generator().manual_seed(SEED)

    train_docs, valid_docs = corpus.build()
    vocab_list = tokenizer_train.learn_wordpiece(train_docs, VOCAB_SIZE)
    wp = FastWordPiece(vocab_list)
    train_sentences = sentence_stream(train_docs, wp)
    valid_sentences = sentence_stream(valid_docs, wp)
    tc.log(f"WordPiece: {len(vocab_list)} entries; sentences train {len(train_sentences):,} "
           f"({sum(map(len, train_sentences)):,} tokens) valid {len(valid_sentences):,} "
           f"({sum(map(len, valid_sentences)):,} tokens)")

    cfg = bert.config(len(vocab_list), HIDDEN, LAYERS, HEADS, INTERMEDIATE, "BertForMaskedLM",
                      MAX_POSITIONS)
    cfg.update(hidden_dropout_prob=DROPOUT, attention_probs_dropout_prob=DROPOUT)
    model = bert.BertForMaskedLM(cfg)
    tc.init_weights(model)
    tc.log(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, {cfg}")

    # Fixed validation set: every validation sentence once, at length 128, seeded masks.
    valid_sampler = PairSampler(valid_sentences, random.Random(0))
    valid_gen = torch.Generator().manual_seed(0)
    n_valid = sum(map(len, valid_sentences)) // (128 - 3 * 2) + 1
    valid_batches = [make_batch(valid_sampler, len(vocab_list), valid_gen, 128)
                     for _ in range(max(1, n_valid // (TOKENS_PER_BATCH // 128)))]

    sampler = PairSampler(train_sentences, rng)
    opt = tc.adamw(model, PEAK_LR, WEIGHT_DECAY, BETAS)
    model.train()
    train_start, running, seen = tc.elapsed(), None, 0
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = tc.cosine_lr(step, args.steps, PEAK_LR, WARMUP)
        length = rng.choices(SEQ_LENGTHS, SEQ_WEIGHTS)[0]
        inputs, types, pad, positions, labels, _ = make_batch(sampler, len(vocab_list), gen, length)
        seen += inputs.numel()
        logits, _ = batched.bert_mlm_forward(model, inputs, types, pad, DROPOUT, positions=positions)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % EVAL_EVERY == 0 or step == 0:
            val, acc, macc, _ = evaluate(model, valid_batches[:8])
            tc.log(f"step {step + 1:5d} train loss {running:.3f} valid loss {val:.3f} "
                   f"acc {acc:.3f} [MASK]-acc {macc:.3f} lr {opt.param_groups[0]['lr']:.2e}")
    train_minutes = (tc.elapsed() - train_start) / 60
    val, acc, macc, n = evaluate(model, valid_batches)
    tc.log(f"trained {args.steps} steps ({seen:,} tokens, {sampler.pos:,} sentences into the "
           f"stream) in {train_minutes:.1f} min; validation over {n:,} masked positions: loss "
           f"{val:.4f} (ppl {math.exp(val):.1f}), accuracy {acc:.4f}, on [MASK] tokens {macc:.4f}")

    out = args.out
    size = tc.save_model(out, model, cfg)
    tokenizers.write_vocab_txt(out / "vocab.txt", vocab_list)
    tc.write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True,
        "tokenize_chinese_chars": True, "model_max_length": MAX_POSITIONS,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]"})
    tc.write_json(out / "attnscope.json", {"task": "fill-mask", "examples": FILL_MASK[:6]})
    tc.log(f"saved {out} (model.safetensors {size:,} bytes)")
    tc.report_sizes(out)

    # Reload with the pure-PyTorch reference loader; logits and tokens must match.
    model.eval()
    ref_model = tc.reload(out, bert)
    ref_tok = tokenizers.WordPieceTokenizer(
        [line.rstrip("\n") for line in open(out / "vocab.txt", encoding="utf-8")])
    worst = 0.0
    for i, text in enumerate(FILL_MASK + valid_docs[:4]):
        pair = valid_docs[i + 4] if i % 2 else None
        tokens, ids, types = ref_tok.encode(text, pair)
        if "[MASK]" not in text:
            assert ids[1:len(wp.ids(text)) + 1] == wp.ids(text), f"tokens differ on {text!r}"
        ids, types = ids[:MAX_POSITIONS], types[:MAX_POSITIONS]
        mine, _ = batched.bert_mlm_forward(model, torch.tensor([ids]), torch.tensor([types]),
                                           torch.tensor([ids]) == PAD)
        theirs = ref_model(torch.tensor(ids), torch.tensor(types)).logits
        worst = max(worst, (mine[0] - theirs).abs().max().item())
    tc.log(f"reload check: max |logit difference| = {worst:.2e}")
    if worst > 1e-3:
        tc.log("reload check FAILED")
        return 1

    prev, nxt, special = head_table(model, valid_batches[:20])
    tc.log(f"attention to previous token per head (layer x head):\n{prev.numpy().round(2)}")
    tc.log(f"attention to next token per head:\n{nxt.numpy().round(2)}")
    tc.log(f"attention to [CLS]/[SEP] per head:\n{special.numpy().round(2)}")
    for text in FILL_MASK:
        tc.log(f"fill-mask: {text!r} -> {fill_mask(model, vocab_list, text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
