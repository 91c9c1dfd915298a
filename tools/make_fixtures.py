#!/usr/bin/python3
"""Regenerates the golden model fixtures in tests/fixtures/models/ (see tools/README.md).

    /usr/bin/python3 tools/make_fixtures.py [--out DIR]

Tiny random-weight BERT / DistilBERT / GPT-2 checkpoints in Hugging Face layout, their
tokenizer files, and expected/<case>.safetensors holding every intermediate the C++ engine
records, computed in float64 by tools/reference/ from the weights exactly as stored.
Seeded and deterministic; the self-checks at the end must all pass (exit status 1 if not).
"""
import argparse
import json
import shutil
import string
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import bert, checks, distilbert, gpt2, safetensors_io, tokenizers  # noqa: E402
from reference import fixture_text as text  # noqa: E402

SEED = 1234
INIT_STD = 0.25  # large on purpose: attention far from uniform
NUM_MERGES = 200
LABELS = ["negative", "neutral", "positive"]
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models"
FAMILIES = {"bert": bert, "distilbert": distilbert, "gpt2": gpt2}
STORAGE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


@dataclass
class Fixture:
    name: str
    family: str  # "bert", "distilbert" or "gpt2"
    cfg: dict  # Hugging Face config.json
    task: str  # "fill-mask", "classification", "base" or "next-token"
    cases: dict  # case name -> (text, pair text or None)
    tokenizer: str  # "vocab.txt", "tokenizer.json" or "bpe"
    seed: int
    dtype: torch.dtype = torch.float32  # storage dtype of the weights
    shards: int = 1


def bert_vocab():
    """[PAD] [UNK] [CLS] [SEP] [MASK], words, single characters, their ## forms, suffixes."""
    words = list(dict.fromkeys(text.WORDS))
    chars = string.ascii_lowercase + string.digits + string.punctuation
    singles = [c for c in chars if c not in words]
    continuations = ["##" + c for c in string.ascii_lowercase + string.digits]
    vocab = tokenizers.BERT_SPECIALS + words + singles + continuations + text.SUFFIXES
    return list(dict.fromkeys(vocab))  # no duplicates: ids must be the line numbers


def fixtures(bert_size, bpe_size):
    def bert_cfg(arch, c, layers, heads, inter, dtype="float32", labels=None):
        return bert.config(bert_size, c, layers, heads, inter, arch, labels=labels, torch_dtype=dtype)

    def distil_cfg(arch, c, layers, heads, inter, labels=None):
        return distilbert.config(bert_size, c, layers, heads, inter, arch, labels=labels)

    single = {"single": None}
    return [
        Fixture("bert_mlm", "bert", bert_cfg("BertForMaskedLM", 48, 2, 3, 96), "fill-mask",
                text.BERT_MLM, "vocab.txt", SEED + 1),
        Fixture("bert_mlm_bf16", "bert", bert_cfg("BertForMaskedLM", 48, 2, 3, 96, "bfloat16"),
                "fill-mask", {k: text.BERT_MLM[k] for k in single}, "vocab.txt", SEED + 1,
                dtype=torch.bfloat16),
        Fixture("bert_cls", "bert", bert_cfg("BertForSequenceClassification", 32, 3, 2, 64,
                                             labels=LABELS),
                "classification", text.BERT_CLS, "tokenizer.json", SEED + 2),
        Fixture("bert_base", "bert", bert_cfg("BertModel", 32, 2, 4, 128), "base",
                text.BERT_BASE, "vocab.txt", SEED + 3),
        Fixture("distilbert_mlm", "distilbert", distil_cfg("DistilBertForMaskedLM", 48, 2, 2, 96),
                "fill-mask", text.DISTILBERT_MLM, "vocab.txt", SEED + 4),
        Fixture("distilbert_cls", "distilbert",
                distil_cfg("DistilBertForSequenceClassification", 32, 2, 2, 64, labels=LABELS),
                "classification", text.DISTILBERT_CLS, "vocab.txt", SEED + 5),
        Fixture("gpt2", "gpt2", gpt2.config(bpe_size, 48, 2, 3), "next-token", text.GPT2, "bpe",
                SEED + 6),
        Fixture("gpt2_f16", "gpt2", gpt2.config(bpe_size, 48, 2, 3, torch_dtype="float16"),
                "next-token", {k: text.GPT2[k] for k in single}, "bpe", SEED + 6,
                dtype=torch.float16),
        Fixture("gpt2_sharded", "gpt2", gpt2.config(bpe_size, 32, 3, 2), "next-token",
                {k: text.GPT2[k] for k in single}, "bpe", SEED + 7, shards=2),
    ]


