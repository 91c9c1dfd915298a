"""Reference text generation with Hugging Face's semantics: the logits processors (repetition
penalty, no-repeat n-grams, bad words, minimum lengths, forced BOS/EOS, suppressed tokens), the
sampling warpers (temperature, top-k, top-p) and greedy decoding, in float64.

Source read: huggingface/transformers (over the fetch size limit as a whole; the files were read
one by one from the stored index at these commits):
  generation/logits_process.py   00857b6cf63a4fa05cbd9bdc8a4fd78b6168c5af
                                 TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
                                 the processors process() names (and NoBadWordsLogitsProcessor's
                                 filter of [eos] sequences, read in several versions)
  generation/utils.py            000034a44ef887621d9b36001a5eb7c46e64cb3f
                                 GenerationMixin._get_logits_processor, _sample
  models/phi3/modular_phi3.py    06053b84c14d72e9789fbf27844a75aa89b3ded7
                                 Phi3ForCausalLM.prepare_inputs_for_generation

Semantics and where each one comes from:
- Which warpers run, in which order (_get_logits_processor, do_sample only): temperature when
  != 1.0, then top-k when != 0, then top-p when < 1.0; min_tokens_to_keep = 1 (one beam).
- TemperatureLogitsWarper: scores / temperature (HF rejects temperature <= 0).
- TopKLogitsWarper: k = min(max(top_k, min_tokens_to_keep), vocab); removes scores < the k-th
  largest, so every score tied with the k-th is kept.
- TopPLogitsWarper: sort ascending, cumulative softmax, remove where cumprobs <= 1 - top_p,
  always keep the last min_tokens_to_keep (the largest). HF's torch.sort is not stable: when
  equal scores straddle the cut, which one survives is unspecified; here the sort is stable.
- Removed scores become -inf (filter_value), so softmax gives them probability 0.
- Greedy (_sample with do_sample=False): argmax of the last position's logits (torch.argmax:
  the first index on ties), appended; a sequence stops once it has appended an EOS id
  (EosTokenCriteria). HF casts those logits to float32 first; here they stay float64.
- HF decodes on a key/value cache; this reference recomputes the whole sequence at every step,
  which gives the same logits for every family of llama.py and gpt2.py. Phi-3's LongRoPE is
  the one place where it matters: the long factors apply to every position once the sequence
  is longer than original_max_position_embeddings, and Phi3ForCausalLM drops its cache at that
  step so that the prompt is recomputed with them, which is what a full recompute does.
"""
from dataclasses import dataclass, field

import torch

MIN_TOKENS_TO_KEEP = 1  # HF's value for sampling with one beam
NEG_INF = float("-inf")


def warp(logits, temperature=1.0, top_k=0, top_p=1.0):
    """HF's temperature, top-k and top-p warpers on one logits row (V,), in that order, each
    skipped when it is a no-op (1.0, 0, 1.0). Returns float64 (V,), removed entries -inf."""
    if temperature <= 0 or top_k < 0 or not 0.0 <= top_p <= 1.0:
        raise ValueError(f"warp: temperature {temperature} must be > 0, top_k {top_k} >= 0, "
                         f"top_p {top_p} in [0, 1] (as HF's warpers require)")
    scores = torch.as_tensor(logits, dtype=torch.float64)
    if temperature != 1.0:
        scores = scores / temperature
    if top_k != 0:
        k = min(max(top_k, MIN_TOKENS_TO_KEEP), scores.shape[-1])
        scores = scores.masked_fill(scores < torch.topk(scores, k).values[-1], NEG_INF)
    if top_p < 1.0:
        ascending, order = torch.sort(scores, stable=True)
        remove = ascending.softmax(-1).cumsum(-1) <= 1 - top_p
        remove[-MIN_TOKENS_TO_KEEP:] = False
        scores = scores.masked_fill(remove.scatter(0, order, remove), NEG_INF)
    return scores


@dataclass
class Rules:
    """HF's logits processors as a GenerationConfig sets them (the ones AttnScope applies)."""
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    bad_words_ids: list = field(default_factory=list)
    min_length: int = 0
    min_new_tokens: int = 0
    forced_bos_token_id: int = None
    forced_eos_token_id: list = None
    suppress_tokens: list = field(default_factory=list)
    begin_suppress_tokens: list = field(default_factory=list)


