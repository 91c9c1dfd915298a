// Attention taken apart step by step (analysis/attention_steps.h): hand-checked toy numbers,
// and live numbers recomputed from a fixture model's recorded Q/K/V that must equal the
// engine's scores, attention and context.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "analysis/attention_steps.h"
#include "nn/model.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;
using Part = AttentionRecording::Part;

namespace {

// The worked example, d = 4 so √d = 2, three tokens:
//   q  = [1 0 1 0]
//   k0 = [1 1 0 0]   q·k0 = 1·1 + 0·1 + 1·0 + 0·0 = 1
//   k1 = [2 0 2 0]   q·k1 = 1·2 + 0   + 1·2 + 0   = 4
//   k2 = [0 1 0 1]   q·k2 = 0   + 0   + 0   + 0   = 0
//   v0 = [1 0], v1 = [0 1], v2 = [2 2]
struct Worked {
  Vector q{{1, 0, 1, 0}};
  RowMatrix K{{1, 1, 0, 0}, {2, 0, 2, 0}, {0, 1, 0, 1}};
  RowMatrix V{{1, 0}, {0, 1}, {2, 2}};
};

void expect_vec(const Vector& got, std::initializer_list<double> want, double tol, const char* what) {
  ASSERT_EQ(got.size(), Eigen::Index(want.size())) << what;
  Eigen::Index j = 0;
  for (double w : want) {
    if (std::isinf(w)) {
      EXPECT_EQ(got[j], float(w)) << what << " [" << j << "]";
    } else {
      EXPECT_NEAR(got[j], w, tol) << what << " [" << j << "]";
    }
    ++j;
  }
}

}  // namespace

TEST(AttentionSteps, WorkedExampleByHand) {
  Worked w;
  const QuerySteps s = query_steps(w.q, w.K, w.V, 2);
  EXPECT_FLOAT_EQ(s.factor, 0.5f);                               // 1/√4
  expect_vec(s.dots, {1, 4, 0}, 0, "dots");                       // exact integers
  expect_vec(s.scaled, {0.5, 2, 0}, 0, "scaled");                 // ÷ 2
  expect_vec(s.masked, {0.5, 2, 0}, 0, "masked");                 // no mask
  // softmax: e^0.5 = 1.648721, e^2 = 7.389056, e^0 = 1; sum = 10.037777
  //   p = [1.648721 / 10.037777, 7.389056 / 10.037777, 1 / 10.037777]
  expect_vec(s.probs, {0.164252, 0.736125, 0.099624}, 2e-6, "probs");
  // output = 0.164252·[1 0] + 0.736125·[0 1] + 0.099624·[2 2]
  //        = [0.164252 + 0.199247, 0.736125 + 0.199247] = [0.363499, 0.935372]
  expect_vec(s.output, {0.363499, 0.935372}, 2e-6, "output");
}

TEST(AttentionSteps, CausalMaskHidesLaterKeys) {
  Worked w;
  // Query at position 1 under a causal mask: key 2 is in its future.
  const QuerySteps s = query_steps(w.q, w.K, w.V, 1, {.scale = true, .causal = true});
  expect_vec(s.scaled, {0.5, 2, 0}, 0, "scaled");  // scaling is unchanged by the mask
  expect_vec(s.masked, {0.5, 2, -INFINITY}, 0, "masked");
  // softmax over [0.5, 2]: p0 = 1 / (1 + e^1.5) = 1 / 5.481689 = 0.182426, p1 = 0.817574
  expect_vec(s.probs, {0.182426, 0.817574, 0}, 2e-6, "probs");
  EXPECT_EQ(s.probs[2], 0.0f);  // exactly zero, not tiny
  // output = 0.182426·[1 0] + 0.817574·[0 1]
  expect_vec(s.output, {0.182426, 0.817574}, 2e-6, "output");
  // The query at position 0 sees only key 0: all its attention goes there.
  const QuerySteps first = query_steps(w.q, w.K, w.V, 0, {.scale = true, .causal = true});
  expect_vec(first.probs, {1, 0, 0}, 0, "first probs");
  expect_vec(first.output, {1, 0}, 0, "first output");
}

