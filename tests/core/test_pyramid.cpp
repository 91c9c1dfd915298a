// Long recordings carry each head max-pooled by 4, 16, … (record/pyramid.h): the levels equal
// the block maxima computed cell by cell, a streamed file equals a saved one byte for byte,
// one value reads without converting its head, the head view's lines found through the pyramid
// are those of a scan of every weight, and lying pyramid metadata is the file's error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "analysis/attention_lines.h"
#include "io/safetensors.h"
#include "record/pyramid.h"
#include "record/recording.h"
#include "record/recording_stream.h"
#include "util/error.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

fs::path temp(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("attn_pyramid_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// 2 layers × 3 heads of causal attention over `tokens` tokens, with a few strong cells.
std::shared_ptr<AttentionRecording> long_recording(int tokens, DType storage = DType::F32) {
  RecordingMeta m;
  m.model = "synthetic";
  m.family = "gpt2";
  m.num_layers = 2, m.num_heads = 3, m.num_tokens = tokens, m.causal = true;
  for (int i = 0; i < tokens; ++i) m.tokens.push_back("t" + std::to_string(i));
  auto rec = AttentionRecording::create(m, false, false, storage);
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 3; ++h) {
      RowMatrix a = RowMatrix::Zero(tokens, tokens);
      for (int i = 0; i < tokens; ++i)
        for (int j = 0; j <= i; ++j) a(i, j) = 0.01f * u(gen);
      a(tokens - 1, 7 + h) = 0.9f;  // one strong cell far from the rest
      rec->write_matrix(AttentionRecording::Part::Attention, l, h, a);
    }
  return rec;
}

// The largest value of each f × f block, by visiting every cell.
RowMatrix block_max(const ConstMatrixMap& m, int f) {
  const int side = pyramid_side(int(m.rows()), f);
  RowMatrix out = RowMatrix::Constant(side, side, -1.0f);
  for (int i = 0; i < m.rows(); ++i)
    for (int j = 0; j < m.cols(); ++j) out(i / f, j / f) = std::max(out(i / f, j / f), m(i, j));
  return out;
}

// Both files hold the same metadata and the same tensors, byte for byte (the stream's header
// keeps spare room, so the files themselves differ in length).
void expect_same_tensors(const fs::path& a_path, const fs::path& b_path) {
  const auto a = SafetensorsFile::open(a_path), b = SafetensorsFile::open(b_path);
  EXPECT_EQ(a->metadata(), b->metadata());
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const TensorInfo& t : a->tensors()) {
    const TensorInfo* u = b->find(t.name);
    ASSERT_TRUE(u) << t.name;
    EXPECT_EQ(t.dtype, u->dtype) << t.name;
    EXPECT_EQ(t.shape, u->shape) << t.name;
    const auto x = a->data(t), y = b->data(*u);
    EXPECT_TRUE(x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin())) << t.name;
  }
}

}  // namespace

TEST(Pyramid, FactorsKeepTheCoarsestLevelAtLeast64Rows) {
  EXPECT_TRUE(pyramid_factors(1023).empty());
  EXPECT_EQ(pyramid_factors(1024), (std::vector<int>{4, 16}));
  EXPECT_EQ(pyramid_factors(4096), (std::vector<int>{4, 16, 64}));
  EXPECT_EQ(pyramid_factors(100000), (std::vector<int>{4, 16, 64, 256, 1024}));
  EXPECT_EQ(pyramid_side(1030, 16), 65);
}

