// Loading model folders: every failure names the file and the problem; head masking.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "io/safetensors.h"
#include "nn/model.h"
#include "test_support.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

// A private copy of a fixture model folder (without its expected outputs).
fs::path copy_fixture(const std::string& name, const std::string& tag) {
  const auto dst = fs::temp_directory_path() / ("attn_load_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(dst);
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(test::fixtures_dir() / "models" / name))
    if (e.is_regular_file()) fs::copy_file(e.path(), dst / e.path().filename());
  return dst;
}

std::string load_error(const fs::path& dir) {
  try {
    Model::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites model.safetensors in `dir` with `edit` applied to the tensor list.
void rewrite_weights(const fs::path& dir, const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const auto src = SafetensorsFile::open(dir / "model.safetensors");
  std::vector<std::vector<std::byte>> keep;
  std::vector<TensorToWrite> ts;
  for (const auto& t : src->tensors()) {
    const auto d = src->data(t);
    keep.emplace_back(d.begin(), d.end());
    ts.push_back({t.name, t.dtype, t.shape, std::span<const std::byte>(keep.back())});
  }
  edit(ts);
  write_safetensors(dir / "model.safetensors.new", ts, src->metadata());
  fs::rename(dir / "model.safetensors.new", dir / "model.safetensors");
}

}  // namespace

TEST(ModelLoad, MissingTensorIsNamed) {
  const auto dir = copy_fixture("gpt2", "missing");
  rewrite_weights(dir, [](auto& ts) { std::erase_if(ts, [](auto& t) { return t.name == "transformer.h.1.attn.c_proj.weight"; }); });
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensor 'transformer.h.1.attn.c_proj.weight'"), std::string::npos) << msg;
}

TEST(ModelLoad, WrongShapeSaysWhatConfigImplies) {
  const auto dir = copy_fixture("bert_mlm", "shape");
  rewrite_weights(dir, [](auto& ts) {
    for (auto& t : ts)
      if (t.name == "bert.encoder.layer.0.attention.self.query.weight") {
        t.shape = {24, 96};  // same bytes, wrong shape
      }
  });
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("'bert.encoder.layer.0.attention.self.query.weight' has shape [24, 96]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("config.json implies [48, 48]"), std::string::npos) << msg;
}

TEST(ModelLoad, PickleWeightsPointToConversion) {
  const auto dir = copy_fixture("gpt2", "pickle");
  fs::rename(dir / "model.safetensors", dir / "pytorch_model.bin");
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("pytorch_model.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Convert"), std::string::npos) << msg;
  fs::remove(dir / "pytorch_model.bin");
  EXPECT_NE(load_error(dir).find("no weights found"), std::string::npos);
}

TEST(ModelLoad, MissingTokenizerNamesTheFolder) {
  const auto dir = copy_fixture("gpt2", "notok");
  fs::remove(dir / "vocab.json");
  fs::remove(dir / "merges.txt");
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
}

TEST(ModelLoad, TruncatedWeightsNameTheFile) {
  const auto dir = copy_fixture("bert_mlm", "trunc");
  const auto p = dir / "model.safetensors";
  fs::resize_file(p, fs::file_size(p) / 2);
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(ModelLoad, ShardIndexPointingAtMissingShard) {
  const auto dir = copy_fixture("gpt2_sharded", "shard");
  fs::remove(dir / "model-00002-of-00002.safetensors");
  const auto msg = load_error(dir);
  EXPECT_NE(msg.find("model-00002-of-00002.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST(ModelLoad, NonFiniteWeightsAreCountedNotFatal) {
  const auto dir = copy_fixture("gpt2", "nan");
  std::vector<float> nan_bias;
  rewrite_weights(dir, [&](auto& ts) {
    for (auto& t : ts)
      if (t.name == "transformer.h.0.ln_1.bias") {
        nan_bias.assign(t.data.size() / 4, std::numeric_limits<float>::quiet_NaN());
        t.data = std::as_bytes(std::span(nan_bias));
      }
  });
  const auto m = Model::load(dir);
  EXPECT_EQ(m->non_finite_weights(), int64_t(nan_bias.size()));
}

TEST(ModelForward, DisabledHeadIsZeroAndOnlyLaterLayersChange) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2");
  const Encoding enc = m->encode("the quick brown fox jumps over the lazy dog");
  RunOptions base;
  base.all_logits = true;
  const auto a = m->forward(enc, base);
  RunOptions masked = base;
  masked.intervention.heads = {{0, 1}};  // layer 0, head 1 off
  const auto b = m->forward(enc, masked);
  EXPECT_EQ(b.recording->head(0, 1).cwiseAbs().maxCoeff(), 0.0f);
  // Same layer, other head: untouched (up to rounding: buffers differ in alignment).
  EXPECT_LT((b.recording->head(0, 0) - a.recording->head(0, 0)).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_GT((b.recording->head(1, 0) - a.recording->head(1, 0)).cwiseAbs().maxCoeff(), 1e-4f);
  EXPECT_GT((b.logits - a.logits).cwiseAbs().maxCoeff(), 1e-4f);
}

TEST(ModelForward, EmptyAndOutOfVocabularyInputAreErrors) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2");
  EXPECT_THROW(m->forward(Encoding{}, {}), Error);
  Encoding bad;
  bad.ids = {1, 2, 100000};
  try {
    m->forward(bad, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos);
  }
}

TEST(ModelForward, CancelStopsTheRun) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "bert_mlm");
  RunOptions opt;
  int calls = 0;
  opt.progress = [&](double, std::string_view stage) { return ++calls < 2 || stage == "embeddings"; };
  EXPECT_THROW(m->forward(m->encode("a short text"), opt), Cancelled);
  EXPECT_EQ(calls, 2);
}

namespace {

// Counts what the model shows a hook, and optionally replaces one head's probabilities.
class ProbeHook : public LayerHook {
 public:
  bool wants_qkv(int) const override { return true; }
  void on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef&, const ConstMatrixRef&) override {
    std::lock_guard lock(mutex);
    ++qkv_calls;
    if (layer == 0 && head == 0) q_rows = int(q.rows());
  }
  void on_attention(int layer, int head, MatrixRef probs) override {
    std::lock_guard lock(mutex);
    ++attention_calls;
    if (layer == replace_layer && head == replace_head) {  // every query looks at the first token only
      probs.setZero();
      probs.col(0).setOnes();
    }
  }
  void on_layer_end(int layer, const RowMatrix& hidden) override { ends.push_back({layer, int(hidden.rows())}); }

  std::mutex mutex;
  int qkv_calls = 0, attention_calls = 0, q_rows = 0;
  int replace_layer = -1, replace_head = -1;
  std::vector<std::pair<int, int>> ends;
};

}  // namespace

