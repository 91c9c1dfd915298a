#!/usr/bin/python3
"""Regenerates the encoder-decoder golden fixtures in tests/fixtures/models/ (see tools/README.md).

    /usr/bin/python3 tools/make_encdec_fixtures.py [--out DIR]

Tiny random-weight BartForConditionalGeneration, MarianMTModel and T5ForConditionalGeneration
(v1.0 and v1.1 / Flan-T5) checkpoints in Hugging Face layout, with the tokenizer files those
models ship (BART: byte-level BPE vocab.json + merges.txt; Marian: source.spm, target.spm and the
joint vocab.json; T5: spiece.model and tokenizer.json), and expected/<case>.safetensors computed
in float64 by tools/reference/bart.py, marian.py and t5.py (self-checked by
`python3 -m tools.reference.check_encoder_decoder`) from the weights exactly as stored.

The SentencePiece models are trained here by spm_train (Debian's sentencepiece) on fixed text, on
one thread, with every sampling option off, so reruns give the same bytes. They use the identity
normalisation rule: nmt_nfkc's precompiled character map alone is ~240 KB. T5's tokenizer.json is
derived here from spiece.model's pieces and scores in the layout of transformers' T5Converter; it
is not made by the tokenizers library. Needs python3-sentencepiece for the tokenizer self-checks.

Rewrites only the folders it owns (FIXTURES below). Seeded and deterministic; the self-checks at
the end (including a byte comparison of two fresh runs) must all pass (exit status 1 if not).
"""
import argparse
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import sentencepiece
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import NUM_MERGES, Checks, dir_size, read_state, save_weights, write_json  # noqa: E402
from make_llama_fixtures import uniformity  # noqa: E402
from reference import bart, marian, safetensors_io, t5, tokenizers  # noqa: E402
from reference import fixture_text as text  # noqa: E402
from reference.check_encoder_decoder import randomize  # noqa: E402  (INIT_STD 0.25, T5's q · d_kv^-½)

SEED = 6280  # of 6100..6380 step 20: attention far from uniform, the greedy ids vary the most
NEW_TOKENS = 8  # greedy steps per case; decoder_input_ids = start token + the first 7 of them
MARGIN = 1e-3  # top-1 logit must lead top-2 by this much, so a float32 engine picks the same ids
T5_EXTRA_IDS = 4  # <extra_id_0..3> after the 250 pieces; vocab_size 256 pads like t5-small's 32128
BUCKETS, MAX_DISTANCE = 8, 20  # T5 relative attention (HF default 32 / 128)
SHORT, LONG = (8, 12), (20, 30)  # source token counts of the two cases, special tokens included
MAX_FOLDER_BYTES = 330_000  # ~300 KB: bart_tiny's 461 × 32 embeddings and biases make ~325
UNKNOWN_TEXT = "The café by 東京 station."  # characters no model has: <unk> by every route
SPM_FLAGS = ["--model_type=unigram", "--character_coverage=1.0", "--num_threads=1", "--input_sentence_size=0",
             "--shuffle_input_sentence=false", "--random_seed=1", "--normalization_rule_name=identity",
             "--minloglevel=2"]
BART_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3 as in facebook/bart-base; <mask> last
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models"


@dataclass
class Fixture:
    name: str
    module: ModuleType  # bart, marian or t5
    cfg: dict  # Hugging Face config.json
    seed: int
    dtype: torch.dtype = torch.float32  # storage dtype (save_weights)
    shards: int = 1


