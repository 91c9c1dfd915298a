#include "session/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace attn {

namespace {

constexpr const char* kPromptLengthKey = "prompt_length";
constexpr const char* kGenerationKey = "generation";
constexpr const char* kCandidateTokensKey = "step_candidate_tokens";

// The softmax of one row of logits, in double precision.
std::vector<double> softmax(const Eigen::Ref<const Eigen::RowVectorXf>& logits) {
  std::vector<double> p(size_t(logits.size()));
  const double top = logits.maxCoeff();
  double sum = 0;
  for (Eigen::Index i = 0; i < logits.size(); ++i) sum += p[size_t(i)] = std::exp(double(logits[i]) - top);
  for (double& v : p) v /= sum;
  return p;
}

// The `k` most probable ids, most probable first (the lower id first among equals).
std::vector<int> top_ids(const std::vector<double>& p, int k) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::clamp(k, 0, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)] || (p[size_t(a)] == p[size_t(b)] && a < b); });
  order.resize(size_t(k));
  return order;
}

// A uniform draw in [0, 1) from 53 bits: the same sequence for a seed on every platform.
double uniform(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// The id a step chooses from its logits.
int choose(const Eigen::Ref<const Eigen::RowVectorXf>& logits, const Sampling& sampling, std::mt19937_64& rng) {
  if (sampling.greedy) {
    Eigen::Index best = 0;
    logits.maxCoeff(&best);  // the first of equal maxima, as torch.argmax
    return int(best);
  }
  const std::vector<double> p = sampling_distribution(logits, sampling);
  const double u = uniform(rng);
  double sum = 0;
  int last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    last = int(i);
    sum += p[i];
    if (u < sum) return int(i);
  }
  return last;  // rounding left u above the total
}

}  // namespace

std::string Sampling::to_json() const {
  if (greedy) return nlohmann::json{{"mode", "greedy"}}.dump();
  return nlohmann::json{{"mode", "sample"}, {"temperature", temperature}, {"top_k", top_k}, {"top_p", top_p}, {"seed", seed}}.dump();
}

void Sampling::check() const {
  if (greedy) return;
  if (!(temperature > 0) || !std::isfinite(temperature)) throw Error("temperature must be a positive number, not " + std::to_string(temperature));
  if (top_k < 0) throw Error("top-k must be 0 (off) or more, not " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) throw Error("top-p must be in (0, 1], not " + std::to_string(top_p));
}

std::vector<double> sampling_distribution(const Eigen::Ref<const Eigen::RowVectorXf>& logits, const Sampling& s) {
  const size_t V = size_t(logits.size());
  std::vector<double> l(V);
  for (size_t i = 0; i < V; ++i) l[i] = double(logits[Eigen::Index(i)]) / (s.temperature == 1.0 ? 1.0 : s.temperature);
  std::vector<bool> kept(V, true);
  if (s.top_k > 0 && size_t(s.top_k) < V) {  // TopKLogitsWarper: below the k-th largest goes (ties at it stay)
    std::vector<double> sorted = l;
    std::nth_element(sorted.begin(), sorted.begin() + (s.top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[size_t(s.top_k - 1)];
    for (size_t i = 0; i < V; ++i) kept[i] = l[i] >= kth;
  }
  auto normalised = [&] {
    std::vector<double> p(V, 0.0);
    double top = -INFINITY, sum = 0;
    for (size_t i = 0; i < V; ++i)
      if (kept[i]) top = std::max(top, l[i]);
    for (size_t i = 0; i < V; ++i)
      if (kept[i]) sum += p[i] = std::exp(l[i] - top);
    for (double& v : p) v /= sum;
    return p;
  };
  if (s.top_p < 1.0) {  // TopPLogitsWarper: ascending, drop while the mass so far is <= 1 - top_p; the most probable stays
    const std::vector<double> p = normalised();
    std::vector<size_t> order;
    for (size_t i = 0; i < V; ++i)
      if (kept[i]) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l[a] < l[b]; });
    double cumulative = 0;
    for (size_t r = 0; r + 1 < order.size(); ++r) {
      cumulative += p[order[r]];
      if (cumulative > 1.0 - s.top_p) break;
      kept[order[r]] = false;
    }
  }
  return normalised();
}

