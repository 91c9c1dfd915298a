// ViT and DeiT against the pure-PyTorch reference (tools/reference/vit.py, fixtures made by
// tools/make_vit_fixtures.py): every recorded tensor, hidden states and logits to 1e-4,
// from the reference's pixel_values and from the decoded image through the C++
// preprocessing; the recording's image metadata; the patch-grid helper; errors.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "analysis/attention_grid.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "test_support.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace attn;
using Part = AttentionRecording::Part;

namespace {

struct VisionCase {
  std::string model;  // folder under fixtures/models
  std::string name;   // expected_image/<name>.safetensors
};

std::vector<VisionCase> discover() {
  std::vector<VisionCase> cases;
  std::error_code ec;
  for (const auto& m : fs::directory_iterator(test::fixtures_dir() / "models", ec)) {
    if (!fs::is_directory(m.path() / "expected_image")) continue;
    for (const auto& e : fs::directory_iterator(m.path() / "expected_image"))
      if (e.path().extension() == ".safetensors") cases.push_back({m.path().filename().string(), e.path().stem().string()});
  }
  std::sort(cases.begin(), cases.end(), [](auto& a, auto& b) { return a.model + a.name < b.model + b.name; });
  return cases;
}

constexpr float kTol = 1e-4f;

float max_abs_diff(const float* want, const float* got, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(want[i] - got[i]));
  return m;
}

const Model& cached_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[name];
  if (!m) m = Model::load(test::fixtures_dir() / "models" / name);
  return *m;
}

PixelValues pixel_values(const SafetensorsFile& f) {
  const auto& t = f.at("pixel_values");
  PixelValues p;
  p.channels = int(t.shape[0]);
  p.height = int(t.shape[1]);
  p.width = int(t.shape[2]);
  p.data = f.to_f32(t);
  return p;
}

Rgb8Image decoded_image(const SafetensorsFile& f) {
  const auto& t = f.at("image_rgb8");
  Rgb8Image img(int(t.shape[1]), int(t.shape[0]));
  const auto d = f.data(t);
  std::memcpy(img.pixels.data(), d.data(), img.pixels.size());
  return img;
}

// Compares everything a forward pass recorded with the expected file; returns the worst error.
float compare(const SafetensorsFile& expected, const Model& m, const ForwardResult& r) {
  const int L = m.config().num_layers, H = m.config().num_heads;
  float worst = 0;
  for (int l = 0; l < L; ++l) {
    for (auto [part, prefix] : {std::pair{Part::Attention, "attention"}, {Part::Scores, "scores"}, {Part::Query, "query"},
                                {Part::Key, "key"}, {Part::Value, "value"}}) {
      const auto name = std::string(prefix) + ".layer" + std::to_string(l);
      const auto want = expected.to_f32(expected.at(name));
      for (int h = 0; h < H; ++h) {
        const auto got = r.recording->matrix(part, l, h);
        const size_t n = size_t(got.size());
        EXPECT_EQ(want.size(), n * H) << name;
        if (want.size() != n * H) return 1e9f;
        const float e = max_abs_diff(want.data() + h * n, got.data(), n);
        EXPECT_LE(e, kTol) << name << " head " << h;
        worst = std::max(worst, e);
      }
    }
  }
  EXPECT_EQ(int(r.hidden.size()), L + 1);
  for (int i = 0; i <= L && i < int(r.hidden.size()); ++i) {
    const auto want = expected.to_f32(expected.at("hidden." + std::to_string(i)));
    EXPECT_EQ(want.size(), size_t(r.hidden[i].size()));
    const float e = max_abs_diff(want.data(), r.hidden[i].data(), std::min(want.size(), size_t(r.hidden[i].size())));
    EXPECT_LE(e, kTol) << "hidden." << i;
    worst = std::max(worst, e);
  }
  if (const auto* lg = expected.find("logits")) {
    const auto want = expected.to_f32(*lg);
    EXPECT_EQ(want.size(), size_t(r.logits.size()));
    const float e = max_abs_diff(want.data(), r.logits.data(), std::min(want.size(), size_t(r.logits.size())));
    EXPECT_LE(e, kTol) << "logits";
    worst = std::max(worst, e);
  } else {
    EXPECT_EQ(r.logits.size(), 0);
  }
  return worst;
}