TEST(Pyramid, SavedLevelsAreTheBlockMaxima) {
  const auto rec = long_recording(1030);
  for (DType dtype : {DType::F32, DType::F16}) {
    const auto p = temp(dtype == DType::F32 ? "p32.safetensors" : "p16.safetensors");
    rec->save(p, dtype);
    const auto back = AttentionRecording::open(p);
    ASSERT_EQ(back->pyramid(), (std::vector<int>{4, 16}));
    for (int l = 0; l < 2; ++l)
      for (int h = 0; h < 3; ++h) {
        const ConstMatrixMap head = back->head(l, h);  // as stored (F16: rounded)
        for (size_t k = 0; k < 2; ++k) {
          const RowMatrix level = back->pyramid_level(l, h, k), want = block_max(head, k == 0 ? 4 : 16);
          ASSERT_EQ(level.rows(), want.rows());
          EXPECT_EQ(level, want) << "layer " << l << " head " << h << " level " << k;
        }
        EXPECT_NEAR(back->pyramid_level(l, h, 1).maxCoeff(), 0.9f, 1e-3f);  // the strong cell survives (F16: rounded)
      }
    // One value, read where it is, equals the converted head's.
    EXPECT_EQ(back->value(AttentionRecording::Part::Attention, 1, 2, 1029, 9), back->head(1, 2)(1029, 9));
    EXPECT_EQ(back->value(AttentionRecording::Part::Attention, 0, 1, 500, 17), back->head(0, 1)(500, 17));
    // A window of cells, read where they are, equals the head's.
    const RowMatrix win = back->block(AttentionRecording::Part::Attention, 1, 0, 1000, 1030, 3, 40);
    EXPECT_EQ(win, RowMatrix(back->head(1, 0).block(1000, 3, 30, 37)));
    EXPECT_THROW(back->block(AttentionRecording::Part::Attention, 1, 0, 1000, 1031, 3, 40), Error);
    EXPECT_THROW(back->value(AttentionRecording::Part::Attention, 0, 3, 0, 0), Error);
    EXPECT_THROW(back->pyramid_level(0, 0, 2), Error);
  }
  // An in-memory half-precision recording reads its windows too.
  const auto half = long_recording(1030, DType::F16);
  EXPECT_EQ(half->block(AttentionRecording::Part::Attention, 0, 2, 5, 9, 0, 6), RowMatrix(half->head_copy(0, 2).block(5, 0, 4, 6)));
  // Short recordings carry none.
  const auto p = temp("short.safetensors");
  long_recording(300)->save(p);
  EXPECT_TRUE(AttentionRecording::open(p)->pyramid().empty());
  EXPECT_FALSE(SafetensorsFile::open(p)->metadata().count("pyramid"));
}

TEST(Pyramid, AStreamedFileEqualsTheSavedOne) {
  for (DType dtype : {DType::F32, DType::F16}) {
    const auto rec = long_recording(1100);
    const auto saved = temp("saved.safetensors"), streamed = temp("streamed.safetensors");
    rec->save(saved, dtype);
    RecordingStream s(streamed, rec->meta(), false, false, dtype);
    for (int l = 1; l >= 0; --l) s.write(AttentionRecording::Part::Attention, l, rec->mutable_layer(AttentionRecording::Part::Attention, l));
    s.finish(*rec);
    SCOPED_TRACE(dtype == DType::F32 ? "F32" : "F16");
    expect_same_tensors(saved, streamed);
    EXPECT_EQ(AttentionRecording::open(streamed)->pyramid(), (std::vector<int>{4, 16}));
  }
}