TEST(AttentionSteps, ScalingAndTemperature) {
  Worked w;
  // Without scaling the scores are the raw dots [1, 4, 0]: e^1 = 2.718282, e^4 = 54.598150,
  // e^0 = 1, sum 58.316432 → p = [0.046613, 0.936240, 0.017148]: sharper than with ÷√d.
  const QuerySteps raw = query_steps(w.q, w.K, w.V, 2, {.scale = false});
  EXPECT_FLOAT_EQ(raw.factor, 1.0f);
  expect_vec(raw.scaled, {1, 4, 0}, 0, "raw scaled");
  expect_vec(raw.probs, {0.046613, 0.936240, 0.017148}, 2e-6, "raw probs");
  // Temperature 0.5 with scaling: [0.5, 2, 0] / 0.5 = [1, 4, 0], the same numbers.
  const QuerySteps sharp = query_steps(w.q, w.K, w.V, 2, {.scale = true, .causal = false, .temperature = 0.5f});
  EXPECT_FLOAT_EQ(sharp.factor, 1.0f);
  EXPECT_TRUE(sharp.probs.isApprox(raw.probs, 1e-6f));
  // A very high temperature flattens towards uniform (1/3 each).
  const QuerySteps flat = query_steps(w.q, w.K, w.V, 2, {.temperature = 1000.0f});
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(flat.probs[j], 1.0 / 3.0, 1e-3);
}

TEST(AttentionSteps, EqualScoresShareEqually) {
  // q = [1 1], k0 = [1 0], k1 = [0 1]: both dots are 1, so p = [1/2, 1/2] whatever the
  // scaling, and the output is the mean of the values: ([2 4] + [6 0]) / 2 = [4 2].
  const Vector q{{1, 1}};
  const RowMatrix K{{1, 0}, {0, 1}}, V{{2, 4}, {6, 0}};
  const QuerySteps s = query_steps(q, K, V, 1);
  expect_vec(s.dots, {1, 1}, 0, "dots");
  EXPECT_NEAR(s.scaled[0], 1 / std::sqrt(2.0), 1e-7);
  expect_vec(s.probs, {0.5, 0.5}, 0, "probs");
  expect_vec(s.output, {4, 2}, 0, "output");
}

TEST(AttentionSteps, WholeHeadEqualsEachQuery) {
  // Q: three queries, the worked q among them; causal: query i sees keys 0..i.
  Worked w;
  const RowMatrix Q{{1, 0, 0, 0}, {0, 0, 1, 1}, {1, 0, 1, 0}};
  const HeadSteps h = head_steps(Q, w.K, w.V, {.scale = true, .causal = true});
  for (int i = 0; i < 3; ++i) {
    const QuerySteps s = query_steps(Q.row(i).transpose(), w.K, w.V, i, {.scale = true, .causal = true});
    EXPECT_TRUE(h.probs.row(i).transpose().isApprox(s.probs)) << i;
    EXPECT_TRUE(h.output.row(i).transpose().isApprox(s.output)) << i;
    EXPECT_NEAR(h.probs.row(i).sum(), 1.0f, 1e-6f);
    for (int j = i + 1; j < 3; ++j) EXPECT_EQ(h.probs(i, j), 0.0f) << i << "," << j;
  }
  // Row 1: q = [0 0 1 1] · k0 = 0, · k1 = 2, · k2 = 1 → scaled [0, 1, 0.5], key 2 masked.
  EXPECT_FLOAT_EQ(h.scaled(1, 1), 1.0f);
  EXPECT_EQ(h.masked(1, 2), kMasked);
  // Row 2 is the worked example, no key masked.
  EXPECT_NEAR(h.probs(2, 1), 0.736125, 2e-6);
}

TEST(AttentionSteps, RejectsBadShapes) {
  Worked w;
  EXPECT_THROW(query_steps(Vector::Ones(3), w.K, w.V, 0), Error);       // d mismatch
  EXPECT_THROW(query_steps(w.q, w.K, w.V.topRows(2), 0), Error);        // N mismatch
  EXPECT_THROW(query_steps(w.q, w.K, w.V, 3), Error);                   // query outside
  EXPECT_THROW(query_steps(w.q, w.K, w.V, 0, {.temperature = 0}), Error);
  EXPECT_THROW(head_steps(RowMatrix::Ones(2, 4), w.K, w.V, {.causal = true}), Error);
}

