// `attnscope predict|record --image` driven as a process on the ViT/DeiT fixtures: answers
// against the PyTorch reference, the recording's image metadata, and the errors a user sees
// for files that are missing, not images, empty or too large.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "record/recording.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

attn::test::RunResult run(const std::vector<std::string>& args) { return attn::test::run_attnscope(args); }

std::string model(const std::string& name) { return (attn::test::fixtures_dir() / "models" / name).string(); }
std::string image(const std::string& name) { return (attn::test::fixtures_dir() / "images" / name).string(); }

std::shared_ptr<const attn::SafetensorsFile> expected(const std::string& m, const std::string& c) {
  return attn::SafetensorsFile::open(attn::test::fixtures_dir() / "models" / m / "expected_image" / (c + ".safetensors"));
}

fs::path temp_file(const std::string& name) { return fs::temp_directory_path() / ("attn_cli_image_" + std::to_string(::getpid()) + "_" + name); }

// A 24-bit BMP header (no pixel data) claiming width × height.
void write_bmp_header(const fs::path& path, int32_t width, int32_t height) {
  std::array<uint8_t, 54> h{};
  auto put32 = [&](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i) h[at + i] = uint8_t(v >> (8 * i));
  };
  h[0] = 'B', h[1] = 'M';
  put32(2, 54 + 16);
  put32(10, 54);
  put32(14, 40);
  put32(18, uint32_t(width));
  put32(22, uint32_t(height));
  h[26] = 1, h[28] = 24;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(h.data()), h.size()) << std::string(16, '\0');
}

}  // namespace

