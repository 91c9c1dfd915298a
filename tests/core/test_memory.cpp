#include <gtest/gtest.h>

#include <cstdlib>

#include <filesystem>
#include <unistd.h>

#include "kernels/gemm.h"
#include "nn/model.h"
#include "test_support.h"
#include "util/error.h"
#include "util/half.h"
#include "util/memory.h"

using namespace attn;

TEST(Memory, EstimatesTheRecordingExactly) {
  // GPT-2 small at 4,096 tokens: 12 × 12 × 4096² floats.
  const auto e = estimate_run_memory({.layers = 12, .heads = 12, .hidden = 768, .intermediate = 3072, .tokens = 4096, .logits_rows = 1,
                                      .vocab = 50257});
  EXPECT_EQ(e.recording, 12ull * 12 * 4096 * 4096 * 4);
  const auto q = estimate_run_memory({.layers = 2, .heads = 3, .hidden = 48, .intermediate = 96, .tokens = 10, .vocab = 100,
                                      .with_qkv = true, .with_scores = true, .threads = 2});
  EXPECT_EQ(q.recording, 2ull * 3 * 10 * 10 * 4 * 2 + 3ull * 2 * 3 * 10 * 16 * 4);
  EXPECT_EQ(q.working, 10ull * 4 * (4 * 48 + 2 * 48 + 2 * 48 + 2 * 96) + 2ull * 10 * 10 * 4);
  EXPECT_EQ(q.total(), q.recording + q.working);
}

// Llama 3.2 1B: 16 layers, 32 query heads over 8 key/value heads of 64, hidden 2048, FFN 8192.
// Q/K/V of a rotary model come with the raw q/k projections (five (H, N, d) parts a layer);
// K and V working buffers are a quarter of Q's.
TEST(Memory, KnowsGroupedHeadsAndRawProjections) {
  RunShape s{.layers = 16, .heads = 32, .kv_heads = 8, .head_dim = 64, .hidden = 2048, .intermediate = 8192, .tokens = 2048,
             .logits_rows = 1, .vocab = 128256, .threads = 2};
  const uint64_t attention = 16ull * 32 * 2048 * 2048 * 4;  // 8 GiB
  EXPECT_EQ(estimate_run_memory(s).recording, attention);
  EXPECT_EQ(estimate_run_memory(s).working,
            2048ull * 4 * (4 * 2048 + 2 * 32 * 64 + 2 * 8 * 64 + 2 * 8192) + 2ull * 2048 * 2048 * 4 + 128256ull * 4);
  s.with_qkv = true;
  EXPECT_EQ(estimate_run_memory(s).recording, attention + 3ull * 16 * 32 * 2048 * 64 * 4);
  s.with_raw_qk = true;
  EXPECT_EQ(estimate_run_memory(s).recording, attention + 5ull * 16 * 32 * 2048 * 64 * 4);
  // A head_dim unlike hidden / heads (Qwen3 0.6B: 16 × 128 over hidden 1024) counts its own Q.
  const RunShape qwen{.layers = 1, .heads = 16, .kv_heads = 8, .head_dim = 128, .hidden = 1024, .tokens = 100};
  EXPECT_EQ(estimate_run_memory(qwen).working, 100ull * 4 * (4 * 1024 + 2 * 16 * 128 + 2 * 8 * 128) + 100ull * 100 * 4);
}

// The weights are mapped, not counted against the budget, but a run must fit beside them.
TEST(Memory, WeightsMustFitBesideTheRun) {
  MemoryEstimate e;
  e.recording = 6ull << 30;
  e.working = 1ull << 30;
  e.weights = 15ull << 30;
  EXPECT_TRUE(memory_fits(e, 8ull << 30, 0));           // physical memory unknown
  EXPECT_TRUE(memory_fits(e, 8ull << 30, 24ull << 30));  // 22 GiB of 24
  EXPECT_FALSE(memory_fits(e, 8ull << 30, 20ull << 30));
  EXPECT_FALSE(memory_fits(e, 6ull << 30, 24ull << 30));  // above the budget
  EXPECT_EQ(e.total(), 7ull << 30);
}