RunOptions everything() {
  RunOptions opt;
  opt.record_qkv = opt.record_scores = opt.record_hidden = true;
  return opt;
}

class VisionGolden : public ::testing::TestWithParam<VisionCase> {
 protected:
  std::shared_ptr<const SafetensorsFile> expected() const {
    const auto& c = GetParam();
    return SafetensorsFile::open(test::fixtures_dir() / "models" / c.model / "expected_image" / (c.name + ".safetensors"));
  }
};

}  // namespace

TEST_P(VisionGolden, MatchesPyTorchFromPixelValues) {
  const auto e = expected();
  const Model& m = cached_model(GetParam().model);
  const ForwardResult r = m.forward_image(pixel_values(*e), everything());
  const float worst = compare(*e, m, r);
  RecordProperty("max_abs_error", std::to_string(worst));
  // Tokens and the patch grid, as the reference names them.
  EXPECT_EQ(nlohmann::json(r.recording->meta().tokens), nlohmann::json::parse(e->metadata().at("tokens")));
  EXPECT_EQ(r.recording->meta().extra.at("image_grid"), e->metadata().at("image_grid"));
  EXPECT_EQ(r.recording->meta().extra.at("task"), e->metadata().at("task"));
  const int prefix = m.config().num_prefix_tokens();
  for (int i = 0; i < r.recording->num_tokens(); ++i) EXPECT_EQ(r.recording->meta().special[i], i < prefix ? 1 : 0) << i;
}

TEST_P(VisionGolden, PreprocessingFromDecodedPixelsIsExact) {
  const auto e = expected();
  const Model& m = cached_model(GetParam().model);
  const Rgb8Image img = decoded_image(*e);
  const PreprocessedImage pre = m.preprocess(img.view());
  const PixelValues want = pixel_values(*e);
  ASSERT_EQ(pre.pixels.height, want.height);
  ASSERT_EQ(pre.pixels.width, want.width);
  EXPECT_EQ(max_abs_diff(want.data.data(), pre.pixels.data.data(), want.data.size()), 0.0f);
  const ForwardResult r = m.forward_image(pre, everything());
  compare(*e, m, r);
  const auto& x = r.recording->meta().extra;
  EXPECT_EQ(x.at("image_size"), std::to_string(img.height) + "x" + std::to_string(img.width));
  EXPECT_EQ(x.at("image_input_size"), std::to_string(want.height) + "x" + std::to_string(want.width));
  const auto crop = nlohmann::json::parse(x.at("image_crop"));
  ASSERT_EQ(crop.size(), 4u);
  EXPECT_LT(crop[0].get<double>(), crop[2].get<double>());
  // The recording keeps the input as the model saw it, and how to map it back to pixels.
  ASSERT_TRUE(r.recording->image());
  EXPECT_EQ(r.recording->image()->data, want.data);
  const auto mean = nlohmann::json::parse(x.at("image_mean")), stdev = nlohmann::json::parse(x.at("image_std"));
  const double rescale = nlohmann::json::parse(x.at("image_rescale_factor")).get<double>();
  const auto& ip = m.image_processor();
  EXPECT_EQ(mean.get<std::vector<double>>(), std::vector<double>(ip.image_mean.begin(), ip.image_mean.end()));
  EXPECT_EQ(stdev.get<std::vector<double>>(), std::vector<double>(ip.image_std.begin(), ip.image_std.end()));
  EXPECT_DOUBLE_EQ(rescale, ip.rescale_factor);
  for (int c = 0; c < 3; ++c) {  // every value de-normalises to a whole 0..255 pixel level
    const float v = want.at(c, want.height / 2, want.width / 2);
    const double level = (v * stdev[c].get<double>() + mean[c].get<double>()) / rescale;
    EXPECT_NEAR(level, std::round(level), 1e-3) << "channel " << c;
    EXPECT_GE(level, -1e-3);
    EXPECT_LE(level, 255 + 1e-3);
  }
  // recorded_input_image undoes the normalisation: normalising its pixels again gives the tensor.
  const auto rgb = recorded_input_image(*r.recording);
  ASSERT_TRUE(rgb);
  ASSERT_EQ(rgb->width, want.width);
  ASSERT_EQ(rgb->height, want.height);
  float worst = 0;
  for (int y = 0; y < want.height; ++y)
    for (int x = 0; x < want.width; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = float((float(rgb->view().row(y)[3 * x + c] * rescale) - mean[c].get<double>()) / stdev[c].get<double>());
        worst = std::max(worst, std::abs(v - want.at(c, y, x)));
      }
  EXPECT_LT(worst, 1e-5f);
}

