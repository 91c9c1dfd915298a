#!/usr/bin/python3
"""Writes the text-generation golden fixtures in tests/fixtures/generation/ (see tools/README.md).

    /usr/bin/python3 tools/make_generation_fixtures.py [--out DIR]

<model>.json: greedy decoding (tools/reference/generation.py, Hugging Face's semantics) of
MAX_NEW_TOKENS tokens after the first expected case of a decoder folder of tests/fixtures/models/
(its input_ids, at most PROMPT_MAX of them), computed in float64 from the weights as stored, loaded
as make_fixtures.py / make_llama_fixtures.py load them. warpers.json: HF's temperature, top-k and
top-p warpers on fixed logit vectors; processors.json: HF's logits processors (repetition penalty,
no-repeat n-grams, bad words, minimum lengths, forced BOS/EOS, suppressed tokens) on them;
gpt2_rules.json: greedy decoding of the gpt2 fixture under some of those rules. Deterministic (greedy; SEED for the random vectors); the
self-checks at the end must all pass (exit status 1 if not).
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import FAMILIES, Checks, load_model, read_state, write_json  # noqa: E402
from make_llama_fixtures import build  # noqa: E402
from reference import generation, safetensors_io  # noqa: E402

SEED = 5100
PROMPT_MAX = 12  # phi3_longrope: 12 + 10 tokens cross its original_max_position_embeddings (14)
MAX_NEW_TOKENS = 10
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
DEFAULT_OUT = FIXTURES / "generation"
MODELS = ("gpt2", "llama_gqa", "mistral_sharded_f16", "qwen2_window_yarn", "qwen3_qknorm", "gemma2_softcap",
          "gemma3_text", "phi3_longrope")
MIN_MARGIN = 1e-3  # top-1 logit ahead of top-2 at every step: float32 engines (≈2e-5 off) pick the same id

# (logit vector, temperature, top_k, top_p, entries kept or None where the data decide)
WARPER_CASES = [
    ("random16", 0.5, 0, 1.0, 16),  # temperature alone
    ("random16", 2.0, 0, 1.0, 16),
    ("random16", 1.0, 1, 1.0, 1),  # top-k alone: the argmax only
    ("random40", 1.0, 3, 1.0, 3),
    ("random16", 1.0, 50, 1.0, 16),  # k beyond the vocabulary: nothing removed
    ("ties10", 1.0, 4, 1.0, 6),  # the 4th largest (1.0) is tied three times: all kept
    ("random16", 1.0, 0, 0.0, 1),  # top-p alone: 0.0 keeps the argmax only
    ("random40", 1.0, 0, 0.5, None),
    ("random40", 1.0, 0, 0.9, None),
    ("random16", 1.0, 0, 1.0, 16),  # 1.0: no-op
    ("random40", 0.7, 10, 0.8, None),  # all three
    ("ties10", 1.5, 4, 0.6, None),
]


def logit_vectors():
    """Seeded N(0, 2²) rows of 16 and 40 entries, rounded to 3 decimals (the JSON then holds
    exactly the values used), and a hand-made row of 10 with ties."""
    g = torch.Generator().manual_seed(SEED)

    def normal(n):
        return [round(x, 3) for x in (2 * torch.randn(n, generator=g, dtype=torch.float64)).tolist()]

    return {"random16": normal(16), "random40": normal(40),
            "ties10": [2.0, 1.0, 1.0, 1.0, 0.5, 3.0, 0.5, -1.0, 2.0, 0.0]}


def warper_cases(results):
    vectors, cases = logit_vectors(), []
    for name, temperature, top_k, top_p, kept in WARPER_CASES:
        logits = torch.tensor(vectors[name], dtype=torch.float64)
        probs = generation.warp(logits, temperature, top_k, top_p).softmax(-1)
        # Reversing the row reverses the order of equal logits: the kept set must not depend on it.
        reversed_probs = generation.warp(logits.flip(0), temperature, top_k, top_p).softmax(-1).flip(0)
        results.add("warpers: probabilities sum to 1", abs(probs.sum().item() - 1), 1e-12)
        results.add("warpers: kept set independent of the order of ties",
                    float(not torch.equal(probs > 0, reversed_probs > 0)), 0.0)
        if kept is not None:
            results.add("warpers: entries kept as intended (failures)", float(int((probs > 0).sum()) != kept), 0.0)
        if top_k == 1:
            results.add("warpers: top_k 1 keeps exactly the argmax (failures)",
                        float((probs > 0).nonzero().flatten().tolist() != [int(logits.argmax())]), 0.0)
        if 0 < top_p < 1:  # a float32 engine must cut at the same place
            for nudged in (top_p - 1e-6, top_p + 1e-6):
                moved = generation.warp(logits, temperature, top_k, nudged) > float("-inf")
                results.add("warpers: kept set unchanged by top_p ± 1e-6 (failures)",
                            float(not torch.equal(moved, probs > 0)), 0.0)
        cases.append({"logits": vectors[name], "temperature": temperature, "top_k": top_k, "top_p": top_p,
                      "probs": probs.tolist()})
    return cases


# HF's logits processors (reference/generation.py process) on fixed rows: (name, logits vector,
# ids so far, prompt length, max_length, eos ids, rules as GenerationConfig keys).
PROCESSOR_CASES = [
    ("repetition penalty: negative scores multiplied, positive divided", "random16", [3, 5, 5, 9, 0], 2, 20, [15],
     {"repetition_penalty": 1.3}),
    ("penalty below 1 favours repeats", "random16", [1, 2, 4], 1, 20, [15], {"repetition_penalty": 0.7}),
    ("no repeat 2-grams: what followed the last token before", "random16", [4, 7, 1, 4, 2, 4], 1, 20, [15],
     {"no_repeat_ngram_size": 2}),
    ("no repeat 3-grams", "random16", [1, 2, 3, 1, 2, 5, 1, 2], 2, 20, [15], {"no_repeat_ngram_size": 3}),
    ("no repeat 3-grams: too short to apply", "random16", [1], 1, 20, [15], {"no_repeat_ngram_size": 3}),
    ("no repeat 1-grams: every token seen", "random16", [6, 2, 6], 1, 20, [15], {"no_repeat_ngram_size": 1}),
    ("bad words: single tokens always, sequences after their prefix, [eos] ignored", "random16", [3, 8, 9], 1, 20,
     [15], {"bad_words_ids": [[2], [8, 9, 11], [9, 12], [15], [4, 4]]}),
    ("min length keeps EOS away", "random16", [1, 2, 3], 1, 20, [0, 13], {"min_length": 5}),
    ("min length reached", "random16", [1, 2, 3, 4, 5], 1, 20, [0, 13], {"min_length": 5}),
    ("min new tokens", "random16", [1, 2, 3, 4, 5], 4, 20, [13], {"min_new_tokens": 2}),
    ("forced BOS at the first step of a decoder", "random16", [7], 1, 20, [15], {"forced_bos_token_id": 4}),
    ("forced BOS only then", "random16", [7, 4], 1, 20, [15], {"forced_bos_token_id": 4}),
    ("forced EOS at the last step", "random16", [7, 4, 3, 2], 1, 5, [15], {"forced_eos_token_id": [1, 15]}),
    ("suppressed tokens", "random40", [7, 4], 1, 50, [15], {"suppress_tokens": [0, 39, 12]}),
    ("suppressed at the beginning", "random40", [7], 1, 50, [15], {"begin_suppress_tokens": [5, 6]}),
    ("suppressed at the beginning, after a forced BOS", "random40", [7, 4], 1, 50, [15],
     {"forced_bos_token_id": 4, "begin_suppress_tokens": [5, 6]}),
    ("all together, in HF's order", "random40", [3, 9, 3, 9, 1, 3], 2, 7, [0],
     {"repetition_penalty": 1.5, "no_repeat_ngram_size": 2, "bad_words_ids": [[1, 3, 5], [17]], "min_length": 4,
      "forced_eos_token_id": 0, "suppress_tokens": [20]}),
]
# Greedy decoding of the gpt2 fixture under rules (gpt2_rules.json): a penalty that changes which
# token wins, no repeated 2-grams, a banned token and a banned pair.
GPT2_RULES = {"repetition_penalty": 1.5, "no_repeat_ngram_size": 2, "bad_words_ids": [[300], [301, 302]]}


def rules_of(d):
    r = generation.Rules(**{k: v for k, v in d.items() if k != "forced_eos_token_id"})
    if "forced_eos_token_id" in d:
        f = d["forced_eos_token_id"]
        r.forced_eos_token_id = f if isinstance(f, list) else [f]
    return r


def processor_cases(results):
    vectors, cases = logit_vectors(), []
    for title, name, ids, prompt_length, max_length, eos, rules in PROCESSOR_CASES:
        scores = generation.process(torch.tensor(vectors[name], dtype=torch.float64), ids, prompt_length, max_length,
                                    rules_of(rules), eos)
        results.add(f"processors: something left ({title}) (fails if not)", float(not torch.isfinite(scores).any()), 0.0)
        cases.append({"title": title, "logits": vectors[name], "ids": ids, "prompt_length": prompt_length,
                      "max_length": max_length, "eos_ids": eos, "rules": rules,
                      "scores": [v if v != float("-inf") else None for v in scores.tolist()]})  # null: -inf
    return cases


def load(folder):
    """(config, float64 reference model) of a fixture folder, as its generator loads it."""
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if cfg["model_type"] in FAMILIES:
        return cfg, load_model(cfg, folder)
    return cfg, build(cfg, read_state(folder))


def first_case(folder):
    """input_ids (list) and logits (N, V) of the folder's first expected case by name."""
    tensors, _ = safetensors_io.read(sorted((folder / "expected").glob("*.safetensors"))[0])
    return tensors["input_ids"].tolist(), tensors["logits"]