// A rotary fixture's estimate: five Q/K/V parts, and its weights as stored (F32: 4 bytes a
// parameter; BF16 2, plus the F32 copies of its norm vectors).
TEST(Memory, ModelEstimateCountsRawProjectionsAndWeights) {
  const auto qwen3 = Model::load(test::fixtures_dir() / "models" / "qwen3_qknorm");
  const ModelConfig& c = qwen3->config();
  RunOptions plain, qkv;
  qkv.record_qkv = true;
  const uint64_t parts = uint64_t(c.num_layers) * c.num_heads * 10 * c.head_dim() * 4;
  EXPECT_EQ(qwen3->estimate_memory(10, qkv).recording - qwen3->estimate_memory(10, plain).recording, 5 * parts);
  const auto f32 = Model::load(test::fixtures_dir() / "models" / "llama_gqa");
  uint64_t packed = 0;  // the projections' copies packed for the GEMM kernel
  const auto f32_file = SafetensorsFile::open(test::fixtures_dir() / "models" / "llama_gqa" / "model.safetensors");
  for (const auto& t : f32_file->tensors())
    if (t.name.ends_with("_proj.weight"))
      packed += (kernels::PackedMatrix::storage_floats(t.shape[0], t.shape[1]) + 15) / 16 * 16 * 4;
  ASSERT_GT(packed, 0u);
  EXPECT_EQ(f32->estimate_memory(10, plain).weights, uint64_t(f32->parameter_count()) * 4 + packed);
  const auto bf16 = Model::load(test::fixtures_dir() / "models" / "llama_mqa_bf16");
  uint64_t vectors = 0;  // norms and biases, read as F32 copies
  const auto file = SafetensorsFile::open(test::fixtures_dir() / "models" / "llama_mqa_bf16" / "model.safetensors");
  for (const auto& t : file->tensors())
    if (t.shape.size() == 1) vectors += uint64_t(t.numel());
  ASSERT_GT(vectors, 0u);
  EXPECT_EQ(bf16->estimate_memory(10, plain).weights, uint64_t(bf16->parameter_count()) * 2 + vectors * 4);
  const auto gpt2 = Model::load(test::fixtures_dir() / "models" / "gpt2");
  const uint64_t gpt2_parts = uint64_t(gpt2->config().num_layers) * gpt2->config().num_heads * 10 * gpt2->config().head_dim() * 4;
  EXPECT_EQ(gpt2->estimate_memory(10, qkv).recording - gpt2->estimate_memory(10, plain).recording, 3 * gpt2_parts);
}

TEST(Memory, ParsesAndFormatsSizes) {
  EXPECT_EQ(parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("6G"), 6ull << 30);
  EXPECT_EQ(parse_byte_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("1000"), 1000ull);
  for (const char* bad : {"", "G", "-1G", "abc", "12X", "nan", "1e30G"}) EXPECT_THROW(parse_byte_size(bad), Error) << bad;
  EXPECT_EQ(format_bytes(512), "512 bytes");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
  EXPECT_EQ(format_bytes(300ull << 20), "300 MiB");
}

TEST(Memory, BudgetFollowsTheEnvironmentOrThePhysicalMemory) {
  ::setenv("ATTNSCOPE_MEMORY_BUDGET", "3G", 1);
  EXPECT_EQ(memory_budget(), 3ull << 30);
  ::setenv("ATTNSCOPE_MEMORY_BUDGET", "lots", 1);
  try {
    memory_budget();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ATTNSCOPE_MEMORY_BUDGET"), std::string::npos);
  }
  ::unsetenv("ATTNSCOPE_MEMORY_BUDGET");
  const uint64_t physical = physical_memory_bytes();
  ASSERT_GT(physical, 0u);
  EXPECT_LE(memory_budget(), physical / 2);
  EXPECT_GT(memory_budget(), 0u);
}

// Recording a subset of layers: the same numbers as a full run for those layers, a share of
// the memory, the model's layer numbers kept in the file; the GUI's proposal fits the budget.
TEST(LayerSubset, RecordsOnlyTheChosenLayersExactly) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2_sharded");  // 3 layers
  const Encoding enc = m->encode("a short text to record, layer by layer");
  RunOptions all;
  all.all_logits = true;
  const ForwardResult full = m->forward(enc, all);
  RunOptions some = all;
  some.layers = {0, 2};
  some.record_qkv = true;
  const ForwardResult part = m->forward(enc, some);
  ASSERT_EQ(part.recording->num_layers(), 2);
  EXPECT_EQ(part.recording->meta().model_layers, (std::vector<int>{0, 2}));
  EXPECT_EQ(part.recording->meta().model_layer(1), 2);
  EXPECT_EQ(full.recording->meta().model_layer(1), 1);
  for (int h = 0; h < m->config().num_heads; ++h) {
    EXPECT_EQ(part.recording->head(0, h), full.recording->head(0, h)) << h;
    EXPECT_EQ(part.recording->head(1, h), full.recording->head(2, h)) << h;
  }
  EXPECT_EQ(part.logits, full.logits);  // every layer still runs
  // A third of the attention memory is saved, and the file says which layers it holds.
  RunOptions one = all;
  one.layers = {1};
  EXPECT_EQ(m->estimate_memory(enc.size(), one).recording * 3, m->estimate_memory(enc.size(), all).recording);
  const auto path = std::filesystem::temp_directory_path() / ("attn_layers_" + std::to_string(::getpid()) + ".safetensors");
  part.recording->save(path);
  const auto back = AttentionRecording::open(path);
  EXPECT_EQ(back->meta().model_layers, (std::vector<int>{0, 2}));
  EXPECT_EQ(back->head(1, 0), part.recording->head(1, 0));
  std::filesystem::remove(path);
  // Layers outside the model, repeated or out of order are refused.
  for (const std::vector<int>& bad : {std::vector<int>{3}, {-1}, {1, 1}, {2, 0}}) {
    RunOptions o;
    o.layers = bad;
    EXPECT_THROW(m->forward(enc, o), Error);
  }
}