def fixtures(bart_vocab_size, marian_vocab_size, t5_vocab_size):
    t5_common = dict(relative_attention_num_buckets=BUCKETS, relative_attention_max_distance=MAX_DISTANCE)
    return [
        Fixture("bart_tiny", bart, bart.config(bart_vocab_size, 32, 2, 4, 48, forced_bos_token_id=0,
                                               normalize_before=False, add_final_layer_norm=False), SEED + 1),
        Fixture("marian_tiny", marian, marian.config(marian_vocab_size, 32, 2, 4, 48), SEED + 2),
        Fixture("t5_tiny", t5, t5.config(t5_vocab_size, 32, 2, 4, 64, **t5_common), SEED + 3),
        # d_kv 16: inner 64 != d_model 32, as Flan-T5's (6 × 64 != 512); BF16 keeps it under ~300 KB.
        Fixture("t5_v11_tiny", t5, t5.config(t5_vocab_size, 32, 2, 4, 48, d_kv=16, feed_forward_proj="gated-gelu",
                                             tie_word_embeddings=False, num_decoder_layers=3,
                                             torch_dtype="bfloat16", **t5_common),
                SEED + 4, dtype=torch.bfloat16),
    ]


# --- tokenizers ---------------------------------------------------------------------------

def train_spm(corpus, vocab_size, *flags):
    """The bytes of a unigram .model trained by spm_train in a scratch folder (relative paths, so
    the trainer_spec the model records is the same on every run)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "corpus.txt").write_text(corpus, encoding="utf-8")
        subprocess.run(["spm_train", "--input=corpus.txt", "--model_prefix=spm", f"--vocab_size={vocab_size}",
                        *SPM_FLAGS, *flags], cwd=tmp, check=True, capture_output=True)
        return Path(tmp, "spm.model").read_bytes()


def t5_corpus():
    """BPE_CORPUS and the word list (twelve words a line): enough text for 250 pieces."""
    lines = [" ".join(text.WORDS[i:i + 12]) for i in range(0, len(text.WORDS), 12)]
    return text.BPE_CORPUS + "\n".join(lines) + "\n"


class BartTok:
    """BartTokenizer: GPT-2 byte-level BPE, <s> … </s>. Second route: the GPT-2 fixtures' own
    vocabulary (no specials), whose ids are 4 lower."""

    def __init__(self, d, bpe_vocab, merges):
        vocab = {t: i for i, t in enumerate(BART_SPECIALS)}
        vocab.update((t, len(vocab)) for t in sorted(bpe_vocab, key=bpe_vocab.get) if t != tokenizers.EOT)
        vocab["<mask>"] = len(vocab)
        tokenizers.write_bpe_files(d, vocab, merges)
        added = {str(i): {"content": t, "lstrip": t == "<mask>", "normalized": True, "rstrip": False,
                          "single_word": False, "special": True}
                 for t, i in vocab.items() if t in BART_SPECIALS + ["<mask>"]}
        write_json(d / "tokenizer_config.json", {
            "add_prefix_space": False, "added_tokens_decoder": added, "bos_token": "<s>",
            "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>", "errors": "replace",
            "mask_token": "<mask>", "model_max_length": 64, "pad_token": "<pad>", "sep_token": "</s>",
            "tokenizer_class": "BartTokenizer", "unk_token": "<unk>"})
        self.tok = tokenizers.read_bpe_files(d)
        self.gpt2 = tokenizers.ByteLevelBPE(bpe_vocab, merges)
        self.size = len(vocab)

    def encode(self, case_text):
        tokens = ["<s>"] + self.tok.tokenize(case_text) + ["</s>"]
        return tokens, [self.tok.encoder[t] for t in tokens]

    def routes(self, case_text):
        _, ids = self.gpt2.encode(case_text)
        return {"GPT-2 fixture BPE ids + 4, <s> </s>": [0] + [i + 4 for i in ids] + [2]}

    def decode(self, ids):
        """The text between <s> and </s> (ids[0] and ids[-1] must be those)."""
        return self.tok.decode(ids[1:-1]) if ids[0] == 0 and ids[-1] == 2 else None


def marian_vocab(spm):
    return tokenizers.marian_vocab(*(tokenizers.parse_spm_model(spm[k]) for k in ("source", "target")))


class MarianTok:
    """MarianTokenizer: source.spm pieces → vocab.json ids, </s>. Second route: the sentencepiece
    library's own segmentation, mapped the same way."""

    def __init__(self, d, spm):
        (d / "source.spm").write_bytes(spm["source"])
        (d / "target.spm").write_bytes(spm["target"])
        vocab = marian_vocab(spm)
        with open(d / "vocab.json", "w", encoding="utf-8") as f:  # as HF's save_json: ASCII, "\u2581"
            json.dump(vocab, f, indent=2)
        write_json(d / "tokenizer_config.json", {
            "eos_token": "</s>", "model_max_length": 64, "pad_token": "<pad>", "separate_vocabs": False,
            "source_lang": "en", "target_lang": "de", "tokenizer_class": "MarianTokenizer", "unk_token": "<unk>"})
        vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        self.ref = tokenizers.MarianTokenizer(tokenizers.read_spm_model(d / "source.spm"), vocab)
        self.spm = sentencepiece.SentencePieceProcessor(model_file=str(d / "source.spm"))
        self.vocab, self.size, self.unk_id = vocab, len(vocab), vocab["<unk>"]

    def encode(self, case_text):
        return self.ref.encode(case_text)

    def routes(self, case_text):
        pieces = self.spm.encode(case_text, out_type=str)
        return {"sentencepiece pieces → vocab.json": [self.vocab.get(p, self.vocab["<unk>"]) for p in pieces]
                + [self.vocab["</s>"]]}