void apply_logits_rules(Eigen::Ref<Eigen::RowVectorXf> logits, const std::vector<int32_t>& ids, int prompt_length, int max_length,
                        const LogitsRules& rules, const std::vector<int>& eos_ids) {
  const int V = int(logits.size()), n = int(ids.size());
  auto forbid = [&](int id) {
    if (id >= 0 && id < V) logits[id] = -INFINITY;
  };
  auto only = [&](const std::vector<int>& keep) {
    logits.setConstant(-INFINITY);
    for (int id : keep)
      if (id >= 0 && id < V) logits[id] = 0;
  };
  if (rules.repetition_penalty != 1.0) {  // each id seen once, however often it occurs
    std::vector<int32_t> seen = ids;
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    const float penalty = float(rules.repetition_penalty);
    for (int32_t id : seen)
      if (id >= 0 && id < V) logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
  }
  if (const int k = rules.no_repeat_ngram_size; k > 0 && n + 1 >= k) {  // what followed the last k - 1 ids before
    for (int start = 0; start + k <= n; ++start)
      if (std::equal(ids.begin() + start, ids.begin() + start + k - 1, ids.end() - (k - 1))) forbid(ids[size_t(start + k - 1)]);
  }
  for (const std::vector<int>& word : rules.bad_words_ids) {
    if (word.size() == 1 && std::find(eos_ids.begin(), eos_ids.end(), word[0]) != eos_ids.end()) continue;  // never ban the end
    const int before = int(word.size()) - 1;
    if (before <= n && std::equal(word.begin(), word.end() - 1, ids.end() - before)) forbid(word.back());
  }
  if ((rules.min_length > 0 && n < rules.min_length) || (rules.min_new_tokens > 0 && n - prompt_length < rules.min_new_tokens))
    for (int id : eos_ids) forbid(id);
  if (rules.forced_bos_token_id >= 0 && n == 1) only({rules.forced_bos_token_id});
  if (!rules.forced_eos_token_ids.empty() && n == max_length - 1) only(rules.forced_eos_token_ids);
  for (int id : rules.suppress_tokens) forbid(id);
  const int begin = prompt_length + (prompt_length == 1 && rules.forced_bos_token_id >= 0 ? 1 : 0);
  if (n == begin)
    for (int id : rules.begin_suppress_tokens) forbid(id);
}

std::vector<int32_t> GenerateResult::generated_ids() const {
  std::vector<int32_t> ids;
  for (const GenerationStep& s : steps) ids.push_back(s.chosen.id);
  return ids;
}