namespace {

// Every (layer, head, query) of a real forward pass, recomputed from the recorded Q/K/V.
void expect_live_equals_engine(const char* fixture, const char* text) {
  const auto model = Model::load(test::fixtures_dir() / "models" / fixture);
  RunOptions opt;
  opt.record_qkv = opt.record_scores = true;
  const auto rec = model->forward(model->encode(text), opt).recording;
  ASSERT_TRUE(rec->has_qkv() && rec->has_scores());
  const int N = rec->num_tokens();
  ASSERT_GE(N, 4);
  for (int l = 0; l < rec->num_layers(); ++l)
    for (int h = 0; h < rec->num_heads(); ++h) {
      const StepOptions so = step_options_for(rec->meta(), l);  // scale, soft cap, mask, window
      const ConstMatrixMap Q = rec->matrix(Part::Query, l, h), K = rec->matrix(Part::Key, l, h), V = rec->matrix(Part::Value, l, h);
      const ConstMatrixMap scores = rec->matrix(Part::Scores, l, h), attention = rec->head(l, h);
      ASSERT_EQ(Q.cols(), rec->meta().head_dim);
      // The context the model computed for this head: attention × values (N, d).
      const RowMatrix context = attention * V;
      for (int i = 0; i < N; ++i) {
        const QuerySteps s = query_steps(Q.row(i).transpose(), K, V, i, so);
        for (int j = 0; j < N; ++j) {
          // Scores are recorded before the mask: compare the scaled dots everywhere. (The engine
          // folds the scale into q before its float32 GEMM: 2e-6 relative covers the rounding.)
          EXPECT_NEAR(s.scaled[j], scores(i, j), 2e-6 * std::max(1.0f, std::abs(scores(i, j)))) << l << "," << h << "," << i << "," << j;
          EXPECT_NEAR(s.uncapped[j], s.dots[j] * s.factor, 1e-6 * std::max(1.0f, std::abs(s.uncapped[j])));
          EXPECT_NEAR(s.probs[j], attention(i, j), 1e-6) << l << "," << h << "," << i << "," << j;
          if ((rec->meta().causal && j > i) || (so.window > 0 && j <= i - so.window)) {
            EXPECT_EQ(s.probs[j], 0.0f);
          }
        }
        for (int c = 0; c < V.cols(); ++c) EXPECT_NEAR(s.output[c], context(i, c), 1e-5) << l << "," << h << "," << i << "," << c;
      }
    }
}

}  // namespace

TEST(AttentionSteps, LiveNumbersEqualTheGpt2Recording) {
  expect_live_equals_engine("gpt2", "The quick brown fox jumps over the lazy dog.");
}

// Gemma 2: its own scale (query_pre_attn_scalar), the soft cap and sliding windows on even
// layers; Qwen2: a window from the second layer on; Llama: grouped key/value heads.
TEST(AttentionSteps, LiveNumbersEqualTheLlamaKindRecordings) {
  const std::string text = "The quick brown fox jumps over the lazy dog and the river runs to the sea.";
  for (const char* fixture : {"gemma2_softcap", "qwen2_window_yarn", "llama_gqa", "gemma3_text"}) {
    SCOPED_TRACE(fixture);
    expect_live_equals_engine(fixture, text.c_str());
  }
  const auto gemma = Model::load(test::fixtures_dir() / "models" / "gemma2_softcap");
  RunOptions opt;
  opt.record_qkv = opt.record_scores = true;
  const auto rec = gemma->forward(gemma->encode(text), opt).recording;
  const StepOptions so = step_options_for(rec->meta(), 0);
  EXPECT_EQ(so.window, 4);
  EXPECT_FLOAT_EQ(so.softcap, 3.0f);
  EXPECT_FLOAT_EQ(so.scale_factor, 1.0f / std::sqrt(8.0f));
  EXPECT_EQ(step_options_for(rec->meta(), 1).window, 0);
}