class T5Tok:
    """T5Tokenizer: spiece.model ids, </s> (1). Second route: the sentencepiece library; third:
    tokenizer.json read back (Unigram Viterbi over its vocab)."""

    def __init__(self, d, model_bytes):
        (d / "spiece.model").write_bytes(model_bytes)
        model = tokenizers.read_spm_model(d / "spiece.model")
        self.spm = sentencepiece.SentencePieceProcessor(model_file=str(d / "spiece.model"))
        pieces = [(self.spm.id_to_piece(i), self.spm.get_score(i), model.pieces[i][2])
                  for i in range(self.spm.get_piece_size())]
        with open(d / "tokenizer.json", "w", encoding="utf-8") as f:  # compact: tokenizers' pretty=False
            json.dump(tokenizers.t5_tokenizer_json(pieces, self.spm.unk_id(), T5_EXTRA_IDS), f, ensure_ascii=False)
        extra = [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)]
        write_json(d / "tokenizer_config.json", {
            "additional_special_tokens": extra, "eos_token": "</s>", "extra_ids": T5_EXTRA_IDS,
            "model_max_length": 64, "pad_token": "<pad>", "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer",
            "unk_token": "<unk>"})
        self.ref = tokenizers.T5Tokenizer(model, T5_EXTRA_IDS)
        obj = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
        self.fast = tokenizers.UnigramJsonTokenizer(obj)
        self.size, self.unk_id = self.ref.size, model.unk_id()
        # T5Tokenizer's sentinel rule (<extra_id_i> = vocab_size - 1 - i) against the json's vocab.
        self.sentinels_ok = all(obj["model"]["vocab"][self.size - 1 - i][0] == f"<extra_id_{i}>"
                                for i in range(T5_EXTRA_IDS))

    def encode(self, case_text):
        return self.ref.encode(case_text)

    def routes(self, case_text):
        return {"sentencepiece ids + </s>": self.spm.encode(case_text) + [self.spm.piece_to_id("</s>")],
                "tokenizer.json Unigram + TemplateProcessing": self.fast.encode(case_text)[1]}


# --- models and cases ---------------------------------------------------------------------

def build(fx, state, dtype=torch.float64, hf_float32=False):
    """The reference model in `dtype` from a state dict (strict: names must match). T5 runs
    without HF's float32 islands unless hf_float32 (the expected files are all-float64)."""
    cls = next(iter(fx.module.ARCHITECTURES.values()))
    model = cls(fx.cfg, hf_float32=hf_float32) if fx.module is t5 else cls(fx.cfg)
    model = model.to(dtype).eval()
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    return model


