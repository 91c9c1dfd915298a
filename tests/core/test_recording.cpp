#include <gtest/gtest.h>

#include <random>

#include "record/recording.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace attn;
using Part = AttentionRecording::Part;

namespace {

fs::path temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("attn_rec_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::shared_ptr<AttentionRecording> random_recording(int L, int H, int N, int d, bool qkv, bool scores) {
  RecordingMeta m;
  m.model = "toy";
  m.family = "bert";
  m.num_layers = L;
  m.num_heads = H;
  m.num_tokens = N;
  m.head_dim = d;
  for (int i = 0; i < N; ++i) m.tokens.push_back(i == 0 ? "[CLS]" : "tok\"" + std::to_string(i) + "é");
  m.special.assign(N, 0);
  m.special[0] = 1;
  m.text = "some text";
  m.extra["note"] = "kept";
  auto r = AttentionRecording::create(m, qkv, scores);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0, 1);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      for (Part p : {Part::Attention, Part::Scores, Part::Query, Part::Key, Part::Value}) {
        if ((p == Part::Scores && !scores) || (p != Part::Attention && p != Part::Scores && !qkv)) continue;
        auto mat = r->mutable_matrix(p, l, h);
        for (Eigen::Index i = 0; i < mat.size(); ++i) mat.data()[i] = u(rng);
      }
    }
  return r;
}