TEST(AttentionSteps, LiveNumbersEqualTheBertRecording) {
  expect_live_equals_engine("bert_mlm", "the cat sat on the mat [SEP] a dog ran");
}

namespace {

// A rotary fixture's Q/K/V recording.
std::shared_ptr<AttentionRecording> rotary_recording(const char* fixture) {
  const auto model = Model::load(test::fixtures_dir() / "models" / fixture);
  RunOptions opt;
  opt.record_qkv = true;
  return model->forward(model->encode("The quick brown fox jumps over the lazy dog and the river runs to the sea."), opt).recording;
}

// Every recorded query and key redone from its raw projection (q/k norm, then the rotation)
// equals what the engine's attention used.
void expect_rotary_equals_engine(const AttentionRecording& rec) {
  ASSERT_TRUE(rec.has_raw_qk());
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < rec.num_heads(); ++h)
      for (bool key : {false, true}) {
        const ConstMatrixMap raw = rec.matrix(key ? Part::KeyRaw : Part::QueryRaw, l, h);
        const ConstMatrixMap used = rec.matrix(key ? Part::Key : Part::Query, l, h);
        for (int i = 0; i < rec.num_tokens(); ++i) {
          const RotarySteps s = rotary_steps(rec.meta(), l, key, raw.row(i).transpose(), i);
          ASSERT_EQ(s.rotated.size(), used.cols());
          for (int c = 0; c < used.cols(); ++c)
            ASSERT_NEAR(s.rotated[c], used(i, c), 2e-6 * std::max(1.0f, std::abs(used(i, c))))
                << (key ? "key" : "query") << " layer " << l << " head " << h << " token " << i << " channel " << c;
        }
      }
}

}  // namespace

// Qwen3 and Gemma 3 norm q and k per head (Gemma with 1 + w, and its sliding layers turn by
// their own frequencies); Qwen2's yarn scales cos and sin; Llama and Mistral share key/value
// heads (BF16 and F16 weights).
TEST(AttentionSteps, RotaryStepsEqualTheEngine) {
  for (const char* fixture : {"qwen3_qknorm", "gemma3_text", "qwen2_window_yarn", "llama_gqa", "llama_mqa_bf16", "gemma2_softcap",
                              "mistral_sharded_f16", "phi3_longrope"}) {
    SCOPED_TRACE(fixture);
    const auto rec = rotary_recording(fixture);
    expect_rotary_equals_engine(*rec);
  }
}