TEST_P(VisionGolden, AttentionGridIsTheQueryRowOverPatches) {
  const auto e = expected();
  const Model& m = cached_model(GetParam().model);
  const ForwardResult r = m.forward_image(pixel_values(*e), RunOptions{});
  const AttentionRecording& rec = *r.recording;
  const auto grid = image_patch_grid(rec.meta());
  ASSERT_TRUE(grid);
  EXPECT_EQ(grid->first_patch, m.config().num_prefix_tokens());
  const int last = rec.num_layers() - 1, query = rec.num_tokens() - 1;
  const RowMatrix cls = image_attention_grid(rec, last, 1, 0);
  ASSERT_EQ(cls.rows(), grid->height);
  ASSERT_EQ(cls.cols(), grid->width);
  for (int rr = 0; rr < grid->height; ++rr)
    for (int c = 0; c < grid->width; ++c) EXPECT_EQ(cls(rr, c), rec.head(last, 1)(0, grid->first_patch + rr * grid->width + c));
  const RowMatrix mean = image_attention_grid(rec, 0, -1, query);
  const RowMatrix layer_mean = rec.layer_mean(0);
  EXPECT_NEAR(mean(grid->height - 1, grid->width - 1), layer_mean(query, rec.num_tokens() - 1), 1e-6f);
  EXPECT_NEAR(mean.sum(), layer_mean.row(query).tail(grid->height * grid->width).sum(), 1e-5f);
  // The max over heads (the overlay's "max of heads"): each patch's largest weight.
  const RowMatrix max = image_attention_grid(rec, 0, kHeadMax, query);
  const RowMatrix layer_max = rec.layer_max(0);
  for (int rr = 0; rr < grid->height; ++rr)
    for (int c = 0; c < grid->width; ++c) EXPECT_EQ(max(rr, c), layer_max(query, grid->first_patch + rr * grid->width + c));
  EXPECT_THROW(image_attention_grid(rec, rec.num_layers(), 0, 0), Error);
  EXPECT_THROW(image_attention_grid(rec, 0, rec.num_heads(), 0), Error);
  EXPECT_THROW(image_attention_grid(rec, 0, kHeadMax - 1, 0), Error);
  EXPECT_THROW(image_attention_grid(rec, 0, 0, rec.num_tokens()), Error);
}

std::string case_name(const ::testing::TestParamInfo<VisionCase>& info) { return info.param.model + "_" + info.param.name; }