TEST(Pyramid, LyingMetadataIsTheFilesError) {
  const auto good = temp("good.safetensors");
  long_recording(1030)->save(good);
  const auto file = SafetensorsFile::open(good);
  auto rewrite = [&](const std::map<std::string, std::string>& md, const std::string& drop = "", int64_t side = 0) {
    std::vector<std::vector<float>> keep;
    std::vector<TensorToWrite> ts;
    for (const auto& t : file->tensors()) {
      if (t.name == drop) continue;
      keep.push_back(file->to_f32(t));
      auto shape = t.shape;
      if (side && t.name == "attention_max16.layer1") shape = {3, side, side}, keep.back().resize(size_t(3 * side * side));
      ts.push_back({t.name, DType::F32, shape, std::as_bytes(std::span(keep.back()))});
    }
    const auto q = temp("bad.safetensors");
    write_safetensors(q, ts, md);
    try {
      AttentionRecording::open(q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(opened)");
  };
  auto md = file->metadata();
  EXPECT_EQ(rewrite(md), "(opened)");
  for (const char* bad : {"[3, 5]", "[4, 4]", "[1]", "[]", "{}", "[4, 1e40]", "[4, 16, 99999]"}) {
    md["pyramid"] = bad;
    const std::string msg = rewrite(md);
    EXPECT_NE(msg.find("bad.safetensors: metadata 'pyramid' must list increasing pooling factors"), std::string::npos) << bad << ": " << msg;
  }
  md = file->metadata();
  EXPECT_NE(rewrite(md, "attention_max16.layer1").find("missing tensor 'attention_max16.layer1'"), std::string::npos);
  EXPECT_NE(rewrite(md, "", 64).find("tensor 'attention_max16.layer1' has shape [3, 64, 64] but the metadata implies [3, 65, 65]"),
            std::string::npos);
  md["pyramid"] = "[4, 16, 64]";  // a level the file does not have
  EXPECT_NE(rewrite(md).find("missing tensor 'attention_max64.layer0'"), std::string::npos);
}

// The head view's lines (analysis/attention_lines.h) on a long F16 file: found through its
// pyramid, the strongest lines and their cutoff equal those of a scan of every weight (the same
// file with its pyramid dropped), for budgets below and above the number of weights and with a
// head left out; a token's row and column read only themselves. No head is converted.
TEST(Pyramid, TheHeadViewsLinesReadThroughThePyramidAreAScansLines) {
  const int N = 1100;
  RecordingMeta m;
  m.model = "synthetic";
  m.family = "gpt2";
  m.num_layers = 1, m.num_heads = 3, m.num_tokens = N, m.causal = true;
  for (int i = 0; i < N; ++i) m.tokens.push_back("t" + std::to_string(i));
  auto made = AttentionRecording::create(m, false, false);
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int h = 0; h < 3; ++h) {
    RowMatrix a = RowMatrix::Zero(N, N);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j <= i; ++j) a(i, j) = 0.2f * std::pow(u(gen), 4.0f);  // a long tail
    made->write_matrix(AttentionRecording::Part::Attention, 0, h, a);
  }
  const auto file = temp("lines.safetensors");
  made->save(file, DType::F16);
  const auto pyramid = AttentionRecording::open(file);
  auto scan = std::const_pointer_cast<AttentionRecording>(AttentionRecording::open(file));
  ASSERT_EQ(pyramid->pyramid(), (std::vector<int>{4, 16}));
  scan->drop_pyramid();
  constexpr float kMin = 0.01f;
  for (const std::vector<bool>& heads : {std::vector<bool>{}, std::vector<bool>{true, false, true}}) {
    for (const int budget : {50, 4000, 10'000'000}) {
      const StrongestLines a = strongest_lines(*pyramid, 0, heads, budget, kMin), b = strongest_lines(*scan, 0, heads, budget, kMin);
      EXPECT_EQ(a.cutoff, b.cutoff) << budget;
      EXPECT_EQ(a.lines, b.lines) << budget;
      // The cutoff is the budget-th strongest weight of the chosen heads (kMin when fewer reach it).
      std::vector<float> w;
      for (int h = 0; h < 3; ++h) {
        if (!heads.empty() && !heads[size_t(h)]) continue;
        const RowMatrix x = scan->head_copy(0, h);
        for (Eigen::Index i = 0; i < x.size(); ++i)
          if (x.data()[i] >= kMin) w.push_back(x.data()[i]);
      }
      std::sort(w.rbegin(), w.rend());
      EXPECT_EQ(a.cutoff, w.size() > size_t(budget) ? w[size_t(budget) - 1] : kMin) << budget;
      EXPECT_EQ(a.lines.size(), size_t(std::count_if(w.begin(), w.end(), [&](float v) { return v >= a.cutoff; }))) << budget;
      EXPECT_GE(a.lines.size(), std::min(w.size(), size_t(budget)));
    }
    for (const int side : {0, 1}) {
      const auto lines = token_lines(*pyramid, 0, heads, 700, side, kMin);
      std::vector<AttentionLine> want;
      for (int h = 0; h < 3; ++h) {
        if (!heads.empty() && !heads[size_t(h)]) continue;
        const RowMatrix x = scan->head_copy(0, h);
        for (int t = 0; t < N; ++t) {
          const float v = side == 0 ? x(700, t) : x(t, 700);
          if (v >= kMin) want.push_back(side == 0 ? AttentionLine{h, 700, t, v} : AttentionLine{h, t, 700, v});
        }
      }
      EXPECT_FALSE(want.empty());
      EXPECT_EQ(lines, want) << "side " << side;
    }
  }
  EXPECT_EQ(pyramid->converted_bytes(), 0u);
}