def long_factors(cfg, n):
    """True when N tokens turn by Phi-3 LongRoPE's long factors (N > original_max_position_embeddings,
    see rope.longrope_scaling); the other models have one regime."""
    return cfg["model_type"] == "phi3" and n > cfg["original_max_position_embeddings"]


def eos_list(cfg):
    eos = cfg.get("eos_token_id")
    return [] if eos is None else list(eos) if isinstance(eos, list) else [eos]


def phi3_note(cfg, prompt_len):
    original = cfg["original_max_position_embeddings"]
    first_long = original + 1 - prompt_len
    return (f"original_max_position_embeddings {original}: steps 0-{first_long - 1} run on {prompt_len}-{original} "
            f"tokens and turn by the short factors; from step {first_long} ({original + 1} tokens) on, every "
            "position, the prompt's included, turns by the long factors (the reference recomputes the whole "
            "sequence each step; HF's Phi3ForCausalLM drops its cache at that step, which gives the same)")


def check_steps(cfg, model, prompt, gen, case_ids, case_logits, results):
    """Re-derives every step from one forward per RoPE regime over the longest sequence of that
    regime (for all but phi3: prompt + every generated id); returns stats."""
    full, p = prompt + gen.ids, len(prompt)
    err, wrong = 0.0, 0
    for regime in {long_factors(cfg, p + s) for s in range(len(gen.ids))}:
        n = max(m for m in range(p, len(full) + 1) if long_factors(cfg, m) == regime)
        with torch.no_grad():
            logits = model(torch.tensor(full[:n])).logits.double()  # (n, V)
        for s in (s for s in range(len(gen.ids)) if long_factors(cfg, p + s) == regime):
            err = max(err, (gen.logits[s] - logits[p + s - 1]).abs().max().item())
            wrong += gen.ids[s] != int(logits[p + s - 1].argmax())
    results.add("greedy logits == one forward's rows (per RoPE regime)", err, 1e-9)
    results.add("greedy ids == argmax of those rows (mismatches)", float(wrong), 0.0)
    if long_factors(cfg, p) == long_factors(cfg, len(case_ids)):
        results.add("step 0 == expected/<first case> logits row (F32)",
                    (gen.logits[0] - case_logits[p - 1].double()).abs().max().item(), 1e-5)
    tops = [logits.topk(6).values for logits in gen.logits]
    margin = min((t[0] - t[1]).item() for t in tops)
    results.add(f"greedy: top-1 logit ahead of top-2 by >= {MIN_MARGIN:g} (fails if not)",
                float(margin < MIN_MARGIN), 0.0)
    ties = sum(int((t[:-1] == t[1:]).any()) for t in tops)
    return {"min top-1 margin": margin, "steps with tied top-6 logits": ties}