TEST(LayerSubset, TheProposalIsTheMostLayersWithinTheBudget) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2_sharded");
  const int N = 40;
  RunOptions o;
  const uint64_t full = m->estimate_memory(N, o).total();
  EXPECT_TRUE(m->layers_that_fit(N, o, full).empty());  // everything fits
  RunOptions two;
  two.layers = {0, 2};
  const uint64_t two_bytes = m->estimate_memory(N, two).total();
  EXPECT_EQ(m->layers_that_fit(N, o, two_bytes), (std::vector<int>{0, 2}));  // first and last
  EXPECT_EQ(m->layers_that_fit(N, o, two_bytes - 1), (std::vector<int>{2}));
  EXPECT_TRUE(m->layers_that_fit(N, o, 1000).empty());  // not even one layer
  // The guard's refusal is a MemoryBudgetError with the numbers, and mentions --layers.
  o.memory_budget = two_bytes;
  const Encoding enc = m->encode(std::string(N * 3, 'x').substr(0, 30));
  try {
    RunOptions tight;
    tight.memory_budget = m->estimate_memory(int(enc.size()), tight).total() - 1;
    m->forward(enc, tight);
    FAIL() << "the guard let the run through";
  } catch (const MemoryBudgetError& e) {
    EXPECT_EQ(e.budget + 1, e.needed);
    EXPECT_NE(std::string(e.what()).find("--layers"), std::string::npos);
  }
}

// F16 storage: half the recording's memory, values rounded like an F16 file, sweeps that keep
// no converted layer, and saving without converting back.
TEST(F16Storage, HoldsHalfPrecisionValuesAndSavesThemAsIs) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2_sharded");
  const Encoding enc = m->encode("a short text to record at half precision");
  RunOptions full_opt;
  full_opt.record_qkv = full_opt.record_scores = true;
  full_opt.all_logits = true;
  const ForwardResult full = m->forward(enc, full_opt);
  RunOptions half_opt = full_opt;
  half_opt.storage = DType::F16;
  const ForwardResult half = m->forward(enc, half_opt);
  const auto& rec = *half.recording;
  EXPECT_EQ(rec.storage(), DType::F16);
  EXPECT_EQ(m->estimate_memory(int(enc.size()), half_opt).recording * 2, m->estimate_memory(int(enc.size()), full_opt).recording);
  EXPECT_EQ(half.logits, full.logits);  // computed in F32 all the same
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < rec.num_heads(); ++h)
      for (auto part : {AttentionRecording::Part::Attention, AttentionRecording::Part::Scores, AttentionRecording::Part::Value}) {
        const RowMatrix want = full.recording->matrix(part, l, h);
        const RowMatrix got = rec.head_copy(l, h, part);
        // Each value is the F16 rounding of the F32 one.
        for (Eigen::Index i = 0; i < want.size(); ++i)
          ASSERT_EQ(got.data()[i], half_to_float(float_to_half(want.data()[i]))) << l << " " << h;
      }
  EXPECT_EQ(rec.layer_mean(1), (rec.head_copy(1, 0) + rec.head_copy(1, 1)) / 2.0f);
  EXPECT_EQ(rec.head(2, 1), rec.head_copy(2, 1));  // the converted layer agrees
  // Saved as F16 (exactly these values) and as F32.
  const auto dir = std::filesystem::temp_directory_path() / ("attn_f16_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  rec.save(dir / "h.safetensors", DType::F16);
  rec.save(dir / "f.safetensors", DType::F32);
  const auto h16 = AttentionRecording::open(dir / "h.safetensors");
  const auto f32 = AttentionRecording::open(dir / "f.safetensors");
  EXPECT_EQ(h16->storage(), DType::F16);
  EXPECT_EQ(f32->storage(), DType::F32);
  EXPECT_LT(std::filesystem::file_size(dir / "h.safetensors"), std::filesystem::file_size(dir / "f.safetensors") * 0.6);
  for (int l = 0; l < rec.num_layers(); ++l) {
    EXPECT_EQ(h16->head_copy(l, 0), rec.head_copy(l, 0)) << l;
    EXPECT_EQ(f32->head(l, 1), rec.head_copy(l, 1)) << l;
    EXPECT_EQ(h16->head_copy(l, 1, AttentionRecording::Part::Key), rec.head_copy(l, 1, AttentionRecording::Part::Key)) << l;
  }
  std::filesystem::remove_all(dir);
}
