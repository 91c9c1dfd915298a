// The Llama-kind decoders' config.json (nn/llama.cpp): grouped heads, head_dim, which layers
// slide as each family's configuration class resolves it, rope scaling, soft caps and the
// errors of impossible configs; the rotary embedding's algebra; and the recording metadata
// that carries grouped heads and windows to the views.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <unistd.h>

#include "model/model_config.h"
#include "nn/rope.h"
#include "record/recording.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;
using nlohmann::json;

namespace {

json decoder(const std::string& model_type) {
  return {{"model_type", model_type}, {"architectures", {"XForCausalLM"}}, {"hidden_size", 64}, {"num_hidden_layers", 4},
          {"num_attention_heads", 8}, {"num_key_value_heads", 2},          {"intermediate_size", 128}, {"vocab_size", 100},
          {"max_position_embeddings", 256}};
}

std::string error_of(const json& j) {
  try {
    ModelConfig::from_json(j, "cfg/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(DecoderConfig, ReadsGroupedHeadsHeadDimAndTheLlamaDefaults) {
  json j = decoder("llama");
  j["head_dim"] = 32;  // 8 x 32 = 256 != hidden 64, as Qwen3 and Gemma do
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  j["rope_theta"] = 500000.0;
  const auto c = ModelConfig::from_json(j, "x");
  EXPECT_EQ(c.family, "llama");
  EXPECT_TRUE(c.is_causal());
  EXPECT_EQ(c.head, HeadKind::CausalLM);
  EXPECT_EQ(c.kv_heads(), 2);
  EXPECT_EQ(c.head_dim(), 32);
  EXPECT_TRUE(c.layer_windows.empty());
  EXPECT_EQ(c.activation, "silu");
  EXPECT_FALSE(c.decoder.tie_word_embeddings);
  EXPECT_FALSE(c.decoder.gemma);
  EXPECT_EQ(c.decoder.rope.type, "llama3");
  EXPECT_DOUBLE_EQ(c.decoder.rope.theta, 500000.0);
  EXPECT_EQ(c.decoder.rope.original_max_positions, 8192);
  EXPECT_EQ(c.decoder.attention_scale, 0.0f);  // 1/sqrt(head_dim)
}

TEST(DecoderConfig, EachFamilyChoosesItsSlidingLayers) {
  auto windows = [](json j) { return ModelConfig::from_json(j, "x").layer_windows; };
  json m = decoder("mistral");
  m["sliding_window"] = 16;
  EXPECT_EQ(windows(m), (std::vector<int>{16, 16, 16, 16}));
  m["sliding_window"] = nullptr;  // Mistral 7B v0.2 and later
  EXPECT_TRUE(windows(m).empty());

  json q = decoder("qwen2");
  q["sliding_window"] = 32;
  q["max_window_layers"] = 1;
  EXPECT_TRUE(windows(q).empty()) << "use_sliding_window defaults to false";
  q["use_sliding_window"] = true;
  EXPECT_EQ(windows(q), (std::vector<int>{0, 32, 32, 32})) << "the first max_window_layers layers are full";
  q["layer_types"] = {"sliding_attention", "full_attention", "full_attention", "sliding_attention"};
  EXPECT_EQ(windows(q), (std::vector<int>{32, 0, 0, 32})) << "layer_types wins";

  json g2 = decoder("gemma2");
  g2["sliding_window"] = 8;
  EXPECT_EQ(windows(g2), (std::vector<int>{8, 0, 8, 0})) << "Gemma 2: even layers slide";

  json g3 = decoder("gemma3_text");
  g3["num_hidden_layers"] = 7;
  g3["sliding_window"] = 4;
  EXPECT_EQ(windows(g3), (std::vector<int>{4, 4, 4, 4, 4, 0, 4})) << "pattern 6: every sixth layer is global";
  g3["sliding_window_pattern"] = 2;
  EXPECT_EQ(windows(g3), (std::vector<int>{4, 0, 4, 0, 4, 0, 4}));
}

TEST(DecoderConfig, GemmaScalesCapsAndTiesByDefault) {
  json g2 = decoder("gemma2");
  g2["query_pre_attn_scalar"] = 16;
  const auto c = ModelConfig::from_json(g2, "x");
  EXPECT_EQ(c.family, "gemma2");
  EXPECT_TRUE(c.decoder.gemma);
  EXPECT_TRUE(c.decoder.tie_word_embeddings);
  EXPECT_EQ(c.activation, "gelu_pytorch_tanh");
  EXPECT_FLOAT_EQ(c.decoder.attention_scale, 0.25f);
  EXPECT_FLOAT_EQ(c.attn_softcap, 50.0f);  // Gemma2Config's defaults
  EXPECT_FLOAT_EQ(c.decoder.final_softcap, 30.0f);
  g2["attn_logit_softcapping"] = nullptr;  // null switches a cap off
  g2["final_logit_softcapping"] = 5.5;
  const auto d = ModelConfig::from_json(g2, "x");
  EXPECT_EQ(d.attn_softcap, 0.0f);
  EXPECT_FLOAT_EQ(d.decoder.final_softcap, 5.5f);

  json g3 = decoder("gemma3_text");
  g3["attn_logit_softcapping"] = 50.0;  // present in some configs, ignored by Gemma 3's attention
  g3["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
  const auto e = ModelConfig::from_json(g3, "x");
  EXPECT_EQ(e.family, "gemma3");
  EXPECT_EQ(e.attn_softcap, 0.0f);
  EXPECT_TRUE(e.decoder.qk_norm);
  EXPECT_EQ(e.decoder.rope.type, "linear");
  EXPECT_DOUBLE_EQ(e.decoder.rope.theta, 1000000.0);
  EXPECT_EQ(e.decoder.rope_local.type, "default") << "sliding layers are never scaled";
  EXPECT_DOUBLE_EQ(e.decoder.rope_local.theta, 10000.0);
}

TEST(DecoderConfig, Gemma3MultimodalConfigsRunTheirTextPart) {
  const json j = {{"model_type", "gemma3"},
                  {"architectures", {"Gemma3ForConditionalGeneration"}},
                  {"text_config", {{"model_type", "gemma3_text"}, {"hidden_size", 2560}, {"intermediate_size", 10240},
                                   {"num_hidden_layers", 34}, {"sliding_window", 1024},
                                   {"rope_scaling", {{"rope_type", "linear"}, {"factor", 8.0}}}}},
                  {"vision_config", {{"model_type", "siglip_vision_model"}}}};
  const auto c = ModelConfig::from_json(j, "x");
  EXPECT_EQ(c.family, "gemma3");
  EXPECT_EQ(c.head, HeadKind::CausalLM);
  EXPECT_EQ(c.vocab_size, 262208);  // Gemma3TextConfig's defaults fill what HF leaves out
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.kv_heads(), 4);
  EXPECT_EQ(c.head_dim(), 256);
  EXPECT_EQ(c.window_of(5), 0);
  EXPECT_EQ(c.window_of(6), 1024);
}

TEST(DecoderConfig, ImpossibleConfigsAreTheFilesError) {
  const std::pair<std::function<void(json&)>, std::string> cases[] = {
      {[](json& j) { j["num_key_value_heads"] = 3; }, "num_attention_heads 8 is not a multiple of num_key_value_heads 3"},
      {[](json& j) { j["head_dim"] = 7; }, "head_dim"},
      {[](json& j) { j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}}; }, "rope type 'dynamic' is not supported"},
      {[](json& j) { j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}}; }, "original_max_position_embeddings"},
      {[](json& j) { j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 0.5}}; }, "factor must be at least 1"},
      {[](json& j) { j["rope_scaling"] = "linear"; }, "rope_scaling"},
      {[](json& j) { j["rope_theta"] = -5.0; }, "rope_theta"},
      {[](json& j) { j["partial_rotary_factor"] = 0.5; }, "partial_rotary_factor"},
      {[](json& j) { j["model_type"] = "mistral"; j["layer_types"] = {"full_attention"}; }, "layer_types must list"},
      {[](json& j) { j["model_type"] = "mistral"; j["layer_types"] = {"full_attention", "sliding_attention", "full_attention", "x"}; },
       "layer_types[3]"},
      {[](json& j) { j["model_type"] = "mistral"; j["layer_types"] = {"sliding_attention", "full_attention", "full_attention", "full_attention"}; },
       "layer 0 is a sliding-window layer but the config gives no sliding_window"},
      {[](json& j) { j["model_type"] = "gemma3"; }, "gemma3 needs a text_config"},
      {[](json& j) { j["num_key_value_heads"] = 1e40; }, "num_key_value_heads"},
      // The fuzzer's finding: 777 million layers spun in the sliding-window loop for seconds.
      {[](json& j) { j["model_type"] = "qwen3"; j["num_hidden_layers"] = 777072777; }, "num_hidden_layers"},
      {[](json& j) { j["num_hidden_layers"] = kMaxLayers + 1; }, "num_hidden_layers"},
      // Phi-3: a partial rotation must turn an even number of channels; LongRoPE needs a
      // factor per turned pair; no other scaling.
      {[](json& j) { j["model_type"] = "phi3"; j["partial_rotary_factor"] = 0.4; }, "must turn an even number of head_dim 8's channels (it turns 3)"},
      {[](json& j) { j["model_type"] = "phi3"; j["partial_rotary_factor"] = 0.0; }, "partial_rotary_factor"},
      {[](json& j) { j["model_type"] = "phi3"; j["rope_scaling"] = {{"type", "su"}, {"short_factor", {1, 2}}, {"long_factor", {1, 2, 3, 4}}}; },
       "short_factor and long_factor must hold 4 numbers each"},
      {[](json& j) { j["model_type"] = "phi3"; j["rope_scaling"] = {{"type", "longrope"}, {"long_factor", {1, 2, 3, 4}}}; }, "short_factor"},
      {[](json& j) { j["model_type"] = "phi3"; j["rope_scaling"] = {{"type", "longrope"}, {"short_factor", {1, 2, 3, -4}}, {"long_factor", {1, 2, 3, 4}}}; },
       "positive numbers"},
      {[](json& j) { j["model_type"] = "phi3"; j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}}; }, "phi3 takes default or longrope"},
  };
  for (const auto& [edit, want] : cases) {
    json j = decoder("llama");
    edit(j);
    const std::string msg = error_of(j);
    EXPECT_NE(msg.find("cfg/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(want), std::string::npos) << "want '" << want << "' in: " << msg;
  }
}

// Phi-3: fused projections, every layer sliding, partial rotation and LongRoPE as Phi3Config
// reads them (its "su" spelling; factor = max / original_max_position_embeddings).
TEST(DecoderConfig, Phi3ReadsPartialRotationAndLongRope) {
  json j = decoder("phi3");
  j["num_key_value_heads"] = 8;
  j["sliding_window"] = 2047;
  j["partial_rotary_factor"] = 0.75;  // head_dim 8: 6 channels turn, 3 pairs
  j["original_max_position_embeddings"] = 64;
  j["rope_scaling"] = {{"type", "su"}, {"short_factor", {1.0, 1.5, 2.0}}, {"long_factor", {1.0, 4.0, 16.0}}};
  const auto c = ModelConfig::from_json(j, "x");
  EXPECT_EQ(c.family, "phi3");
  EXPECT_TRUE(c.decoder.fused_projections);
  EXPECT_FLOAT_EQ(c.decoder.rms_norm_eps, 1e-5f);
  EXPECT_FALSE(c.decoder.tie_word_embeddings);
  EXPECT_EQ(c.layer_windows, (std::vector<int>{2047, 2047, 2047, 2047}));
  const RopeConfig& r = c.decoder.rope;
  EXPECT_EQ(r.type, "longrope");
  EXPECT_EQ(r.rotary_dim(c.head_dim()), 6);
  EXPECT_EQ(r.original_max_positions, 64);
  EXPECT_DOUBLE_EQ(r.factor, 256.0 / 64.0);

  // Short factors up to 64 tokens, long ones beyond; attention factor √(1 + ln 4 / ln 64).
  float af = 0;
  const auto short_freq = RopeTable::inverse_frequencies(r, c.head_dim(), c.max_positions, &af, 64);
  const auto long_freq = RopeTable::inverse_frequencies(r, c.head_dim(), c.max_positions, nullptr, 65);
  ASSERT_EQ(short_freq.size(), 3u);
  EXPECT_NEAR(af, std::sqrt(1.0 + std::log(4.0) / std::log(64.0)), 1e-6);
  const double short_factors[] = {1.0, 1.5, 2.0}, long_factors[] = {1.0, 4.0, 16.0};
  for (int i = 0; i < 3; ++i) {
    const double base = 1.0 / std::pow(10000.0, 2.0 * i / 6.0);
    EXPECT_NEAR(short_freq[size_t(i)], base / short_factors[i], 1e-6 * base);
    EXPECT_NEAR(long_freq[size_t(i)], base / long_factors[i], 1e-6 * base);
  }
  // Without a pretrained length of its own the config's max_position_embeddings is it (not phi3's 4096 default).
  j.erase("original_max_position_embeddings");
  EXPECT_EQ(ModelConfig::from_json(j, "x").decoder.rope.original_max_positions, 4096);
}

// A partial rotation turns the first channels of each head and passes the rest through.
TEST(Rope, PartialRotationLeavesTheLastChannels) {
  RopeConfig rope;
  rope.partial_rotary_factor = 0.5;  // head_dim 8: channels 0..3 turn (pairs 0-2, 1-3)
  const RopeTable table(rope, 8, 16, 3);
  RowMatrix x = RowMatrix::Constant(3, 16, 1.0f);  // two heads
  table.apply(x);
  for (int h = 0; h < 2; ++h) {
    EXPECT_FLOAT_EQ(x(2, 8 * h + 0), std::cos(2.0f) - std::sin(2.0f));  // pair 0 turns by 2 · θ^0
    EXPECT_FLOAT_EQ(x(2, 8 * h + 2), std::cos(2.0f) + std::sin(2.0f));
    for (int c = 4; c < 8; ++c) EXPECT_EQ(x(2, 8 * h + c), 1.0f) << c;
  }
  EXPECT_EQ(RopeTable::inverse_frequencies(rope, 8, 16).size(), 2u);
}

// RoPE's defining property: after rotation, q_i · k_j depends only on i - j; and the rotation
// keeps each vector's length (attention_factor 1).
TEST(Rope, DotProductsDependOnlyOnTheOffsetAndLengthsStay) {
  for (const char* type : {"default", "linear", "llama3", "yarn"}) {
    RopeConfig rope;
    rope.type = type;
    rope.factor = 4.0;
    rope.original_max_positions = 16;
    const int d = 16, N = 12;
    std::mt19937 gen(3);
    std::normal_distribution<float> g;
    RowMatrix q(1, d), k(1, d);
    for (int c = 0; c < d; ++c) q(0, c) = g(gen), k(0, c) = g(gen);
    RowMatrix qs = q.replicate(N, 1), ks = k.replicate(N, 1);  // the same vectors at every position
    const RopeTable table(rope, d, 64, N);
    table.apply(qs);
    table.apply(ks);
    float af = 1.0f;
    RopeTable::inverse_frequencies(rope, d, 64, &af);
    for (int i = 0; i < N; ++i) EXPECT_NEAR(qs.row(i).norm(), af * q.norm(), 1e-4f) << type;
    for (int off = 0; off < 4; ++off)
      for (int i = off + 1; i < N; ++i)
        EXPECT_NEAR(qs.row(i).dot(ks.row(i - off)), qs.row(off).dot(ks.row(0)), 1e-3f) << type << " offset " << off;
    EXPECT_NEAR(qs.row(0).dot(ks.row(0)), af * af * q.row(0).dot(k.row(0)), 1e-4f) << "position 0 is not rotated";
  }
}

TEST(Rope, PairsChannelWithChannelPlusHalf) {
  // One position, one frequency: channel 0 turns with channel d/2 (HF's rotate_half), not 1.
  RopeConfig rope;
  const RopeTable table(rope, 4, 8, 2);
  RowMatrix x(2, 4);
  x << 1, 0, 0, 0,  //
      1, 0, 0, 0;
  table.apply(x);
  EXPECT_FLOAT_EQ(x(1, 0), std::cos(1.0f));
  EXPECT_FLOAT_EQ(x(1, 2), std::sin(1.0f));
  EXPECT_FLOAT_EQ(x(1, 1), 0.0f);
}

TEST(Recording, KeepsGroupedHeadsAndWindows) {
  RecordingMeta meta;
  meta.num_layers = 2, meta.num_heads = 4, meta.num_tokens = 3, meta.head_dim = 2;
  meta.tokens = {"a", "b", "c"};
  meta.num_kv_heads = 2;
  meta.windows = {2, 0};
  auto rec = AttentionRecording::create(meta, false, false);
  const auto dir = std::filesystem::temp_directory_path() / ("attn_decoder_rec_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  rec->save(dir / "r.safetensors");
  const auto back = AttentionRecording::open(dir / "r.safetensors");
  EXPECT_EQ(back->meta().num_kv_heads, 2);
  EXPECT_EQ(back->meta().kv_group(3), 1);
  EXPECT_EQ(back->meta().windows, (std::vector<int>{2, 0}));
  EXPECT_EQ(back->meta().window(0), 2);
  EXPECT_FALSE(back->meta().extra.count("num_key_value_heads"));

  for (const auto& [key, value, want] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"num_key_value_heads", "3", "does not divide"},
                                                                      {"sliding_windows", "[1]", "must list 2 window sizes"},
                                                                      {"sliding_windows", "[1e50, 0]", "must list 2"}}) {
    RecordingMeta bad = meta;
    bad.num_kv_heads = 0, bad.windows.clear();
    bad.extra[key] = value;
    auto r2 = AttentionRecording::create(bad, false, false);
    r2->save(dir / "bad.safetensors");
    try {
      AttentionRecording::open(dir / "bad.safetensors");
      ADD_FAILURE() << key << "=" << value << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}