def process(logits, ids, prompt_length, max_length, rules, eos_ids):
    """HF's logits processors on one row (V,) for the token after `ids` (the decoder's ids so
    far, the first prompt_length of them its prompt), in _get_logits_processor's order. Returns
    float64 (V,), forbidden entries -inf.
    - RepetitionPenaltyLogitsProcessor: every id in `ids` (prompt included): a negative score is
      multiplied by the penalty, a positive one divided.
    - NoRepeatNGramLogitsProcessor: when len(ids) + 1 >= n, every token that followed the last
      n - 1 ids somewhere in `ids` is forbidden.
    - NoBadWordsLogitsProcessor (a SequenceBias of -inf): sequences equal to [eos] are dropped;
      a one-token sequence is always forbidden, a longer one's last token when `ids` ends with
      the rest.
    - MinLengthLogitsProcessor: EOS forbidden while len(ids) < min_length;
      MinNewTokensLengthLogitsProcessor: while len(ids) - prompt_length < min_new_tokens.
    - ForcedBOSTokenLogitsProcessor: when len(ids) == 1 only forced_bos remains (score 0).
    - ForcedEOSTokenLogitsProcessor: when len(ids) == max_length - 1 only the EOS ids remain (0).
    - SuppressTokensLogitsProcessor: always forbidden; SuppressTokensAtBeginLogitsProcessor:
      forbidden when len(ids) == prompt_length (the first generated token; + 1 with a forced BOS
      after a one-token prompt)."""
    scores = torch.as_tensor(logits, dtype=torch.float64).clone()
    n = len(ids)
    if rules.repetition_penalty != 1.0:
        seen = torch.tensor(sorted(set(ids)), dtype=torch.long)
        s = scores[seen]
        scores[seen] = torch.where(s < 0, s * rules.repetition_penalty, s / rules.repetition_penalty)
    k = rules.no_repeat_ngram_size
    if k > 0 and n + 1 >= k:
        followers = {}
        for start in range(n - k + 1):
            followers.setdefault(tuple(ids[start:start + k - 1]), []).append(ids[start + k - 1])
        for t in followers.get(tuple(ids[n - k + 1:]) if k > 1 else (), []):
            scores[t] = NEG_INF
    for word in rules.bad_words_ids:
        if any(word == [e] for e in eos_ids):
            continue
        if len(word) == 1 or (len(word) - 1 <= n and ids[n - len(word) + 1:] == word[:-1]):
            scores[word[-1]] = NEG_INF
    if rules.min_length > 0 and n < rules.min_length:
        scores[list(eos_ids)] = NEG_INF
    if rules.min_new_tokens > 0 and n - prompt_length < rules.min_new_tokens:
        scores[list(eos_ids)] = NEG_INF
    if rules.forced_bos_token_id is not None and n == 1:
        scores[:] = NEG_INF
        scores[rules.forced_bos_token_id] = 0
    if rules.forced_eos_token_id is not None and n == max_length - 1:
        scores[:] = NEG_INF
        scores[rules.forced_eos_token_id] = 0
    if rules.suppress_tokens:
        scores[rules.suppress_tokens] = NEG_INF
    begin = prompt_length + (1 if prompt_length == 1 and rules.forced_bos_token_id is not None else 0)
    if rules.begin_suppress_tokens and n == begin:
        scores[rules.begin_suppress_tokens] = NEG_INF
    return scores


def top_probs(logits, n=5):
    """(ids, probabilities) of the n most probable entries of softmax(logits) in float64,
    ties broken by the lower id."""
    probs = torch.as_tensor(logits, dtype=torch.float64).softmax(-1)
    values, ids = torch.sort(probs, descending=True, stable=True)
    return ids[:n].tolist(), values[:n].tolist()


@dataclass
class Generation:
    ids: list  # generated ids, prompt excluded
    steps: list = field(default_factory=list)  # per step: {"top_ids": [...], "top_probs": [...]}
    logits: list = field(default_factory=list)  # per step: the last position's logits (V,), float64


def greedy(model_forward, prompt_ids, max_new_tokens, eos_ids, top=5, rules=None):
    """Greedy decoding without a cache: model_forward(ids (N,) long) -> logits (N, V) runs on the
    whole sequence at every step. Stops after max_new_tokens, or after appending an id in eos_ids.
    With `rules`, each step's logits go through process() first (max_length = prompt +
    max_new_tokens, as HF sets it from max_new_tokens), and the recorded logits are processed."""
    ids, out = list(prompt_ids), Generation([])
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model_forward(torch.tensor(ids, dtype=torch.long))[-1].to(torch.float64)  # (V,)
        if rules is not None:
            logits = process(logits, ids, len(prompt_ids), len(prompt_ids) + max_new_tokens, rules, eos_ids)
        next_id = int(torch.argmax(logits))
        top_ids, probs = top_probs(logits, top)
        out.steps.append({"top_ids": top_ids, "top_probs": probs})
        out.logits.append(logits)
        out.ids.append(next_id)
        ids.append(next_id)
        if next_id in eos_ids:
            break
    return out
