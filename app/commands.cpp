#include "commands.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "ablate_command.h"
#include "cli_args.h"
#include "model/family_table.h"
#include "nn/model.h"
#include "picture_file.h"
#include "record/recording.h"
#include "session/generate.h"
#include "session/run.h"
#include "util/error.h"
#ifdef ATTN_WITH_GUI
#include "export_command.h"
#endif

namespace attn::cli {

namespace {

// The process's arguments, for commands that start Qt.
int g_argc = 0;
char** g_argv = nullptr;

using Json = nlohmann::json;

struct Command {
  std::string name;
  std::string summary;
  std::string usage;
  std::vector<OptionSpec> options;
  std::function<int(const Args&)> run;
};

const OptionSpec kModel{"model", true, "DIR", "Hugging Face model folder (config.json, model.safetensors, tokenizer)"};
const OptionSpec kTokenizerFolder{"model", true, "DIR",
                                  "model folder, or a folder with only the tokenizer files (tokenizer.json, vocab.txt, or vocab.json + merges.txt)"};
const OptionSpec kText{"text", true, "STR", "input text"};
const OptionSpec kPair{"pair", true, "STR", "second sentence (BERT-style pairs)"};
const OptionSpec kJson{"json", false, "", "print JSON instead of text"};
const OptionSpec kImage{"image", true, "FILE", "input picture (PNG, JPEG, BMP) for image models (vit, deit) instead of --text"};
const OptionSpec kForce{"force", false, "", "run even when the memory estimate exceeds the budget (ATTNSCOPE_MEMORY_BUDGET)"};
const OptionSpec kTruncate{"truncate", false, "", "cut input longer than the model's positions instead of failing"};

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Unicode code point index of a UTF-8 byte offset; offsets inside a character round down
// (begin) or up (end), as Hugging Face reports spans of byte-level tokens.
size_t char_index(std::string_view text, size_t byte, bool is_end) {
  size_t n = 0;
  for (size_t i = 0; i < byte && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  if (!is_end && byte < text.size() && (static_cast<unsigned char>(text[byte]) & 0xC0) == 0x80 && n > 0) --n;
  return n;
}

// Summary of a recording file: what it holds, without the model.
int info_recording(const Args& a, const std::string& path) {
  const auto rec = AttentionRecording::open(path);
  const auto& m = rec->meta();
  Json j = {{"recording", path},       {"model", m.model},           {"family", m.family},
            {"layers", m.num_layers},  {"heads", m.num_heads},       {"tokens", m.num_tokens},
            {"causal", m.causal},      {"has_qkv", rec->has_qkv()},  {"has_scores", rec->has_scores()},
            {"has_logits", rec->logits().has_value()}, {"has_raw_qk", rec->has_raw_qk()}};
  if (!m.rotary.empty()) {
    j["rotary"] = {{"pairs", m.rotary.inv_freq.size()}, {"attention_factor", m.rotary.attention_factor},
                   {"local_frequencies", !m.rotary.local_inv_freq.empty()}, {"qk_norm", !m.rotary.q_norm.empty()}};
  }
  if (!m.text.empty()) j["text"] = m.text;
  if (!m.model_layers.empty()) j["model_layers"] = m.model_layers;
  if (m.num_kv_heads > 0) j["num_key_value_heads"] = m.num_kv_heads;
  if (!m.windows.empty()) j["sliding_windows"] = m.windows;
  if (!rec->pyramid().empty()) j["pyramid"] = rec->pyramid();
  if (m.encoder_decoder()) {
    j["encoder_layers"] = m.num_encoder_layers;
    j["source_tokens"] = m.source_tokens;
  }
  for (const auto& [k, v] : m.extra) j["metadata"][k] = v;
  if (a.flag("json")) {
    j["token_strings"] = m.tokens;
    std::cout << dump(j) << "\n";
    return 0;
  }
  std::printf("recording    %s\nmodel        %s (%s)\nlayers       %d\nheads        %d\ntokens       %d%s\nparts        attention%s%s%s%s\n",
              path.c_str(), m.model.c_str(), m.family.c_str(), m.num_layers, m.num_heads, m.num_tokens, m.causal ? " (causal)" : "",
              rec->has_scores() ? ", scores" : "", rec->has_qkv() ? ", query/key/value" : "",
              rec->has_raw_qk() ? ", raw query/key projections" : "", rec->logits() ? ", logits" : "");
  if (!m.rotary.empty()) {
    const auto& r = m.rotary;
    std::printf("rotation     %zu channel pairs, %g to %g rad per token%s%s%s\n", r.inv_freq.size(), double(r.inv_freq.front()),
                double(r.inv_freq.back()), r.local_inv_freq.empty() ? "" : "; sliding layers their own",
                r.attention_factor != 1.0f ? ("; scaled by " + std::to_string(r.attention_factor)).c_str() : "",
                r.q_norm.empty() ? "" : "; q/k norm per head first");
  }
  if (!m.model_layers.empty()) std::printf("model layers %s (only these were recorded)\n", Json(m.model_layers).dump().c_str());
  if (const auto groups = describe_kv_groups(m.num_heads, m.num_kv_heads); !groups.empty()) std::printf("grouped      %s\n", groups.c_str());
  if (const auto w = describe_windows(m.windows, m.model_layers); !w.empty()) std::printf("attention    %s\n", w.c_str());
  if (!rec->pyramid().empty())
    std::printf("pyramid      each head max-pooled by %s (zoomed-out views read these)\n", Json(rec->pyramid()).dump().c_str());
  if (m.encoder_decoder())
    std::printf("encoder      %d layers over %zu source tokens; the recording also holds their self-attention and the decoder's "
                "cross-attention to them\n", m.num_encoder_layers, m.source_tokens.size());
  if (!m.text.empty()) std::printf("text         %s\n", m.text.c_str());
  if (const auto g = read_generation(*rec))
    std::printf("generation   %d prompt tokens + %zu generated; %s\n", g->prompt_length, g->steps.size(), g->settings.c_str());
  return 0;
}

int cmd_info(const Args& a) {
  if (const auto rec = a.get("recording")) {
    if (a.get("model")) throw UsageError("give either --model or --recording, not both");
    return info_recording(a, *rec);
  }
  const auto model = Model::load(a.require("model"));
  const auto& c = model->config();
  Json j = {{"model", model->name()},
            {"family", c.family},
            {"model_type", c.model_type},
            {"architecture", c.architecture},
            {"task", head_kind_name(c.head)},
            {"layers", c.num_layers},
            {"heads", c.num_heads},
            {"hidden_size", c.hidden_size},
            {"head_dim", c.head_dim()},
            {"intermediate_size", c.intermediate_size},
            {"vocab_size", c.vocab_size},
            {"max_positions", c.max_positions},
            {"parameters", model->parameter_count()}};
  if (model->takes_images()) {
    const auto& p = model->image_processor();
    j["image_size"] = {c.image_height, c.image_width};
    j["patch_size"] = c.patch_size;
    j["preprocessing"] = {{"source", p.source},
                          {"resize", p.do_resize ? (p.shortest_edge > 0 ? "shortest edge " + std::to_string(p.shortest_edge)
                                                                          : std::to_string(p.resize_height) + "x" + std::to_string(p.resize_width))
                                                 : "none"},
                          {"resample", pil_filter_name(p.resample)},
                          {"center_crop", p.do_center_crop ? std::to_string(p.crop_height) + "x" + std::to_string(p.crop_width) : "none"},
                          {"image_mean", p.image_mean},
                          {"image_std", p.image_std}};
  } else {
    j["tokenizer"] = model->tokenizer().kind();
  }
  if (!c.labels.empty()) j["labels"] = c.labels;
  if (c.num_kv_heads > 0) j["num_key_value_heads"] = c.num_kv_heads;
  if (!c.layer_windows.empty()) j["sliding_windows"] = c.layer_windows;
  if (c.spec && c.spec->causal && !c.decoder.rope.type.empty() && c.family != "gpt2") {
    j["rope"] = {{"type", c.decoder.rope.type}, {"theta", c.decoder.rope.theta}};
    if (c.decoder.rope_local.theta != c.decoder.rope.theta) j["rope"]["local_theta"] = c.decoder.rope_local.theta;
    if (c.decoder.rope.partial_rotary_factor != 1.0) j["rope"]["rotated_channels"] = c.decoder.rope.rotary_dim(c.head_dim());
    if (c.decoder.rope.type == "longrope") j["rope"]["original_max_position_embeddings"] = c.decoder.rope.original_max_positions;
  }
  if (c.attn_softcap > 0) j["attn_logit_softcapping"] = c.attn_softcap;
  if (c.decoder.final_softcap > 0) j["final_logit_softcapping"] = c.decoder.final_softcap;
  if (a.flag("json")) {
    std::cout << dump(j) << "\n";
  } else if (model->takes_images()) {
    std::printf("model        %s\nfamily       %s (%s)\ntask         %s\nlayers       %d\nheads        %d\n"
                "hidden size  %d (head dim %d)\nimage size   %dx%d, %dx%d patches of %d pixels\nparameters   %lld (%.1f M)\n"
                "resize       %s (%s), centre crop %s\n",
                model->name().c_str(), c.family.c_str(), c.architecture.empty() ? c.model_type.c_str() : c.architecture.c_str(),
                head_kind_name(c.head).c_str(), c.num_layers, c.num_heads, c.hidden_size, c.head_dim(), c.image_height, c.image_width,
                c.image_height / c.patch_size, c.image_width / c.patch_size, c.patch_size,
                static_cast<long long>(model->parameter_count()), double(model->parameter_count()) / 1e6,
                j["preprocessing"]["resize"].get<std::string>().c_str(), j["preprocessing"]["resample"].get<std::string>().c_str(),
                j["preprocessing"]["center_crop"].get<std::string>().c_str());
  } else {
    std::printf("model        %s\nfamily       %s (%s)\ntask         %s\nlayers       %d\nheads        %d\n"
                "hidden size  %d (head dim %d)\nvocab size   %d\npositions    %d\nparameters   %lld (%.1f M)\ntokenizer    %s\n",
                model->name().c_str(), c.family.c_str(), c.architecture.empty() ? c.model_type.c_str() : c.architecture.c_str(),
                head_kind_name(c.head).c_str(), c.num_layers, c.num_heads, c.hidden_size, c.head_dim(), c.vocab_size, c.max_positions,
                static_cast<long long>(model->parameter_count()), double(model->parameter_count()) / 1e6, model->tokenizer().kind().c_str());
    if (const auto groups = describe_kv_groups(c.num_heads, c.kv_heads()); !groups.empty()) std::printf("grouped      %s\n", groups.c_str());
    if (const auto w = describe_windows(c.layer_windows); !w.empty()) std::printf("attention    %s\n", w.c_str());
    if (j.contains("rope")) {
      std::printf("positions    rotary (%s, theta %g", c.decoder.rope.type.c_str(), c.decoder.rope.theta);
      if (j["rope"].contains("local_theta")) std::printf("; sliding layers: default, theta %g", c.decoder.rope_local.theta);
      if (j["rope"].contains("rotated_channels"))
        std::printf("; the first %d of %d channels per head", c.decoder.rope.rotary_dim(c.head_dim()), c.head_dim());
      if (c.decoder.rope.type == "longrope")
        std::printf("; long factors beyond %d tokens", c.decoder.rope.original_max_positions);
      std::printf(")\n");
    }
    if (c.attn_softcap > 0 || c.decoder.final_softcap > 0)
      std::printf("soft caps    attention %g, logits %g (0 = none)\n", c.attn_softcap, c.decoder.final_softcap);
  }
  if (model->non_finite_weights() > 0)
    std::cerr << "attnscope: warning: " << model->non_finite_weights() << " weights are NaN or infinite\n";
  return 0;
}

// The tokenizer of a model folder, or of a folder that holds only tokenizer files (and
// config.json, if present): checking a tokenizer needs no weights.
std::unique_ptr<Tokenizer> folder_tokenizer(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw Error(dir.string() + ": no such folder");
  if (const FamilySpec* family = ModelConfig::peek_family(dir); family && family->vision)
    throw Error(dir.string() + " holds an image model (" + family->model_type + "): it has no tokenizer");
  return load_tokenizer(dir, TokenizerOptions{});
}

int cmd_tokenize(const Args& a) {
  const auto tokenizer = folder_tokenizer(a.require("model"));
  const std::string text = a.require("text");
  const auto pair = a.get("pair");
  if (pair && !tokenizer->supports_pairs()) throw Error("this tokenizer does not take sentence pairs (" + tokenizer->kind() + ")");
  const Encoding enc = tokenizer->encode(text, pair ? std::optional<std::string_view>(*pair) : std::nullopt);
  Json offsets = Json::array();
  for (size_t i = 0; i < enc.size(); ++i) {
    const std::string_view src = (i < enc.sequence_ids.size() && enc.sequence_ids[i] == 1 && pair) ? std::string_view(*pair) : std::string_view(text);
    const auto [b, e] = enc.offsets[i];
    offsets.push_back({char_index(src, b, false), char_index(src, e, true)});
  }
  Json j = {{"ids", enc.ids}, {"tokens", enc.tokens}, {"offsets", offsets}};
  if (pair) j["type_ids"] = enc.type_ids;
  if (a.flag("json")) {
    std::cout << dump(j) << "\n";
  } else {
    for (size_t i = 0; i < enc.size(); ++i)
      std::printf("%5zu  %8d  %s\n", i, enc.ids[i], tokenizer->display_token(enc.ids[i], enc.tokens[i]).c_str());
  }
  return 0;
}

// "0,3,8-11" → {0, 3, 8, 9, 10, 11} (sorted, distinct). Throws UsageError.
std::vector<int> parse_layer_list(const std::string& spec) {
  std::vector<int> out;
  auto number = [&](const std::string& s) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--layers " + spec + ": expected layer numbers and ranges such as 0,3,8-11");
    return std::stoi(s);
  };
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t dash = item.find('-');
    const int lo = number(item.substr(0, dash)), hi = dash == std::string::npos ? lo : number(item.substr(dash + 1));
    if (hi < lo) throw UsageError("--layers " + spec + ": the range " + item + " runs backwards");
    for (int l = lo; l <= hi; ++l) out.push_back(l);
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The run options every command shares: what to record, and the memory guard.
}  // namespace

RunOptions run_options(const Args& a) {
  RunOptions opt;
  opt.record_qkv = a.flag("qkv");
  opt.record_scores = a.flag("scores");
  if (const auto layers = a.get("layers")) opt.layers = parse_layer_list(*layers);
  if (a.get("dtype").value_or("f32") == "f16") opt.storage = DType::F16;
  if (a.flag("force")) opt.memory_budget = kNoMemoryLimit;
  return opt;
}

// Refuses --text for image models and --image for text models, saying which input to give.
void check_input_kind(const Args& a, const Model& model) {
  const bool image = a.get("image").has_value();
  if (model.takes_images() && !image)
    throw UsageError(model.name() + " is an image model (" + model.config().model_type + "): give it a picture with --image FILE");
  if (!model.takes_images() && image)
    throw UsageError(model.name() + " is a text model (" + model.config().model_type + "): give it --text, not --image");
  if (image && (a.get("text") || a.get("pair"))) throw UsageError("give either --image or --text, not both");
}

// The pipeline's request for --text/--pair/--truncate or --image FILE (decoded here).
RunRequest run_request(const Args& a, const Model& model) {
  RunRequest req;
  req.options = run_options(a);
  if (model.takes_images()) {
    req.image_path = *a.get("image");
    req.image = imageio::decode_image_file(req.image_path);
  } else {
    req.text = a.require("text");
    req.pair = a.get("pair");
    req.truncate = a.flag("truncate");
  }
  return req;
}

namespace {

int cmd_record(const Args& a) {
  const auto model = Model::load(a.require("model"));
  check_input_kind(a, *model);
  const std::string dtype = a.get("dtype").value_or("f32");
  if (dtype != "f32" && dtype != "f16") throw UsageError("--dtype must be f32 or f16");
  const std::string out = a.require("out");
  RunRequest req = run_request(a, *model);  // (run_options reads --dtype too: an F16 recording is held as F16 during the run)
  req.keep_logits = a.flag("logits");
  const bool stream = a.flag("stream");
  if (stream) {
    req.options.stream_to = out;
    if (::isatty(STDERR_FILENO))
      req.options.progress = [](double done, std::string_view what) {
        std::fprintf(stderr, "\rrecording: %3.0f%% (%.*s)   ", 100 * done, int(what.size()), what.data());
        return true;
      };
  }
  RunResult r = run_model(*model, std::move(req));
  if (stream) {
    if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
    finish_stream(r);
  } else {
    r.recording->save(out, dtype == "f16" ? DType::F16 : DType::F32);
  }
  const auto& meta = r.recording->meta();
  std::printf("wrote %s: %d layers x %d heads x %d tokens", out.c_str(), r.recording->num_layers(), model->config().num_heads,
              r.recording->num_tokens());
  if (model->takes_images()) std::printf(" (%s patches)", meta.extra.at("image_grid").c_str());
  std::printf("\n");
  return 0;
}

int cmd_predict(const Args& a) {
  const auto model = Model::load(a.require("model"));
  const auto& c = model->config();
  check_input_kind(a, *model);
  if (model->takes_images() && c.head != HeadKind::ImageClassification)
    throw Error(model->name() + " is a bare " + c.model_type + " model (" + (c.architecture.empty() ? "no head" : c.architecture) +
                "): it has no classification head; its attention can still be recorded");
  RunRequest req = run_request(a, *model);
  req.top_k = a.get_int("top", 5, 1, 1000);
  const PreparedRun run = prepare_run(*model, std::move(req));
  const PredictionTarget target = require_prediction_target(*model, model->takes_images() ? nullptr : &run.encoding);
  const RunResult r = execute_run(*model, run);
  const std::string& task = target.task;
  const int position = target.position;
  const bool labels = task == "classification" || task == "image-classification";
  Json preds = Json::array();
  for (const auto& e : r.predictions->top) preds.push_back({{labels ? "label" : "token", e.label}, {"id", e.id}, {"prob", e.prob}});
  Json j = {{"task", task}, {"predictions", preds}};
  if (position >= 0) j["position"] = position;
  if (a.flag("json")) {
    std::cout << dump(j) << "\n";
  } else {
    std::printf("%s", task == "fill-mask" ? "fill-mask at token " : task == "next-token" ? "next token after token " : task.c_str());
    if (position >= 0) std::printf("%d", position);
    std::printf("\n");
    for (const auto& e : preds)
      std::printf("  %6.2f%%  %s\n", e["prob"].get<double>() * 100.0,
                  dump(e.contains("label") ? e["label"] : e["token"]).c_str());
  }
  return 0;
}

// A number option within [min, max]; throws UsageError.
std::optional<double> get_number(const Args& a, const std::string& name, double min, double max) {
  const auto v = a.get(name);
  if (!v) return std::nullopt;
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || !(x >= min && x <= max))
    throw UsageError("--" + name + " " + *v + ": expected a number from " + Json(min).dump() + " to " + Json(max).dump());
  return x;
}

// --greedy, or sampling with the settings given and generation_config.json's (Hugging Face's
// defaults) for the rest; the folder's do_sample decides when neither is asked for.
Sampling sampling_options(const Args& a, const ModelConfig& c) {
  const bool asked = a.get("temperature") || a.get("top-k") || a.get("top-p") || a.get("seed");
  if (a.flag("greedy") && asked) throw UsageError("give either --greedy or sampling settings (--temperature, --top-k, --top-p, --seed), not both");
  Sampling s;
  s.greedy = a.flag("greedy") || (!asked && !c.generation.do_sample);
  if (s.greedy) return s;
  s.temperature = get_number(a, "temperature", 1e-6, 1e6).value_or(c.generation.temperature);
  s.top_k = a.get_int("top-k", c.generation.top_k, 0, 1 << 30);
  s.top_p = get_number(a, "top-p", 1e-9, 1.0).value_or(c.generation.top_p);
  if (const auto seed = a.get("seed")) {
    if (seed->empty() || seed->size() > 19 || seed->find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--seed " + *seed + ": expected a whole number");
    s.seed = std::stoull(*seed);
  } else {
    s.seed = std::random_device{}();  // printed, so that the run can be repeated
  }
  return s;
}

int cmd_generate(const Args& a) {
  const auto model = Model::load(a.require("model"));
  const std::string dtype = a.get("dtype").value_or("f32");
  if (dtype != "f32" && dtype != "f16") throw UsageError("--dtype must be f32 or f16");
  GenerateRequest req;
  req.text = a.require("text");
  req.max_new_tokens = a.get_int("max-new-tokens", model->config().generation.max_new_tokens > 0 ? model->config().generation.max_new_tokens : 20,
                                 1, 1 << 20);
  req.sampling = sampling_options(a, model->config());
  LogitsRules rules = a.flag("no-rules") ? LogitsRules{} : model->config().generation.rules;
  if (const auto p = get_number(a, "repetition-penalty", 1e-6, 1e6)) rules.repetition_penalty = *p;
  if (a.get("no-repeat-ngram-size")) rules.no_repeat_ngram_size = a.get_int("no-repeat-ngram-size", 0, 0, 1 << 20);
  req.rules = rules;
  req.candidates = a.get_int("candidates", 5, 1, 100);
  req.options = run_options(a);
  if (::isatty(STDERR_FILENO))
    req.options.progress = [](double done, std::string_view what) {
      std::fprintf(stderr, "\rgenerating: %3.0f%% (%.*s)   ", 100 * done, int(what.size()), what.data());
      return true;
    };
  const GenerateResult g = generate(*model, std::move(req));
  if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
  const auto out = a.get("out");
  if (out) g.recording->save(*out, dtype == "f16" ? DType::F16 : DType::F32);

  Json tokens = Json::array(), steps = Json::array();
  for (const GenerationStep& s : g.steps) {
    tokens.push_back(s.chosen.token);
    Json candidates = Json::array();
    for (const CandidateToken& c : s.candidates) candidates.push_back({{"id", c.id}, {"token", c.token}, {"prob", c.prob}});
    steps.push_back({{"id", s.chosen.id}, {"prob", s.chosen.prob}, {"candidates", candidates}});
  }
  if (a.flag("json")) {
    Json j = {{"prompt_ids", g.prompt_ids}, {"ids", g.generated_ids()}, {"tokens", tokens}, {"text", g.text}, {"steps", steps},
              {"stop", g.stop}, {"sampling", Json::parse(g.recording->meta().extra.at("generation"))}};
    if (out) j["recording"] = *out;
    std::cout << dump(j) << "\n";
    return 0;
  }
  if (g.source_ids.empty()) std::printf("%s%s\n", g.recording->meta().text.c_str(), g.text.c_str());
  else std::printf("%s\n→ %s\n", g.recording->meta().text.c_str(), g.text.c_str());  // a translation
  const char* why = g.stop == "eos" ? "at an end-of-sequence token" : g.stop == "positions" ? "at the model's last position" : "after the most new tokens";
  std::printf("(%zu new tokens, stopped %s; %s)\n", g.steps.size(), why, g.recording->meta().extra.at("generation").c_str());
  if (out) std::printf("wrote %s: %d layers x %d heads x %d tokens\n", out->c_str(), g.recording->num_layers(), g.recording->num_heads(), g.recording->num_tokens());
  return 0;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"info", "show a model's family, layers, heads, sizes and parameter count, or what a recording holds",
       "attnscope info (--model DIR | --recording FILE) [--json]",
       {kModel, {"recording", true, "FILE", "an AttnScope recording (.safetensors) instead of a model"}, kJson}, cmd_info},
      {"tokenize", "show the tokens, ids and character offsets of a text",
       "attnscope tokenize --model DIR --text STR [--pair STR] [--json]", {kTokenizerFolder, kText, kPair, kJson}, cmd_tokenize},
      {"record", "run the model and write every layer's and head's attention to a recording file",
       "attnscope record --model DIR (--text STR [--pair STR] | --image FILE) --out FILE [--dtype f32|f16] [--stream] [--layers LIST] [--qkv] [--scores] [--logits]",
       {kModel, kText, kPair, kImage,
        {"out", true, "FILE", "recording to write (.safetensors; replaced atomically)"},
        {"dtype", true, "f32|f16", "precision of the stored attention (default f32); f16 also halves the memory the run needs"},
        {"stream", false, "", "write each layer to the file as soon as it is computed: the run holds one layer, not all (for long inputs)"},
        {"qkv", false, "", "also store each head's query, key and value vectors"},
        {"scores", false, "", "also store the pre-softmax scores Q·Kᵀ/√d"},
        {"logits", false, "", "also store the output logits"},
        {"layers", true, "LIST", "record only these layers, e.g. 0,5,10-11 (default: all); takes that share of the memory"},
        kTruncate, kForce},
       cmd_record},
      {"predict", "fill the first [MASK], predict the next token, or classify the text or image",
       "attnscope predict --model DIR (--text STR [--pair STR] | --image FILE) [--top K] [--json]",
       {kModel, kText, kPair, kImage, {"top", true, "K", "how many predictions to show (default 5)"}, kJson, kTruncate, kForce}, cmd_predict},
      {"generate", "write text after a prompt (greedy or sampled) and record the attention of every step",
       "attnscope generate --model DIR --text STR [--max-new-tokens N] [--greedy | --temperature T --top-k K --top-p P --seed S]\n"
       "                          [--repetition-penalty R] [--no-repeat-ngram-size N] [--no-rules]\n"
       "                          [--out FILE] [--dtype f32|f16] [--layers LIST] [--candidates K] [--json]",
       {kModel, {"text", true, "STR", "the prompt"},
        {"max-new-tokens", true, "N", "the most tokens to generate (default: generation_config.json's, else 20)"},
        {"greedy", false, "", "always take the most probable token (the default unless generation_config.json says do_sample)"},
        {"temperature", true, "T", "sample, dividing the logits by T (default: generation_config.json's, else 1)"},
        {"top-k", true, "K", "sample from the K most probable tokens only; 0 = all (default: generation_config.json's, else 50)"},
        {"top-p", true, "P", "sample from the fewest tokens whose probability reaches P (default: generation_config.json's, else 1)"},
        {"seed", true, "S", "seed of the sampling (default: a random one, printed)"},
        {"repetition-penalty", true, "R", "divide the logits of tokens already in the text by R (negative ones: multiply); 1 = off"},
        {"no-repeat-ngram-size", true, "N", "never repeat a sequence of N tokens; 0 = off"},
        {"no-rules", false, "",
         "apply none of the model's generation rules (generation_config.json's, else config.json's repetition penalty, "
         "n-grams, bad words, minimum lengths, forced BOS/EOS, suppressed tokens), which apply by default"},
        {"candidates", true, "K", "the most probable tokens kept per step (default 5)"},
        {"out", true, "FILE", "write the recording of the whole sequence (.safetensors)"},
        {"dtype", true, "f32|f16", "precision of the stored attention (default f32)"},
        {"layers", true, "LIST", "record only these layers, e.g. 0,5,10-11 (default: all)"},
        kJson, kForce},
       cmd_generate},
      {"ablate", "switch heads off, mean-ablate or patch them and see the prediction change, or sweep every head",
       "attnscope ablate --model DIR (--text STR | --image FILE) (--heads L.H,… | --sweep heads|layers)\n"
       "                        [--mode zero|mean|patch] [--clean STR] [--target TOKEN | --target-id N]\n"
       "                        [--contrast TOKEN | --contrast-id N] [--position P] [--top K] [--out FILE] [--json]",
       ablate_options(), cmd_ablate},
#ifdef ATTN_WITH_GUI
      {"export", "render a view to PNG, SVG or PDF, or write its numbers to CSV or NPY (headless)",
       "attnscope export (--recording FILE | --model DIR (--text STR | --image FILE))\n"
       "                        [--view model|heatmap|head|rollout|stats|overlay|overlay-heads|image-rollout|prediction|compare]\n"
       "                        [--recording-b FILE [--every-head]]   (compare: A beside B and A − B)\n"
       "                        [--layer L] [--head H|mean|max] [--query I|ROW,COL] [--colormap NAME] [--size WxH] [--dpi N]\n"
       "                        --out FILE.png|svg|pdf|csv|npy",
       export_options(), [](const Args& a) { return cmd_export(a, g_argc, g_argv); }},
#endif
  };
  return list;
}

}  // namespace

std::string commands_help() {
  std::string s = "Commands:\n";
  for (const auto& c : commands()) {
    std::string left = "  " + c.name;
    left.append(left.size() < 12 ? 12 - left.size() : 1, ' ');
    s += left + c.summary + "\n";
  }
  return s + "\nRun 'attnscope COMMAND --help' for a command's options.\n";
}

int run_command(int argc, char** argv) {
  if (argc < 2) return -1;
  g_argc = argc;
  g_argv = argv;
  const std::string name = argv[1];
  const auto& list = commands();
  const auto it = std::find_if(list.begin(), list.end(), [&](const Command& c) { return c.name == name; });
  if (it == list.end()) return -1;
  try {
    const Args args(argc, argv, 2, it->options);
    if (args.help()) {
      std::cout << "Usage: " << it->usage << "\n" << it->summary << ".\n\n" << format_options(it->options);
      return 0;
    }
    return it->run(args);
  } catch (const UsageError& e) {
    std::cerr << "attnscope " << name << ": " << e.what() << "\nTry 'attnscope " << name << " --help'.\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "attnscope " << name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "attnscope " << name << ": out of memory\n";
    return 1;
  }
}

}  // namespace attn::cli
