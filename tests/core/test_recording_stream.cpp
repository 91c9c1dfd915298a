// Streamed recordings (RunOptions::stream_to, `record --stream`): the file written layer by
// layer must be the recording AttentionRecording::save writes for the same run, tensor for
// tensor and key for key; a cancelled or failed run leaves no file and keeps an earlier one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "record/recording_stream.h"
#include "session/run.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;

namespace {

namespace fs = std::filesystem;

std::unique_ptr<Model> fixture(const std::string& name) { return Model::load(test::fixtures_dir() / "models" / name); }

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / ("attn-stream-" + std::to_string(::getpid()) + "-" + name + ".safetensors");
}

// Both files hold the same tensors (same dtype, shape and bytes) and the same metadata.
void expect_same_file(const fs::path& a_path, const fs::path& b_path) {
  const auto a = SafetensorsFile::open(a_path), b = SafetensorsFile::open(b_path);
  EXPECT_EQ(a->metadata(), b->metadata());
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const TensorInfo& t : a->tensors()) {
    SCOPED_TRACE(t.name);
    const TensorInfo* u = b->find(t.name);
    ASSERT_TRUE(u);
    EXPECT_EQ(t.dtype, u->dtype);
    EXPECT_EQ(t.shape, u->shape);
    const auto x = a->data(t), y = b->data(*u);
    ASSERT_EQ(x.size(), y.size());
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin()));
  }
}

// The same run held in memory and streamed: the same tensors and metadata keys, the values
// equal to rounding (a softmax row's sum is vectorised by its address, and the streamed
// layer lives elsewhere than the held one).
void expect_same_values(const AttentionRecording& held, const AttentionRecording& streamed, float tolerance) {
  const auto& a = held.meta();
  const auto& b = streamed.meta();
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.model_layers, b.model_layers);
  std::vector<std::string> keys_a, keys_b;
  for (const auto& [k, v] : a.extra) keys_a.push_back(k);
  for (const auto& [k, v] : b.extra) keys_b.push_back(k);
  EXPECT_EQ(keys_a, keys_b);
  ASSERT_EQ(held.parts(), streamed.parts());
  for (const auto part : held.parts())
    for (int l = 0; l < held.num_layers(); ++l)
      for (int h = 0; h < held.num_heads(); ++h) {
        SCOPED_TRACE(AttentionRecording::tensor_name(part, l) + " head " + std::to_string(h));
        const RowMatrix x = held.head_copy(l, h, part), y = streamed.head_copy(l, h, part);
        ASSERT_EQ(x.rows(), y.rows());
        ASSERT_EQ(x.cols(), y.cols());
        EXPECT_LE((x - y).cwiseAbs().maxCoeff(), tolerance * std::max(1.0f, x.cwiseAbs().maxCoeff()));
      }
  ASSERT_EQ(held.logits().has_value(), streamed.logits().has_value());
  if (held.logits()) {
    EXPECT_LE((*held.logits() - *streamed.logits()).cwiseAbs().maxCoeff(), 1e-4f);
  }
  ASSERT_EQ(held.image().has_value(), streamed.image().has_value());
  if (held.image()) {
    EXPECT_EQ(held.image()->data, streamed.image()->data);
  }
}

// Records `req` both ways: held in memory (then saved), and streamed. The streamed file is
// exactly what save() writes for its values, and its values are the held run's.
void check_stream_equals_save(const Model& m, RunRequest req, DType dtype, const std::string& tag) {
  SCOPED_TRACE(m.name() + " " + tag);
  const fs::path resaved = temp("resaved-" + tag), streamed = temp("streamed-" + tag);
  req.options.storage = dtype;
  const RunResult held = run_model(m, req);
  req.options.stream_to = streamed;
  RunResult r = run_model(m, req);
  ASSERT_TRUE(r.stream);
  EXPECT_FALSE(fs::exists(streamed)) << "the file appears only when finished";
  const auto opened = finish_stream(r);
  EXPECT_FALSE(r.stream);
  for (const auto& f : fs::directory_iterator(fs::temp_directory_path()))
    EXPECT_EQ(f.path().string().find(streamed.filename().string() + ".tmp"), std::string::npos) << "left behind: " << f.path();
  opened->save(resaved, dtype);
  expect_same_file(resaved, streamed);
  expect_same_values(*held.recording, *opened, dtype == DType::F16 ? 2e-3f : 1e-5f);
  fs::remove(resaved);
  fs::remove(streamed);
}

}  // namespace

TEST(RecordingStream, EqualsTheSavedRecordingForEveryFamily) {
  for (const char* name : {"bert_mlm", "distilbert_cls", "gpt2", "llama_gqa", "qwen3_qknorm", "gemma3_text", "qwen2_window_yarn"}) {
    const auto m = fixture(name);
    RunRequest req;
    req.text = "the quick brown fox jumps over the lazy dog";
    req.keep_logits = true;
    req.options.record_qkv = true;
    req.options.record_scores = true;
    check_stream_equals_save(*m, req, DType::F32, "all");
    req.options.record_qkv = req.options.record_scores = false;
    req.options.layers = {1};
    check_stream_equals_save(*m, req, DType::F16, "layer1-f16");
  }
}