TEST(CliImage, PredictPrintsTheReferenceClassesAndProbabilities) {
  const auto e = expected("vit_cls", "shapes");
  const auto logits = e->to_f32(e->at("logits"));
  std::vector<double> p(logits.begin(), logits.end());
  const double m = *std::max_element(p.begin(), p.end());
  double z = 0;
  for (auto& v : p) z += (v = std::exp(v - m));
  for (auto& v : p) v /= z;
  const auto r = run({"predict", "--model", model("vit_cls"), "--image", image("shapes.png"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["task"], "image-classification");
  ASSERT_EQ(j["predictions"].size(), 5u);
  const auto cfg = json::parse(attn::test::read_file(model("vit_cls") + "/config.json"));
  double total = 0, last = 1;
  for (const auto& pred : j["predictions"]) {
    const int id = pred["id"];
    EXPECT_EQ(pred["label"], cfg["id2label"][std::to_string(id)]);
    EXPECT_NEAR(pred["prob"].get<double>(), p[id], 1e-5) << id;
    EXPECT_LE(pred["prob"].get<double>(), last);
    last = pred["prob"].get<double>();
    total += last;
  }
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_EQ(j["predictions"][0]["id"], int(std::max_element(p.begin(), p.end()) - p.begin()));
}

TEST(CliImage, PredictDeitWithTeacherFromBmp) {
  const auto e = expected("deit_teacher", "stripes");
  const auto logits = e->to_f32(e->at("logits"));
  const auto r = run({"predict", "--model", model("deit_teacher"), "--image", image("stripes.bmp"), "--top", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  ASSERT_EQ(j["predictions"].size(), 2u);
  EXPECT_EQ(j["predictions"][0]["id"], int(std::max_element(logits.begin(), logits.end()) - logits.begin()));
}

TEST(CliImage, RecordStoresThePatchGridAndTheReferenceAttention) {
  struct Case {
    std::string model, c, file, grid;
  };
  for (const Case& k : {Case{"vit_cls", "gradient", "gradient.jpg", "4x4"}, Case{"vit_interp", "checker", "checker.png", "5x6"},
                        Case{"deit_teacher", "shapes", "shapes.png", "4x4"}}) {
    const auto out = temp_file(k.c + ".safetensors");
    const auto r = run({"record", "--model", model(k.model), "--image", image(k.file), "--out", out.string(), "--logits"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(k.grid + " patches"), std::string::npos) << r.out;
    const auto rec = attn::AttentionRecording::open(out);
    const auto e = expected(k.model, k.c);
    const auto& x = rec->meta().extra;
    EXPECT_EQ(x.at("image_grid"), k.grid);
    EXPECT_EQ(fs::path(x.at("image_path")).filename(), k.file);
    EXPECT_TRUE(fs::path(x.at("image_path")).is_absolute());
    EXPECT_EQ(json::parse(x.at("image_crop")).size(), 4u);
    EXPECT_EQ(json(rec->meta().tokens), json::parse(e->metadata().at("tokens")));
    for (int l = 0; l < rec->num_layers(); ++l) {
      const auto want = e->to_f32(e->at("attention.layer" + std::to_string(l)));
      const size_t n = size_t(rec->num_tokens()) * rec->num_tokens();
      for (int h = 0; h < rec->num_heads(); ++h) {
        const auto got = rec->head(l, h);
        for (size_t i = 0; i < n; ++i) ASSERT_NEAR(got.data()[i], want[h * n + i], 1e-4f) << k.c << " layer " << l << " head " << h;
      }
    }
    EXPECT_EQ(rec->logits().has_value(), e->find("logits") != nullptr);
    fs::remove(out);
  }
}

TEST(CliImage, UnreadableFilesAreNamedInTheError) {
  const auto text = temp_file("notes.png");
  std::ofstream(text) << "this is not a picture\n";
  const auto empty = temp_file("empty.bmp");
  write_bmp_header(empty, 0, 0);
  const auto huge = fs::path(image("huge_header.png"));  // a 20000 x 20000 PNG header
  const auto folder = temp_file("folder.png");
  fs::create_directories(folder);
  for (const auto& [file, what] : std::vector<std::pair<std::string, std::string>>{{temp_file("missing.png").string(), "no such file"},
                                                                                    {text.string(), "not an image"},
                                                                                    {empty.string(), ""},
                                                                                    {huge.string(), "too large"},
                                                                                    {folder.string(), "folder"}}) {
    const auto r = run({"predict", "--model", model("vit_cls"), "--image", file});
    EXPECT_EQ(r.code, 1) << file << ": " << r.err;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
  fs::remove(text), fs::remove(empty), fs::remove(folder);
}

TEST(CliImage, WrongInputKindIsAUsageError) {
  auto r = run({"predict", "--model", model("bert_cls"), "--image", image("shapes.png")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("text model"), std::string::npos) << r.err;
  r = run({"record", "--model", model("vit_cls"), "--text", "hello", "--out", temp_file("x.safetensors").string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--image FILE"), std::string::npos) << r.err;
  r = run({"predict", "--model", model("vit_interp"), "--image", image("checker.png")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no classification head"), std::string::npos) << r.err;
  r = run({"tokenize", "--model", model("vit_cls"), "--text", "hello"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("image model"), std::string::npos) << r.err;
}

TEST(CliImage, InfoDescribesAnImageModel) {
  const auto r = run({"info", "--model", model("deit_teacher"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["family"], "deit");
  EXPECT_EQ(j["task"], "image-classification");
  EXPECT_EQ(j["patch_size"], 8);
  EXPECT_EQ(j["preprocessing"]["resample"], "bicubic");
  EXPECT_EQ(j["preprocessing"]["center_crop"], "32x32");
}

// Real behaviour: a pretrained ImageNet ViT/DeiT from ../shared/models on the photographs
// Debian's python3-skimage ships. Skips, saying why, when either is absent.
TEST(CliImageReal, PretrainedClassifierRecognisesPhotographs) {
  const fs::path photos = "/usr/lib/python3/dist-packages/skimage/data";
  if (!fs::is_directory(photos)) GTEST_SKIP() << photos << " is absent (install python3-skimage for the sample photographs)";
  std::vector<fs::path> models;
  std::error_code ec;
  if (const auto root = attn::test::shared_model_dir(""); !root.empty())
    for (const auto& d : fs::directory_iterator(root, ec)) {
      if (!fs::exists(d.path() / "config.json") || !fs::exists(d.path() / "model.safetensors")) continue;
      const auto cfg = json::parse(attn::test::read_file(d.path() / "config.json"), nullptr, false);
      if (cfg.is_object() && (cfg.value("model_type", "") == "vit" || cfg.value("model_type", "") == "deit") &&
          cfg.contains("id2label") && cfg["id2label"].size() == 1000)
        models.push_back(d.path());
    }
  if (models.empty()) GTEST_SKIP() << "no pretrained ImageNet ViT/DeiT weights in ../shared/models (none can be had on these machines)";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"chelsea.png", {"tabby", "tiger cat", "Egyptian cat"}},
      {"coffee.png", {"espresso", "cup", "coffee mug"}},
      {"rocket.jpg", {"missile", "projectile", "space shuttle"}}};
  for (const auto& m : models)
    for (const auto& [photo, accept] : cases) {
      if (!fs::exists(photos / photo)) continue;
      const auto r = run({"predict", "--model", m.string(), "--image", (photos / photo).string(), "--top", "5", "--json"});
      ASSERT_EQ(r.code, 0) << r.err;
      bool found = false;
      for (const auto& p : json::parse(r.out)["predictions"])
        for (const auto& a : accept) found = found || p["label"].get<std::string>().find(a) != std::string::npos;
      EXPECT_TRUE(found) << m.filename() << " on " << photo << ": " << r.out;
    }
}