std::string open_error(const fs::path& p) {
  try {
    AttentionRecording::open(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Recording, SavesAndReopensExactlyInF32) {
  const auto r = random_recording(3, 2, 5, 4, true, true);
  RowMatrix logits = RowMatrix::Random(5, 11);
  r->set_logits(logits);
  const auto p = temp_path("a.safetensors");
  r->save(p);
  const auto back = AttentionRecording::open(p);
  EXPECT_EQ(back->num_layers(), 3);
  EXPECT_EQ(back->num_heads(), 2);
  EXPECT_EQ(back->num_tokens(), 5);
  EXPECT_EQ(back->meta().tokens, r->meta().tokens);
  EXPECT_EQ(back->meta().special, r->meta().special);
  EXPECT_EQ(back->meta().text, "some text");
  EXPECT_EQ(back->meta().extra.at("note"), "kept");
  EXPECT_TRUE(back->has_qkv());
  EXPECT_TRUE(back->has_scores());
  for (int l = 0; l < 3; ++l)
    for (int h = 0; h < 2; ++h)
      for (Part p : {Part::Attention, Part::Scores, Part::Query, Part::Key, Part::Value})
        EXPECT_EQ(back->matrix(p, l, h), r->matrix(p, l, h)) << l << " " << h;
  ASSERT_TRUE(back->logits());
  EXPECT_EQ(*back->logits(), logits);
  EXPECT_EQ(back->layer_mean(1), (r->head(1, 0) + r->head(1, 1)) / 2.0f);
}

TEST(Recording, F16HalvesTheFileAndRoundsValues) {
  const auto r = random_recording(2, 3, 16, 8, false, false);
  const auto p32 = temp_path("b32.safetensors"), p16 = temp_path("b16.safetensors");
  r->save(p32);
  r->save(p16, DType::F16);
  EXPECT_LT(fs::file_size(p16), fs::file_size(p32) * 0.6);
  const auto back = AttentionRecording::open(p16);
  EXPECT_FALSE(back->has_qkv());
  EXPECT_FALSE(back->has_scores());
  const RowMatrix diff = back->head(1, 2) - r->head(1, 2);
  EXPECT_LT(diff.cwiseAbs().maxCoeff(), 1e-3f);
  EXPECT_GT(diff.cwiseAbs().maxCoeff(), 0.0f);  // it really was rounded
}

TEST(Recording, RejectsFilesThatAreNotRecordingsOrDisagree) {
  const auto r = random_recording(2, 2, 4, 4, false, false);
  const auto p = temp_path("c.safetensors");
  r->save(p);
  auto file = SafetensorsFile::open(p);
  auto rewrite = [&](std::map<std::string, std::string> md, std::vector<int64_t> shape0) {
    std::vector<std::vector<float>> keep;
    std::vector<TensorToWrite> ts;
    for (const auto& t : file->tensors()) {
      keep.push_back(file->to_f32(t));
      auto shape = t.name == "attention.layer0" ? shape0 : t.shape;
      keep.back().resize(size_t(shape[0] * shape[1] * shape[2]));
      ts.push_back({t.name, DType::F32, shape, std::as_bytes(std::span(keep.back()))});
    }
    const auto q = temp_path("bad.safetensors");
    write_safetensors(q, ts, md);
    return open_error(q);
  };
  auto md = file->metadata();
  md["version"] = "2";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("version 2 is not supported"), std::string::npos);
  md = file->metadata();
  md["format"] = "something-else";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("not an AttnScope recording"), std::string::npos);
  md = file->metadata();
  EXPECT_NE(rewrite(md, {2, 5, 5}).find("has shape [2, 5, 5] but the metadata implies [2, 4, 4]"), std::string::npos);
  md["num_layers"] = "3";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("missing tensor 'attention.layer2'"), std::string::npos);
  md = file->metadata();
  md["tokens"] = "[1, 2";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("'tokens' must be a JSON array"), std::string::npos);
  md = file->metadata();
  md["num_tokens"] = "9";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("says 9 tokens but lists 4"), std::string::npos);

  // Regression (fuzz_recording-special-tokens-huge-number): special_tokens = [1, 0, 1.4e56]
  // went through get<int>(), undefined behaviour. Only 0/1 flags are valid.
  for (const char* bad : {"[1, 0, 1.4e56, 0]", "[1, 0, 2, 0]", "[1, 0, -1, 0]", "[1, 0, \"yes\", 0]", "[1, 0, 0.5, 0]", "{}", "[1,"}) {
    md = file->metadata();
    md["special_tokens"] = bad;
    const auto msg = rewrite(md, {2, 4, 4});
    EXPECT_NE(msg.find("bad.safetensors: recording metadata 'special_tokens' must be a JSON array of 0/1 flags"), std::string::npos)
        << bad << ": " << msg;
  }
  md = file->metadata();
  md["special_tokens"] = "[1, 0, 1]";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("'special_tokens' has 3 entries for 4 tokens"), std::string::npos);
  for (const char* bad : {"[0, 1e300]", "[0, 18446744073709551615]", "[3, 3]", "[-1, 0]", "[0.0, 1]"}) {
    md = file->metadata();
    md["layers"] = bad;
    EXPECT_NE(rewrite(md, {2, 4, 4}).find("metadata 'layers' must list 2 ascending model layer numbers"), std::string::npos) << bad;
  }
  md = file->metadata();
  md["num_heads"] = std::string(56, '9');
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("'num_heads' = '99999"), std::string::npos);
  md = file->metadata();
  md["tokens"] = "[\"a\", 7, \"c\", \"d\"]";
  EXPECT_NE(rewrite(md, {2, 4, 4}).find("'tokens' must be a JSON array of strings"), std::string::npos);

  // A rotary model's settings (head_dim 4: two frequencies, or one when half of each head
  // turns; two layers of gains).
  const std::pair<const char*, const char*> rotary_cases[] = {
      {"[1, 2]", "must be a JSON object"},
      {"{}", "needs 'inv_freq', one number per turned channel pair (at most 2, half of head_dim 4)"},
      {R"({"inv_freq": [1, 0.1, 0.01]})", "needs 'inv_freq', one number per turned channel pair"},
      {R"({"inv_freq": []})", "needs 'inv_freq'"},
      {R"({"inv_freq": [1, 1e300]})", "needs 'inv_freq'"},
      {R"({"inv_freq": [1, "x"]})", "needs 'inv_freq'"},
      {R"({"inv_freq": [1, 0.1], "local_inv_freq": [1]})", "'local_inv_freq' must be 2 numbers, as many as 'inv_freq'"},
      {R"({"inv_freq": [1, 0.1], "attention_factor": -1})", "'attention_factor' must be a positive number"},
      {R"({"inv_freq": [1, 0.1], "q_norm": [[1, 1, 1, 1]]})", "'q_norm' must hold 2 gain vectors (one per recorded layer) of 4 numbers"},
      {R"({"inv_freq": [1, 0.1], "q_norm": [[1, 1, 1, 1], [1, 1, 1, 1]]})", "'k_norm' must hold 2 gain vectors"},
      {R"({"inv_freq": [1, 0.1], "q_norm": [[1,1,1,1],[1,1,1,1]], "k_norm": [[1,1,1,1],[1,1,1,1]], "norm_eps": 5})",
       "'norm_eps' must be a number between 0 and 1"},
      {R"({"inv_freq": [1, 0.1], "q_norm": [[1,1,1,1],[1,1,1,1]], "k_norm": [[1,1,1,1],[1,1,1,1]], "norm_eps": 1e-6,
           "norm_plus_one": 1})", "'norm_plus_one' must be true or false"},
  };
  for (const auto& [bad, want] : rotary_cases) {
    md = file->metadata();
    md["rotary"] = bad;
    const auto msg = rewrite(md, {2, 4, 4});
    EXPECT_NE(msg.find(std::string("bad.safetensors: metadata 'rotary' ") + want), std::string::npos) << bad << ": " << msg;
  }
  md = file->metadata();
  md["rotary"] = R"({"inv_freq": [1, 0.1]})";
  EXPECT_EQ(rewrite(md, {2, 4, 4}), "");  // valid: opens
  md["rotary"] = R"({"inv_freq": [1], "local_inv_freq": [0.5]})";
  EXPECT_EQ(rewrite(md, {2, 4, 4}), "");  // partial rotary: the first two channels turn
}