INSTANTIATE_TEST_SUITE_P(Fixtures, VisionGolden, ::testing::ValuesIn(discover()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VisionGolden);

TEST(VisionFixtures, ArePresent) { EXPECT_GE(discover().size(), 6u); }

TEST(VisionModel, ConfigAndProcessorAreRead) {
  const Model& vit = cached_model("vit_cls");
  EXPECT_TRUE(vit.takes_images());
  EXPECT_EQ(vit.config().family, "vit");
  EXPECT_EQ(vit.config().head, HeadKind::ImageClassification);
  EXPECT_EQ(vit.config().patch_size, 8);
  EXPECT_EQ(vit.config().max_positions, 17);
  EXPECT_EQ(vit.config().labels.size(), 5u);
  EXPECT_EQ(vit.image_processor().resample, PilFilter::Bilinear);
  const Model& deit = cached_model("deit_teacher");
  EXPECT_EQ(deit.config().family, "deit");
  EXPECT_EQ(deit.config().num_prefix_tokens(), 2);
  EXPECT_TRUE(deit.image_processor().do_center_crop);
  const Model& bare = cached_model("vit_interp");
  EXPECT_EQ(bare.config().head, HeadKind::Base);
  EXPECT_FALSE(bare.config().qkv_bias);
  EXPECT_FALSE(bare.image_processor().do_resize);
}

TEST(VisionModel, TextAndImageEntryPointsRefuseTheWrongModality) {
  const Model& vit = cached_model("vit_cls");
  EXPECT_THROW(vit.tokenizer(), Error);
  EXPECT_THROW(vit.encode("hello"), Error);
  EXPECT_THROW(vit.forward(Encoding{}, RunOptions{}), Error);
  const auto bert = Model::load(test::fixtures_dir() / "models" / "bert_cls");
  EXPECT_FALSE(bert->takes_images());
  PixelValues px;
  px.height = px.width = 32;
  px.data.assign(3 * 32 * 32, 0.0f);
  try {
    bert->forward_image(px, RunOptions{});
    ADD_FAILURE() << "a text model ran on pixels";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text model"), std::string::npos) << e.what();
  }
}

TEST(VisionModel, ImageSmallerThanAPatchIsAnError) {
  const Model& vit = cached_model("vit_interp");
  PixelValues px;
  px.height = 7;
  px.width = 40;
  px.data.assign(3 * 7 * 40, 0.0f);
  try {
    vit.forward_image(px, RunOptions{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smaller than one 8x8 patch"), std::string::npos) << e.what();
  }
  px.channels = 1;
  px.height = 8;
  px.data.assign(8 * 40, 0.0f);
  EXPECT_THROW(vit.forward_image(px, RunOptions{}), Error);
}

TEST(VisionModel, HeadMaskingAndRecordingRoundTrip) {
  const Model& deit = cached_model("deit_teacher");
  const auto e = SafetensorsFile::open(test::fixtures_dir() / "models" / "deit_teacher" / "expected_image" / "stripes.safetensors");
  RunOptions opt;
  opt.intervention.heads = {{0, 1}};  // layer 0, head 1 off
  ForwardResult r = deit.forward_image(pixel_values(*e), opt);
  EXPECT_EQ(r.recording->head(0, 1).cwiseAbs().maxCoeff(), 0.0f);
  r.recording->meta_mutable().extra["image_path"] = "stripes.bmp";
  const auto path = fs::temp_directory_path() / ("attn_vit_rec_" + std::to_string(::getpid()) + ".safetensors");
  r.recording->save(path);
  const auto back = AttentionRecording::open(path);
  EXPECT_EQ(back->meta().tokens[1], "[DIST]");
  EXPECT_EQ(back->meta().extra.at("image_path"), "stripes.bmp");
  EXPECT_EQ(back->meta().extra.at("image_grid"), "4x4");
  EXPECT_EQ(image_attention_grid(*back, 1, 0, 1), image_attention_grid(*r.recording, 1, 0, 1));
  // The input image travels with the recording, also through a re-save.
  ASSERT_TRUE(back->image());
  EXPECT_EQ(back->image()->data, pixel_values(*e).data);
  const auto again = fs::path(path).replace_extension(".2.safetensors");
  back->save(again, DType::F16);
  const auto back2 = AttentionRecording::open(again);
  ASSERT_TRUE(back2->image());
  EXPECT_EQ(back2->image()->data, pixel_values(*e).data);  // kept F32, unlike the attention
  fs::remove(path);
  fs::remove(again);
}

TEST(VisionModel, MissingOrMisshapenWeightsAreNamed) {
  // A private copy of vit_cls with one tensor edited.
  auto broken = [](const std::string& tag, const std::function<void(std::vector<TensorToWrite>&, std::vector<std::vector<std::byte>>&)>& edit) {
    const auto dir = fs::temp_directory_path() / ("attn_vit_load_" + std::to_string(::getpid()) + "_" + tag);
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto src_dir = test::fixtures_dir() / "models" / "vit_cls";
    for (const char* f : {"config.json", "preprocessor_config.json"}) fs::copy_file(src_dir / f, dir / f);
    const auto src = SafetensorsFile::open(src_dir / "model.safetensors");
    std::vector<std::vector<std::byte>> keep;
    keep.reserve(src->tensors().size() + 1);
    std::vector<TensorToWrite> ts;
    for (const auto& t : src->tensors()) {
      const auto d = src->data(t);
      keep.emplace_back(d.begin(), d.end());
      ts.push_back({t.name, t.dtype, t.shape, std::span<const std::byte>(keep.back())});
    }
    edit(ts, keep);
    write_safetensors(dir / "model.safetensors", ts, src->metadata());
    std::string msg;
    try {
      Model::load(dir);
    } catch (const Error& e) {
      msg = e.what();
    }
    fs::remove_all(dir);
    return msg;
  };
  auto msg = broken("missing", [](auto& ts, auto&) {
    std::erase_if(ts, [](auto& t) { return t.name == "vit.encoder.layer.1.layernorm_after.weight"; });
  });
  EXPECT_NE(msg.find("missing tensor 'vit.encoder.layer.1.layernorm_after.weight'"), std::string::npos) << msg;
  msg = broken("patch", [](auto& ts, auto&) {
    for (auto& t : ts)
      if (t.name == "vit.embeddings.patch_embeddings.projection.weight") t.shape = {32, 3, 64, 1};  // same count, wrong shape
  });
  EXPECT_NE(msg.find("projection.weight' has shape [32, 3, 64, 1], but config.json implies [32, 3, 8, 8]"), std::string::npos) << msg;
  msg = broken("positions", [](auto& ts, auto& keep) {
    for (auto& t : ts)
      if (t.name == "vit.embeddings.position_embeddings") {  // a 5 x 5 grid instead of 4 x 4
        keep.emplace_back(size_t(26 * 32 * 4));
        t.shape = {1, 26, 32};
        t.data = std::span<const std::byte>(keep.back());
      }
  });
  EXPECT_NE(msg.find("position_embeddings' has shape [1, 26, 32], but config.json implies [17, 32]"), std::string::npos) << msg;
}

TEST(VisionModel, ConfigKeysAndTheirErrors) {
  using nlohmann::json;
  const json base = {{"model_type", "deit"}, {"architectures", {"DeiTForImageClassification"}}, {"hidden_size", 64},
                     {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 128},
                     {"image_size", {48, 64}}, {"patch_size", 16}, {"num_labels", 3}};
  const ModelConfig c = ModelConfig::from_json(base, "config.json");
  EXPECT_EQ(c.family, "deit");
  EXPECT_EQ(c.head, HeadKind::ImageClassification);
  EXPECT_EQ(c.image_height, 48);
  EXPECT_EQ(c.image_width, 64);
  EXPECT_EQ(c.max_positions, 2 + 3 * 4);
  EXPECT_EQ(c.labels, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(c.vocab_size, 0);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(head_kind_name(c.head), "image-classification");
  auto error = [&](const char* key, const json& value) {
    json j = base;
    if (value.is_null()) j.erase(key); else j[key] = value;
    try {
      ModelConfig::from_json(j, "m/config.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("num_channels", 1).find("m/config.json: num_channels 1 is not supported"), std::string::npos);
  EXPECT_NE(error("patch_size", json::array({16, 8})).find("patch_size must be square"), std::string::npos);
  EXPECT_NE(error("image_size", "big").find("key 'image_size'"), std::string::npos);
  EXPECT_NE(error("hidden_size", nullptr).find("missing required key 'hidden_size'"), std::string::npos);
  EXPECT_NE(error("qkv_bias", "yes").find("qkv_bias"), std::string::npos);
}