GenerateResult generate(const Model& model, GenerateRequest request) {
  if (!model.can_generate())
    throw Error(model.name() + " cannot generate text: it is not a decoder with a language-model head (" + model.config().model_type + ")");
  if (request.max_new_tokens < 1) throw Error("the number of new tokens must be at least 1, not " + std::to_string(request.max_new_tokens));
  request.sampling.check();
  const ModelConfig& config = model.config();
  const Tokenizer& tokenizer = model.tokenizer();
  Encoding input;
  if (request.prompt_ids) {
    input = tokenizer.encode_ids(*request.prompt_ids);
  } else {
    input = model.encode(request.text);
  }
  if (input.size() == 0) throw Error(kEmptyInput);
  // A decoder continues its prompt; an encoder-decoder's decoder starts from its start token,
  // attending to the encoded input (the source).
  const bool translates = config.is_encoder_decoder();
  Encoding prompt;
  if (translates) {
    const int start = config.decoder_start_token_id;
    prompt.push(start, tokenizer.id_to_token(start), {0, 0}, -1, true);
  } else {
    prompt = input;
  }
  const int P = int(prompt.size());
  if (P >= config.max_positions)
    throw Error("the prompt has " + std::to_string(P) + " tokens and " + model.name() + " has " + std::to_string(config.max_positions) +
                " positions: there is no room to generate; shorten the prompt");
  const int capacity = int(std::min<int64_t>(int64_t(P) + request.max_new_tokens, config.max_positions));
  const std::vector<int> stop_ids = request.stop_ids.value_or(config.eos_token_ids);
  const LogitsRules rules = request.rules.value_or(config.generation.rules);

  auto label = [&](int id) {  // padding rows of the vocabulary have no token
    return id < tokenizer.vocab_size() ? model.display_token(id, tokenizer.id_to_token(id)) : "<id " + std::to_string(id) + ">";
  };

  GenerateResult out;
  out.prompt_ids = prompt.ids;
  if (translates) out.source_ids = input.ids;
  out.recording = model.generation_recording(capacity, request.options, translates ? &input : nullptr);
  AttentionRecording& rec = *out.recording;
  RecordingMeta& meta = rec.meta_mutable();
  for (int i = 0; i < P; ++i) {
    meta.tokens.push_back(model.display_token(prompt, size_t(i)));
    meta.special.push_back(i < int(prompt.special.size()) ? prompt.special[size_t(i)] : 0);
  }
  meta.text = request.text;

  // One pass: its share of the progress, and its new tokens' rows. LongRoPE models run the
  // whole sequence again when the length changes their positions' factors.
  KvCache cache(capacity);
  if (translates) cache.source = input.ids;
  std::vector<int32_t> ids = prompt.ids;
  const ProgressFn user_progress = request.options.progress;
  const double passes = request.max_new_tokens + 1.0;
  int passes_done = 0;
  auto run = [&](const std::vector<int32_t>& fresh) {
    RunOptions step = request.options;
    const std::string stage = passes_done == 0 ? (translates ? "encoding" : "prompt") : "token " + std::to_string(passes_done) + " of " + std::to_string(request.max_new_tokens);
    step.progress = [&](double f, std::string_view) { return !user_progress || user_progress((passes_done + f) / passes, stage); };
    const int total = cache.length() + int(fresh.size());
    RowMatrix logits;
    if (cache.length() > 0 && !model.cache_valid(cache.length(), total)) {
      cache.clear();
      logits = model.forward_cached(ids, cache, rec, step);
    } else {
      logits = model.forward_cached(fresh, cache, rec, step);
    }
    ++passes_done;
    return logits;
  };

  std::mt19937_64 rng(request.sampling.seed);
  RowMatrix logits = run(ids);  // Cancelled here: nothing generated, the caller sees it
  const int K = std::max(0, request.candidates);
  for (;;) {
    Eigen::RowVectorXf row = logits.row(0);
    apply_logits_rules(row, ids, P, P + request.max_new_tokens, rules, stop_ids);
    const int id = choose(row, request.sampling, rng);
    const std::vector<double> p = softmax(row);
    GenerationStep step;
    step.chosen = {id, label(id), p[size_t(id)]};
    for (int c : top_ids(p, K)) step.candidates.push_back({c, label(c), p[size_t(c)]});
    ids.push_back(id);
    meta.tokens.push_back(step.chosen.token);
    meta.special.push_back(std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end() ? 1 : 0);  // an end of sequence
    if (request.on_step) request.on_step(step);
    out.steps.push_back(std::move(step));
    try {
      logits = run({id});  // the new token's row of attention, and the next token's logits
    } catch (const Cancelled&) {  // the token's attention is incomplete: it goes
      out.steps.pop_back();
      ids.pop_back();
      out.stop = "cancelled";
      break;
    }
    const int G = int(out.steps.size());
    if (std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end()) {
      out.stop = "eos";
      break;
    }
    if (G == request.max_new_tokens) {
      out.stop = "max-new-tokens";
      break;
    }
    if (P + G == capacity) {
      out.stop = "positions";
      break;
    }
  }

  rec.keep_first_tokens(cache.length());
  std::vector<int32_t> said = out.generated_ids();
  if (out.stop == "eos" && !said.empty()) said.pop_back();  // the end-of-sequence token ends the text, it is not in it
  out.text = tokenizer.decode(said);
  if (out.stop != "cancelled" && out.stop != "eos") {  // after the end of the sequence nothing is predicted
    out.predictions = top_predictions(model, logits, PredictionTarget{"next-token", cache.length() - 1}, 5);
    meta.extra[kPredictionsKey] = out.predictions->to_json();
  }
  // The steps, in the recording (docs/recording-format.md, "Generations").
  nlohmann::json settings = nlohmann::json::parse(request.sampling.to_json());
  settings["max_new_tokens"] = request.max_new_tokens;
  if (rules.any()) settings["rules"] = nlohmann::json::parse(rules.to_json());
  settings["stop"] = out.stop;
  meta.extra[kPromptLengthKey] = std::to_string(P);
  meta.extra[kGenerationKey] = settings.dump();
  AttentionRecording::StepCandidates c;
  c.steps = int(out.steps.size());
  c.k = K;
  nlohmann::json tokens = nlohmann::json::array();
  for (const GenerationStep& s : out.steps) {
    nlohmann::json row = nlohmann::json::array();
    for (int i = 0; i < K; ++i) {
      const bool have = i < int(s.candidates.size());
      c.ids.push_back(have ? s.candidates[size_t(i)].id : 0);
      c.probs.push_back(have ? float(s.candidates[size_t(i)].prob) : 0.0f);
      if (have) row.push_back(s.candidates[size_t(i)].token);
    }
    c.chosen_ids.push_back(s.chosen.id);
    c.chosen_probs.push_back(float(s.chosen.prob));
    tokens.push_back(std::move(row));
  }
  meta.extra[kCandidateTokensKey] = tokens.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  rec.set_step_candidates(std::move(c));
  return out;
}