TEST(AttentionSteps, RotaryMetadataSaysWhatEachFamilyDoes) {
  // Phi-3 turns 12 of 16 channels by LongRoPE's long factors (17 tokens > 14) and scales them.
  const auto phi3 = rotary_recording("phi3_longrope");
  const RotaryMeta& p3 = phi3->meta().rotary;
  EXPECT_EQ(int(p3.inv_freq.size()), 6);
  EXPECT_NEAR(p3.inv_freq[1], 1.0 / (1.5 * std::pow(10000.0, 2.0 / 12.0)), 1e-7);
  EXPECT_NEAR(p3.attention_factor, std::sqrt(1.0 + std::log(4.0) / std::log(14.0)), 1e-6);

  const auto qwen3 = rotary_recording("qwen3_qknorm");
  const RotaryMeta& q3 = qwen3->meta().rotary;
  const int d = qwen3->meta().head_dim;
  EXPECT_EQ(int(q3.inv_freq.size()), d / 2);
  EXPECT_FLOAT_EQ(q3.inv_freq[0], 1.0f);  // θ^0
  ASSERT_EQ(int(q3.q_norm.size()), qwen3->num_layers());
  EXPECT_EQ(int(q3.k_norm[0].size()), d);
  EXPECT_FALSE(q3.norm_plus_one);
  EXPECT_GT(q3.norm_eps, 0.0f);
  EXPECT_TRUE(q3.local_inv_freq.empty());

  const auto gemma3 = rotary_recording("gemma3_text");
  const RotaryMeta& g3 = gemma3->meta().rotary;
  EXPECT_TRUE(g3.norm_plus_one);
  ASSERT_FALSE(g3.local_inv_freq.empty());  // rope_local_base_freq differs from rope_theta
  EXPECT_NE(g3.local_inv_freq.back(), g3.inv_freq.back());

  const auto yarn = rotary_recording("qwen2_window_yarn");
  EXPECT_GT(yarn->meta().rotary.attention_factor, 1.0f);  // yarn's 0.1·ln(factor) + 1
  EXPECT_TRUE(yarn->meta().rotary.q_norm.empty());

  // Heads of one key/value group used the same keys, raw and turned: their group's.
  const auto llama = rotary_recording("llama_gqa");
  const RecordingMeta& m = llama->meta();
  ASSERT_GT(m.num_kv_heads, 0);
  ASSERT_LT(m.num_kv_heads, m.num_heads);
  for (int h = 1; h < m.num_heads; ++h)
    if (m.kv_group(h) == m.kv_group(h - 1)) {
      for (Part p : {Part::Key, Part::KeyRaw, Part::Value}) EXPECT_TRUE(llama->matrix(p, 0, h) == llama->matrix(p, 0, h - 1)) << h;
    }
  EXPECT_FALSE(llama->matrix(Part::QueryRaw, 0, 0) == llama->matrix(Part::QueryRaw, 0, 1));

  // BERT and GPT-2 have no rotation: no raw parts, and rotary_steps says why.
  const auto gpt2 = rotary_recording("gpt2");
  EXPECT_TRUE(gpt2->meta().rotary.empty());
  EXPECT_FALSE(gpt2->has_raw_qk());
  EXPECT_THROW(rotary_steps(gpt2->meta(), 0, false, Vector::Zero(gpt2->meta().head_dim), 0), Error);
}

TEST(AttentionSteps, RotaryStepsSurviveSavingTheRecording) {
  const auto rec = rotary_recording("gemma3_text");
  const auto path = std::filesystem::temp_directory_path() / ("attn_rotary_" + std::to_string(::getpid()) + ".safetensors");
  rec->save(path);
  const auto back = AttentionRecording::open(path);
  EXPECT_EQ(back->meta().rotary.inv_freq, rec->meta().rotary.inv_freq);  // exact: JSON keeps every float
  EXPECT_EQ(back->meta().rotary.local_inv_freq, rec->meta().rotary.local_inv_freq);
  EXPECT_EQ(back->meta().rotary.q_norm, rec->meta().rotary.q_norm);
  EXPECT_EQ(back->meta().rotary.norm_eps, rec->meta().rotary.norm_eps);
  EXPECT_TRUE(back->meta().rotary.norm_plus_one);
  expect_rotary_equals_engine(*back);
  // Raw projections without the settings that turn them are a lying file.
  {
    const auto file = SafetensorsFile::open(path);
    std::vector<std::vector<float>> keep;
    std::vector<TensorToWrite> tensors;
    for (const auto& t : file->tensors()) {
      keep.push_back(file->to_f32(t));
      tensors.push_back({t.name, DType::F32, t.shape, std::as_bytes(std::span(keep.back()))});
    }
    auto md = file->metadata();
    md.erase("rotary");
    const auto bad = path.string() + ".bad";
    write_safetensors(bad, tensors, md);
    try {
      AttentionRecording::open(bad);
      ADD_FAILURE() << "opened raw projections without rotary settings";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(".bad: the recording holds raw query/key projections but no 'rotary' metadata"), std::string::npos)
          << e.what();
    }
    std::filesystem::remove(bad);
  }
  std::filesystem::remove(path);
  // Only the recorded layers' gains are kept.
  const auto model = Model::load(test::fixtures_dir() / "models" / "gemma3_text");
  RunOptions opt;
  opt.record_qkv = true;
  opt.layers = {1};
  const auto one = model->forward(model->encode("a b c d"), opt).recording;
  ASSERT_EQ(one->meta().rotary.q_norm.size(), 1u);
  EXPECT_EQ(one->meta().rotary.q_norm[0], rec->meta().rotary.q_norm[1]);
  expect_rotary_equals_engine(*one);
}