TEST(RecordingStream, ImageModelsStreamTheirPicture) {
  const auto m = fixture("vit_cls");
  RunRequest req;
  req.image = Rgb8Image(40, 30);
  for (size_t i = 0; i < req.image->pixels.size(); ++i) req.image->pixels[i] = uint8_t(i * 7);
  req.image_path = "made-up.png";
  check_stream_equals_save(*m, req, DType::F32, "image");
}

TEST(RecordingStream, MetadataLongerThanTheRoomKeptMovesTheLayers) {
  // A text far longer than what the model keeps of it (--truncate): the header outgrows the
  // room reserved from the token list, and the layers are moved to make space.
  const auto m = fixture("gpt2");
  RunRequest req;
  for (int i = 0; i < 30000; ++i) req.text += "word" + std::to_string(i) + " ";
  req.truncate = true;
  req.keep_logits = true;
  check_stream_equals_save(*m, req, DType::F32, "long-text");
}

TEST(RecordingStream, ACancelledRunLeavesNoFileAndKeepsTheOldOne) {
  const auto m = fixture("gpt2");
  const fs::path out = temp("cancel");
  {
    std::ofstream(out) << "an earlier file";
  }
  RunRequest req;
  req.text = "the cat sat on the mat";
  req.options.stream_to = out;
  int calls = 0;
  req.options.progress = [&](double, std::string_view) { return ++calls < 3; };  // stop after the first layer
  EXPECT_THROW(run_model(*m, req), Cancelled);
  EXPECT_EQ(test::read_file(out), "an earlier file");
  for (const auto& f : fs::directory_iterator(out.parent_path()))
    EXPECT_EQ(f.path().string().find(out.filename().string() + ".tmp"), std::string::npos) << "left behind: " << f.path();
  fs::remove(out);
}

TEST(RecordingStream, AFolderThatCannotBeWrittenIsNamedBeforeTheRun) {
  const auto m = fixture("gpt2");
  RunRequest req;
  req.text = "the cat";
  req.options.stream_to = "/nonexistent-folder/rec.safetensors";
  try {
    run_model(*m, req);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/rec.safetensors: cannot write"), std::string::npos) << e.what();
  }
}

TEST(RecordingStream, TheMemoryGuardCountsOneLayer) {
  const auto m = fixture("gpt2");
  RunOptions held, streamed;
  streamed.stream_to = temp("guard");
  const auto a = m->estimate_memory(60, held), b = m->estimate_memory(60, streamed);
  EXPECT_EQ(a.recording, b.recording * uint64_t(m->config().num_layers));
  EXPECT_EQ(a.working, b.working);
}

TEST(RecordingStream, EveryLayerMustBeWritten) {
  RecordingMeta meta;
  meta.num_layers = 2;
  meta.num_heads = 1;
  meta.num_tokens = 2;
  meta.tokens = {"a", "b"};
  const fs::path out = temp("missing");
  RecordingStream s(out, meta, false, false, DType::F32);
  const float values[4] = {1, 0, 0.5f, 0.5f};
  s.write(AttentionRecording::Part::Attention, 1, values);
  const auto stand_in = AttentionRecording::metadata_only(meta, false, false, DType::F32);
  try {
    s.finish(*stand_in);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention.layer0 was never written"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

// A long half-precision recording opened from disk: a view of one head converts that head,
// not its layer, and saving it again at F16 copies the file's bytes without converting.
TEST(RecordingStream, OpeningAnF16FileConvertsOnlyTheHeadsShown) {
  const auto m = fixture("gpt2");
  RunRequest req;
  req.text = "the cat sat on the mat and the dog sat on the log";
  req.options.storage = DType::F16;
  req.options.stream_to = temp("f16-open");
  RunResult r = run_model(*m, req);
  const auto rec = finish_stream(r);
  const int N = rec->num_tokens(), H = rec->num_heads();
  ASSERT_GT(H, 1);
  EXPECT_EQ(rec->converted_bytes(), 0u);
  const ConstMatrixMap a = rec->head(1, 1);
  EXPECT_EQ(rec->converted_bytes(), size_t(N) * N * sizeof(float));
  EXPECT_EQ(RowMatrix(a), rec->head_copy(1, 1));
  EXPECT_NE(RowMatrix(a), rec->head_copy(1, 0));
  EXPECT_EQ(rec->head(1, 1).data(), a.data()) << "kept, not converted again";
  const fs::path again = temp("f16-again");
  rec->save(again, DType::F16);
  EXPECT_EQ(rec->converted_bytes(), size_t(N) * N * sizeof(float));
  expect_same_file(req.options.stream_to, again);
  fs::remove(again);
  fs::remove(req.options.stream_to);
}