std::optional<GenerationInfo> read_generation(const AttentionRecording& recording) {
  const RecordingMeta& meta = recording.meta();
  const auto length = meta.extra.find(kPromptLengthKey);
  const auto& steps = recording.step_candidates();
  if (length == meta.extra.end() || !steps) return std::nullopt;
  GenerationInfo info;
  try {
    info.prompt_length = std::stoi(length->second);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (info.prompt_length < 1 || info.prompt_length + steps->steps != meta.num_tokens) return std::nullopt;
  if (const auto s = meta.extra.find(kGenerationKey); s != meta.extra.end()) info.settings = s->second;
  nlohmann::json tokens = nlohmann::json::array();
  if (const auto t = meta.extra.find(kCandidateTokensKey); t != meta.extra.end()) {
    tokens = nlohmann::json::parse(t->second, nullptr, false);
    if (!tokens.is_array()) tokens = nlohmann::json::array();
  }
  for (int t = 0; t < steps->steps; ++t) {
    GenerationStep step;
    const int position = info.prompt_length + t;
    step.chosen.id = steps->chosen_ids[size_t(t)];
    step.chosen.token = position < int(meta.tokens.size()) ? meta.tokens[size_t(position)] : "";
    step.chosen.prob = steps->chosen_probs[size_t(t)];
    for (int i = 0; i < steps->k; ++i) {
      const float prob = steps->probs[size_t(t) * steps->k + i];
      if (prob <= 0) continue;  // a padding slot
      CandidateToken c;
      c.id = steps->ids[size_t(t) * steps->k + i];
      c.prob = prob;
      if (size_t(t) < tokens.size() && tokens[size_t(t)].is_array() && size_t(i) < tokens[size_t(t)].size() && tokens[size_t(t)][size_t(i)].is_string())
        c.token = tokens[size_t(t)][size_t(i)].get<std::string>();
      else
        c.token = "<id " + std::to_string(c.id) + ">";
      step.candidates.push_back(std::move(c));
    }
    info.steps.push_back(std::move(step));
  }
  return info;
}

}  // namespace attn