TEST(Recording, ReadsSpecialFlagsAndLayerNumbers) {
  const auto r = random_recording(2, 2, 4, 4, false, false);
  const auto p = temp_path("flags.safetensors");
  r->save(p);
  auto file = SafetensorsFile::open(p);
  auto md = file->metadata();
  md["special_tokens"] = "[1, 0, 0, 1]";
  md["layers"] = "[3, 11]";
  std::vector<std::vector<float>> keep;
  std::vector<TensorToWrite> ts;
  for (const auto& t : file->tensors()) {
    keep.push_back(file->to_f32(t));
    ts.push_back({t.name, DType::F32, t.shape, std::as_bytes(std::span(keep.back()))});
  }
  const auto q = temp_path("flags2.safetensors");
  write_safetensors(q, ts, md);
  const auto back = AttentionRecording::open(q);
  EXPECT_EQ(back->meta().special, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(back->meta().model_layers, (std::vector<int>{3, 11}));
}

TEST(Recording, KeepsTheInputImageAndChecksItsShape) {
  auto r = random_recording(1, 2, 5, 4, false, false);
  PixelValues px;
  px.height = 2;
  px.width = 3;
  px.data = {0.5f, -1, 1, 0, 0.25f, -0.5f, 1, 1, 1, 0, 0, 0, -1, -1, -1, 0.75f, 0.5f, 0};
  r->set_image(px);
  r->meta_mutable().extra["image_input_size"] = "2x3";
  const auto p = temp_path("img.safetensors");
  r->save(p, DType::F16);
  const auto back = AttentionRecording::open(p);
  ASSERT_TRUE(back->image());
  EXPECT_EQ(back->image()->channels, 3);
  EXPECT_EQ(back->image()->height, 2);
  EXPECT_EQ(back->image()->width, 3);
  EXPECT_EQ(back->image()->data, px.data);
  // An image that disagrees with image_input_size, or is not [C, H, W], is refused.
  r->meta_mutable().extra["image_input_size"] = "3x2";
  r->save(p);
  EXPECT_NE(open_error(p).find("tensor 'image' is 2x3 pixels but image_input_size says 3x2"), std::string::npos) << open_error(p);
  r->meta_mutable().extra.erase("image_input_size");
  px.channels = 2;
  px.height = 3;
  r->set_image(px);
  r->save(p);
  EXPECT_NE(open_error(p).find("tensor 'image' must be [channels (1 or 3), height, width], is [2, 3, 3]"), std::string::npos) << open_error(p);
  fs::remove_all(p.parent_path());
}