TEST(LayerHook, SeesEveryHeadAndLayerInOrder) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "bert_mlm");
  const Encoding enc = m->encode("a short text");
  ProbeHook probe;
  RunOptions opt;
  opt.hook = &probe;
  m->forward(enc, opt);
  const int L = m->config().num_layers, H = m->config().num_heads;
  EXPECT_EQ(probe.attention_calls, L * H);
  EXPECT_EQ(probe.qkv_calls, L * H);
  EXPECT_EQ(probe.q_rows, int(enc.size()));
  ASSERT_EQ(int(probe.ends.size()), L);
  for (int l = 0; l < L; ++l) EXPECT_EQ(probe.ends[size_t(l)], std::make_pair(l, int(enc.size())));
}

TEST(LayerHook, ChangedProbabilitiesReachTheValuesAndTheRecording) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2");
  const Encoding enc = m->encode("the quick brown fox jumps over the lazy dog");
  RunOptions opt;
  opt.all_logits = true;
  const auto plain = m->forward(enc, opt);
  ProbeHook probe;
  probe.replace_layer = 1, probe.replace_head = 0;
  opt.hook = &probe;
  const auto changed = m->forward(enc, opt);
  // The recording shows what the values saw: the hook's probabilities.
  const auto head = changed.recording->head(1, 0);
  EXPECT_EQ(head.col(0).minCoeff(), 1.0f);
  EXPECT_EQ(head.rightCols(head.cols() - 1).cwiseAbs().maxCoeff(), 0.0f);
  // Earlier layers are untouched, bit for bit; the output changes.
  EXPECT_EQ(changed.recording->head(0, 0), plain.recording->head(0, 0));
  EXPECT_GT((changed.logits - plain.logits).cwiseAbs().maxCoeff(), 1e-4f);
  // Head 1 of layer 1 is computed from the same inputs, so it is unchanged.
  EXPECT_EQ(changed.recording->head(1, 1), plain.recording->head(1, 1));
}

TEST(LayerHook, HeadMaskRunsBeforeTheCallersHook) {
  const auto m = Model::load(test::fixtures_dir() / "models" / "gpt2");
  const Encoding enc = m->encode("the cat sat on the mat");
  // The head mask zeroes layer 0 head 1; the caller's hook then sees zeros there.
  class SumHook : public LayerHook {
   public:
    void on_attention(int layer, int head, MatrixRef probs) override {
      if (layer == 0 && head == 1) sum = probs.sum();
    }
    float sum = -1;
  } sum;
  RunOptions opt;
  opt.intervention.heads = {{0, 1}};  // layer 0, head 1 off
  opt.hook = &sum;
  m->forward(enc, opt);
  EXPECT_EQ(sum.sum, 0.0f);
}