def model_fixture(name, results):
    folder = FIXTURES / "models" / name
    cfg, model = load(folder)
    case_ids, case_logits = first_case(folder)
    prompt = case_ids[:PROMPT_MAX]
    gen = generation.greedy(lambda ids: model(ids).logits, prompt, MAX_NEW_TOKENS, eos_ids=[])
    stats = check_steps(cfg, model, prompt, gen, case_ids, case_logits, results)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    stats["ids beyond the tokenizer (padding rows)"] = sum(i >= len(vocab) for i in gen.ids)
    fixture = {"model": name, "prompt_ids": prompt, "max_new_tokens": MAX_NEW_TOKENS,
               "config_eos_ids": eos_list(cfg), "ids": gen.ids, "steps": gen.steps,
               "logits_last": gen.logits[-1].tolist()}
    if cfg["model_type"] == "phi3":
        crosses = not long_factors(cfg, len(prompt)) and long_factors(cfg, len(prompt) + MAX_NEW_TOKENS - 1)
        results.add("phi3: generation crosses original_max_position_embeddings", float(not crosses), 0.0)
        fixture["note"] = phi3_note(cfg, len(prompt))
    return fixture, stats


def rules_fixture(results):
    """gpt2_rules.json: greedy with GPT2_RULES, and without, on the gpt2 fixture's prompt."""
    folder = FIXTURES / "models" / "gpt2"
    _, model = load(folder)
    prompt = first_case(folder)[0][:PROMPT_MAX]
    forward = lambda ids: model(ids).logits  # noqa: E731
    plain = generation.greedy(forward, prompt, MAX_NEW_TOKENS, eos_ids=[])
    ruled = generation.greedy(forward, prompt, MAX_NEW_TOKENS, eos_ids=[], rules=rules_of(GPT2_RULES))
    results.add("gpt2 rules: the rules change the greedy ids (fails if not)", float(plain.ids == ruled.ids), 0.0)
    full = prompt + ruled.ids
    bigrams = list(zip(full, full[1:]))
    results.add("gpt2 rules: no 2-gram twice (fails if not)", float(len(set(bigrams)) != len(bigrams)), 0.0)
    results.add("gpt2 rules: no banned token (fails if not)", float(300 in ruled.ids), 0.0)
    tops = [torch.topk(l[torch.isfinite(l)], 2).values for l in ruled.logits]
    results.add(f"gpt2 rules: top-1 ahead of top-2 by >= {MIN_MARGIN:g} (fails if not)",
                float(min((t[0] - t[1]).item() for t in tops) < MIN_MARGIN), 0.0)
    print(f"gpt2_rules: {plain.ids} -> {ruled.ids}")
    return {"model": "gpt2", "prompt_ids": prompt, "max_new_tokens": MAX_NEW_TOKENS, "rules": GPT2_RULES,
            "ids": ruled.ids, "ids_without_rules": plain.ids, "steps": ruled.steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    results = Checks()
    for name in MODELS:
        fixture, stats = model_fixture(name, results)
        write_json(args.out / f"{name}.json", fixture, sort_keys=False)
        print(f"{name:20s} prompt {len(fixture['prompt_ids'])} -> {fixture['ids']}")
        print(" " * 21 + "  ".join(f"{k} {v:.3g}" for k, v in stats.items()))
    cases = warper_cases(results)
    write_json(args.out / "warpers.json", cases, sort_keys=False)
    print(f"warpers.json: {len(cases)} cases")
    cases = processor_cases(results)
    write_json(args.out / "processors.json", cases, sort_keys=False)
    print(f"processors.json: {len(cases)} cases")
    write_json(args.out / "gpt2_rules.json", rules_fixture(results), sort_keys=False)
    return results.exit_status()


if __name__ == "__main__":
    sys.exit(main())