@torch.no_grad()
def run_case(model, input_ids):
    """(generated (NEW_TOKENS,), decoder_input_ids (T,), teacher-forced trace, generate's trace):
    greedy ids without EOS stop and without logits processors, then one full forward over the
    start token and all generated ids but the last."""
    ids, gen = model.generate(input_ids, NEW_TOKENS, stop_at_eos=False)
    decoder_ids = ids[:-1]
    return ids[1:], decoder_ids, model(input_ids, decoder_ids), gen


def expected_tensors(input_ids, decoder_ids, trace):
    f32 = torch.float32
    t = {"input_ids": input_ids.to(torch.int64),  # (S,)
         "decoder_input_ids": decoder_ids.to(torch.int64),  # (T,)
         "logits": trace.logits.to(f32),  # (T, V)
         "encoder_hidden": trace.encoder_hidden_states[-1].to(f32)}  # (S, C), the encoder's output
    for layer, a in enumerate(trace.encoder_attentions):
        t[f"encoder_attention.layer{layer}"] = a.to(f32)  # (H, S, S)
    for layer, a in enumerate(trace.decoder_attentions):
        t[f"attention.layer{layer}"] = a.to(f32)  # (H, T, T), 0 above the diagonal
    for layer, a in enumerate(trace.cross_attentions):
        t[f"cross_attention.layer{layer}"] = a.to(f32)  # (H, T, S)
    return {k: v.contiguous() for k, v in t.items()}


def max_diff(a, b):
    """Largest |a - b| over the float tensors of two expected_tensors dicts (or trace lists)."""
    if isinstance(a, dict):
        return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def trace_tensors(tr):
    return [tr.logits] + tr.encoder_attentions + tr.decoder_attentions + tr.cross_attentions


def bucket_use(cfg, n, bidirectional):
    """The set of relative-position buckets an n × n self-attention reads."""
    rel = torch.arange(n)[None, :] - torch.arange(n)[:, None]
    if not bidirectional:
        rel = rel[~bart.future_mask(n, n, 0)]  # the masked future reads bucket 0 but never counts
    return set(t5.relative_position_bucket(rel, bidirectional, cfg["relative_attention_num_buckets"],
                                           cfg["relative_attention_max_distance"]).flatten().tolist())


def check_tokenizer(tok, case_text, ids, results):
    for route, got in tok.routes(case_text).items():
        results.add(f"tokenizer: reference == {route}", float(got != ids), 0.0)
    if hasattr(tok, "decode"):
        results.add("tokenizer: byte decode(ids between <s> and </s>) == text",
                    float(tok.decode(ids) != case_text), 0.0)