def build(cfg):
    """The reference model of a config.json: family by model_type, class by architectures[0]."""
    return FAMILIES[cfg["model_type"]].ARCHITECTURES[cfg["architectures"][0]](cfg)


def init_weights(model, seed):
    """N(0, INIT_STD²) matrices, N(0, 0.1²) biases, LayerNorm gains 1 + N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            norm = any(k in name for k in ("LayerNorm", "layer_norm", "ln_"))
            if norm and name.endswith("weight"):
                p.copy_(1 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(INIT_STD * noise)


def write_json(path, obj, sort_keys=True):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        f.write("\n")


def save_weights(fx, model, d):
    """model.safetensors, or N shards plus model.safetensors.index.json (split by bytes)."""
    state = {k: v.detach().to(fx.dtype) for k, v in model.state_dict().items()}
    meta = {"format": "pt"}
    if fx.shards == 1:
        safetensors_io.write(d / "model.safetensors", state, meta)
        return
    names = sorted(state)
    sizes = [state[k].numel() * state[k].element_size() for k in names]
    total, files, acc = sum(sizes), {}, 0
    for name, size in zip(names, sizes):
        shard = min(fx.shards - 1, acc * fx.shards // total)
        files.setdefault(shard, []).append(name)
        acc += size
    weight_map = {}
    for shard, shard_names in sorted(files.items()):
        file = f"model-{shard + 1:05d}-of-{fx.shards:05d}.safetensors"
        safetensors_io.write(d / file, {k: state[k] for k in shard_names}, meta)
        weight_map.update({k: file for k in shard_names})
    write_json(d / "model.safetensors.index.json",
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def read_state(d):
    """The checkpoint on disk (model.safetensors or the shards of the index), stored dtypes."""
    index = d / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() \
        else ["model.safetensors"]
    state = {}
    for file in files:
        tensors, _ = safetensors_io.read(d / file)
        state.update(tensors)
    return state


def load_model(cfg, d):
    """Builds the reference in float64 from the files on disk (strict: names must match)."""
    model = build(cfg).double().eval()
    model.load_state_dict({k: v.double() for k, v in read_state(d).items()}, strict=True)
    return model


BERT_SPECIAL_CONFIG = {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                       "sep_token": "[SEP]", "unk_token": "[UNK]", "strip_accents": None,
                       "tokenize_chinese_chars": True, "model_max_length": 64}


def write_tokenizer(fx, d, vocab_list, bpe_vocab, bpe_merges):
    """Writes the tokenizer files, then loads the tokenizer back from them."""
    if fx.tokenizer == "bpe":
        tokenizers.write_bpe_files(d, bpe_vocab, bpe_merges)
        write_json(d / "tokenizer_config.json", {
            "add_bos_token": False, "add_prefix_space": False, "bos_token": tokenizers.EOT,
            "eos_token": tokenizers.EOT, "unk_token": tokenizers.EOT, "errors": "replace",
            "model_max_length": 64, "tokenizer_class": "GPT2Tokenizer"})
        return tokenizers.read_bpe_files(d)
    if fx.tokenizer == "tokenizer.json":
        write_json(d / "tokenizer.json", tokenizers.bert_tokenizer_json(vocab_list), sort_keys=False)
        write_json(d / "tokenizer_config.json", dict(BERT_SPECIAL_CONFIG, do_lower_case=True,
                                                     tokenizer_class="BertTokenizerFast"))
        vocab = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        return tokenizers.WordPieceTokenizer(sorted(vocab, key=vocab.get))
    tokenizers.write_vocab_txt(d / "vocab.txt", vocab_list)
    cls = "DistilBertTokenizer" if fx.family == "distilbert" else "BertTokenizer"
    write_json(d / "tokenizer_config.json", dict(BERT_SPECIAL_CONFIG, do_lower_case=True,
                                                 tokenizer_class=cls))
    return tokenizers.WordPieceTokenizer((d / "vocab.txt").read_text(encoding="utf-8").splitlines())


def run_case(fx, model, tok, case_text, pair):
    """Returns (tokens, input_ids, token_type_ids or None, trace)."""
    if fx.family == "gpt2":
        tokens, ids = tok.encode(case_text)
        types = None
    else:
        tokens, ids, types = tok.encode(case_text, pair)
    n_max = fx.cfg.get("max_position_embeddings") or fx.cfg["n_positions"]
    assert len(ids) <= n_max, f"{fx.name}: {len(ids)} tokens exceed {n_max} positions"
    input_ids = torch.tensor(ids, dtype=torch.long)
    with torch.no_grad():
        if fx.family == "bert":
            trace = model(input_ids, torch.tensor(types, dtype=torch.long))
        else:
            trace = model(input_ids)
    return tokens, input_ids, types, trace


def expected_tensors(input_ids, types, trace):
    f32 = torch.float32
    t = {"input_ids": input_ids.to(torch.int32)}
    if types is not None:
        t["token_type_ids"] = torch.tensor(types, dtype=torch.int32)
    for layer in range(len(trace.attentions)):
        t[f"attention.layer{layer}"] = trace.attentions[layer].to(f32)  # (H, N, N)
        t[f"scores.layer{layer}"] = trace.scores[layer].to(f32)  # (H, N, N), unmasked
        t[f"query.layer{layer}"] = trace.queries[layer].to(f32)  # (H, N, d_head)
        t[f"key.layer{layer}"] = trace.keys[layer].to(f32)
        t[f"value.layer{layer}"] = trace.values[layer].to(f32)
    for i, h in enumerate(trace.hidden_states):
        t[f"hidden.{i}"] = h.to(f32)  # (N, C)
    if trace.logits is not None:
        t["logits"] = trace.logits.to(f32)  # (N, V) or (num_labels,)
    for name, value in trace.extras.items():
        t[name] = value.to(f32)
    return {k: v.contiguous() for k, v in t.items()}


class Checks:
    """Collects the maximum error per check and its bound."""

    def __init__(self):
        self.results = {}

    def add(self, name, err, bound):
        old = self.results.get(name, (0.0, bound))[0]
        self.results[name] = (max(old, err), bound)

    def report(self):
        ok = True
        for name, (err, bound) in self.results.items():
            status = "ok" if err <= bound else "FAIL"
            ok &= err <= bound
            print(f"  {name:48s} max err {err:.3e}  (bound {bound:.0e})  {status}")
        return ok

    def exit_status(self):
        """Prints every check and the verdict; the process exit status: 0 when all passed."""
        print("self-checks:")
        ok = self.report()
        print("all self-checks passed" if ok else "SELF-CHECKS FAILED")
        return 0 if ok else 1


LAYER_CHECKS = {"bert": checks.bert_layers_vs_torch, "distilbert": checks.distilbert_layers_vs_torch,
                "gpt2": checks.gpt2_layers_vs_torch}


def check_case(fx, model, input_ids, types, trace, path, results):
    results.add("attention rows sum to 1", checks.rows_sum_to_one(trace), 1e-12)
    results.add(f"{fx.family} layers vs nn.TransformerEncoderLayer/MHA",
                LAYER_CHECKS[fx.family](model, trace), 1e-10)
    results.add("task heads vs torch.nn.functional", checks.heads_vs_torch(model, trace), 1e-10)
    if fx.family == "gpt2":
        results.add("gpt2 causal mask (future probs)", checks.causal_zeros(trace), 0.0)
        results.add("gpt2 logits = hidden[L]·wteᵀ, prefix run",
                    checks.gpt2_consistency(model, input_ids, trace), 1e-10)
    stored, _ = safetensors_io.read(path)
    want = expected_tensors(input_ids, types, trace)
    mismatch = set(stored) ^ set(want)
    mismatch |= {k for k in want if k in stored and not torch.equal(stored[k], want[k])}
    results.add("expected files read back identical", float(len(mismatch)), 0.0)
    # What a float32 engine should see: the same model run in float32.
    model32 = build(fx.cfg).eval()
    model32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    with torch.no_grad():
        tt = None if types is None else torch.tensor(types)
        t32 = model32(input_ids, tt) if fx.family == "bert" else model32(input_ids)
    got = expected_tensors(input_ids, types, t32)
    err = max((got[k] - want[k]).abs().max().item() for k in want if want[k].is_floating_point())
    results.add("float32 run vs float64 golden (all tensors)", err, 1e-4)


def generate(out):
    torch.set_num_threads(1)
    vocab_list = bert_vocab()
    bpe_vocab, bpe_merges = tokenizers.train_bpe(text.BPE_CORPUS, NUM_MERGES)
    results, summary = Checks(), []
    for fx in fixtures(len(vocab_list), len(bpe_vocab)):
        d = out / fx.name
        shutil.rmtree(d, ignore_errors=True)
        (d / "expected").mkdir(parents=True)
        write_json(d / "config.json", fx.cfg)
        tok = write_tokenizer(fx, d, vocab_list, bpe_vocab, bpe_merges)
        model = build(fx.cfg)
        init_weights(model, fx.seed)
        save_weights(fx, model, d)
        model = load_model(fx.cfg, d)
        for case, (case_text, pair) in fx.cases.items():
            tokens, input_ids, types, trace = run_case(fx, model, tok, case_text, pair)
            meta = {"text": case_text, "tokens": json.dumps(tokens, ensure_ascii=False), "task": fx.task}
            if pair is not None:
                meta["pair"] = pair
            path = d / "expected" / f"{case}.safetensors"
            safetensors_io.write(path, expected_tensors(input_ids, types, trace), meta)
            check_case(fx, model, input_ids, types, trace, path, results)
            summary.append((fx.name, case, len(tokens)))
    return results, summary


def dir_size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: %(default)s)")
    args = parser.parse_args()
    results = Checks()
    results.add("layer_norm/gelu vs torch.nn.functional", checks.ops_vs_torch(), 1e-12)
    with tempfile.TemporaryDirectory() as tmp:
        results.add("safetensors round trip (mismatches)",
                    float(checks.safetensors_round_trip(Path(tmp) / "t.safetensors")), 0.0)
    vocab, merges = tokenizers.train_bpe(text.BPE_CORPUS, NUM_MERGES)
    failures = checks.tokenizer_cases(tokenizers.ByteLevelBPE(vocab, merges),
                                      [text.BPE_CORPUS] + [t for t, _ in text.GPT2.values()])
    results.add("tokenizer known answers (failures)", float(len(failures)), 0.0)
    for f in failures:
        print("tokenizer:", f)
    case_results, summary = generate(args.out)
    results.results.update(case_results.results)
    for name, case, n in summary:
        print(f"{name:16s} {case:7s} N={n}")
    total = sum(dir_size(args.out / name) for name in {s[0] for s in summary})
    print(f"total size: {total / 1e6:.2f} MB in {args.out}")
    return results.exit_status()


if __name__ == "__main__":
    sys.exit(main())