def check_case(fx, state, model, case, input_ids, generated, decoder_ids, full, gen, path, results, stats):
    cfg = fx.cfg
    argmax = full.logits.argmax(-1)
    results.add("generated ids == argmax of the teacher-forced logits", float(not torch.equal(argmax, generated)), 0.0)
    top2 = full.logits.topk(2, dim=-1).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    results.add(f"greedy margin top-1 − top-2 ≥ {MARGIN} (fails if below)", float(margin < MARGIN), 0.0)
    stats["min margin"] = min(stats.get("min margin", 1e9), margin)
    results.add("cached generate == teacher-forced pass (logits, attentions)",
                max_diff(trace_tensors(gen), trace_tensors(full)), 1e-9)
    everything = full.encoder_attentions + full.decoder_attentions + full.cross_attentions
    results.add("attention rows sum to 1", max((a.sum(-1) - 1).abs().max().item() for a in everything), 1e-12)
    future = bart.future_mask(len(decoder_ids), len(decoder_ids), 0)
    results.add("decoder self-attention: future probabilities == 0",
                max(a[:, future].abs().max().item() for a in full.decoder_attentions), 0.0)
    want = expected_tensors(input_ids, decoder_ids, full)
    with torch.no_grad():
        t32 = build(fx, state, torch.float32, hf_float32=True)(input_ids, decoder_ids)
    results.add("float32 run (HF's float32 islands) vs float64 golden", max_diff(expected_tensors(
        input_ids, decoder_ids, t32), want), 1e-4)
    if fx.module is t5:
        with torch.no_grad():
            islands = build(fx, state, hf_float32=True)(input_ids, decoder_ids)
        results.add("T5: HF's float32 islands (RMS variance, softmax) move values by",
                    max_diff(trace_tensors(islands), trace_tensors(full)), 1e-5)
        if case == "long":
            n, t_len = len(input_ids), len(decoder_ids)
            # Encoder: every bucket but BUCKETS / 2 (a key after the query at distance 0 cannot
            # exist), i.e. exact, log and capped ones both ways; decoder (T = 8): exact 0-3, log 4-5.
            enc, dec = bucket_use(cfg, n, True), bucket_use(cfg, t_len, False)
            want_enc = set(range(BUCKETS)) - {BUCKETS // 2}
            results.add("T5 buckets read: encoder all but 4, decoder 0-5 (differences)",
                        float(len(want_enc ^ enc) + len(set(range(6)) ^ dec)), 0.0)
    stored, meta = safetensors_io.read(path)
    mismatch = set(stored) ^ set(want)
    mismatch |= {k for k in want if k in stored and not torch.equal(stored[k], want[k])}
    results.add("expected files read back identical", float(len(mismatch)), 0.0)
    results.add("metadata generated_ids == generate's ids",
                float(json.loads(meta["generated_ids"]) != generated.tolist()), 0.0)
    stats["uniformity"] = max(stats.get("uniformity", 0.0), uniformity(SimpleNamespace(attentions=everything)))
    stats["max |logit|"] = max(stats.get("max |logit|", 0.0), full.logits.abs().max().item())


def generate(out, results):
    torch.set_num_threads(1)
    bpe_vocab, merges = tokenizers.train_bpe(text.BPE_CORPUS, NUM_MERGES)
    spm = {"source": train_spm(text.BPE_CORPUS, 150), "target": train_spm(text.MARIAN_TARGET_CORPUS, 150),
           "t5": train_spm(t5_corpus(), 250, "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1")}
    t5_size = len(tokenizers.parse_spm_model(spm["t5"]).pieces) + T5_EXTRA_IDS
    summary = []
    # BART: the BPE without <|endoftext|>, 4 specials and <mask>; T5 padded to a multiple of 8.
    for fx in fixtures(len(bpe_vocab) - 1 + 5, len(marian_vocab(spm)), -(-t5_size // 8) * 8):
        d = out / fx.name
        shutil.rmtree(d, ignore_errors=True)
        (d / "expected").mkdir(parents=True)
        write_json(d / "config.json", fx.cfg)
        family = fx.cfg["model_type"]
        tok = {"bart": lambda: BartTok(d, bpe_vocab, merges), "marian": lambda: MarianTok(d, spm),
               "t5": lambda: T5Tok(d, spm["t5"])}[family]()
        results.add("tokenizer size <= config vocab_size", float(tok.size > fx.cfg["vocab_size"]), 0.0)
        model = randomize(next(iter(fx.module.ARCHITECTURES.values()))(fx.cfg), fx.seed)
        save_weights(fx, model, d)
        state = read_state(d)
        model = build(fx, state)
        stats = {}
        for case, case_text in text.ENCODER_DECODER.items():
            tokens, ids = tok.encode(case_text)
            lo, hi = SHORT if case == "short" else LONG
            results.add(f"source length in {SHORT} / {LONG} (fails outside)", float(not lo <= len(ids) <= hi), 0.0)
            check_tokenizer(tok, case_text, ids, results)
            input_ids = torch.tensor(ids, dtype=torch.long)
            generated, decoder_ids, full, gen = run_case(model, input_ids)
            meta = {"text": case_text, "tokens": json.dumps(tokens, ensure_ascii=False),
                    "generated_ids": json.dumps(generated.tolist()), "task": "translation"}
            path = d / "expected" / f"{case}.safetensors"
            safetensors_io.write(path, expected_tensors(input_ids, decoder_ids, full), meta)
            check_case(fx, state, model, case, input_ids, generated, decoder_ids, full, gen, path, results, stats)
            summary.append((fx, case, len(ids), generated.tolist()))
        if family != "bart":
            unknown = tok.encode(UNKNOWN_TEXT)[1]
            check_tokenizer(tok, UNKNOWN_TEXT, unknown, results)
            results.add("tokenizer: UNKNOWN_TEXT has <unk> (fails if not)", float(tok.unk_id not in unknown), 0.0)
        if family == "t5":
            results.add("T5 tokenizer.json: <extra_id_i> at vocab_size - 1 - i", float(not tok.sentinels_ok), 0.0)
        fx.stats = stats
    return summary


# --- reruns -------------------------------------------------------------------------------

def rerun_differences(out, names):
    """Runs this script twice more (fresh processes, so other hash seeds) into two scratch folders;
    returns what differs from this run's folders `names` (files, or a failed run)."""
    differ = []
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        for other in (Path(a), Path(b)):
            run = subprocess.run([sys.executable, __file__, "--out", str(other), "--no-rerun"], capture_output=True,
                                 text=True)
            if run.returncode != 0:
                differ.append(f"the run into {other} failed: {run.stdout[-300:]}{run.stderr[-300:]}")
                continue
            for name in names:
                ours = {p.relative_to(out) for p in (out / name).rglob("*") if p.is_file()}
                theirs = {p.relative_to(other) for p in (other / name).rglob("*") if p.is_file()}
                differ += [f"{f}: only in one run" for f in sorted(ours ^ theirs)]
                differ += [str(f) for f in sorted(ours & theirs) if not filecmp.cmp(out / f, other / f, shallow=False)]
    return differ


def describe(fx):
    c = fx.cfg
    if c["model_type"] == "t5":
        return (f"t5     C {c['d_model']} H {c['num_heads']} d_kv {c['d_kv']} layers {c['num_layers']}+"
                f"{c['num_decoder_layers']} d_ff {c['d_ff']} {c['feed_forward_proj']} V {c['vocab_size']} "
                f"{'tied' if c['tie_word_embeddings'] else 'untied'} buckets {c['relative_attention_num_buckets']}"
                f"/{c['relative_attention_max_distance']}")
    return (f"{c['model_type']:6s} C {c['d_model']} H {c['encoder_attention_heads']} layers {c['encoder_layers']}+"
            f"{c['decoder_layers']} ffn {c['encoder_ffn_dim']} {c['activation_function']} V {c['vocab_size']} "
            f"start {c['decoder_start_token_id']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--no-rerun", action="store_true", help="skip the byte comparison with two fresh runs")
    args = parser.parse_args()
    results = Checks()
    summary = generate(args.out, results)
    seen = []
    for fx, case, n, generated in summary:
        if fx not in seen:
            seen.append(fx)
            size = dir_size(args.out / fx.name)
            print(f"{fx.name:12s} {describe(fx)}  {size / 1e3:.0f} KB")
            print(" " * 13 + "  ".join(f"{k} {v:.3g}" for k, v in fx.stats.items()))
            results.add(f"{fx.name}: folder under {MAX_FOLDER_BYTES // 1000} KB ({size / 1e3:.0f} KB)",
                        float(size > MAX_FOLDER_BYTES), 0.0)
        print(f"{'':12s} case {case:5s} S={n:2d} generated {generated}")
    print(f"total size: {sum(dir_size(args.out / fx.name) for fx in seen) / 1e3:.0f} KB in {args.out}")
    results.add("attention far from uniform: entropy / log(keys), worst model",
                max(fx.stats["uniformity"] for fx in seen), 0.8)
    if not args.no_rerun:
        differ = rerun_differences(args.out, [fx.name for fx in seen])
        for f in differ:
            print("differs on rerun:", f)
        results.add("two fresh runs byte-identical to this one (files differing)", float(len(differ)), 0.0)
    return results.exit_status()


if __name__ == "__main__":
    sys.exit(main())
