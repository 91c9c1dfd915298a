// Image preprocessing against Pillow and Hugging Face's image processors (fixtures made by
// tools/make_vit_fixtures.py): Pillow's resize for every filter to the byte, whole
// ViT/DeiT pipelines to the float, torch's bicubic grid interpolation, config parsing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "image/bicubic.h"
#include "image/preprocess.h"
#include "image/resample.h"
#include "io/safetensors.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;

namespace {

std::shared_ptr<const SafetensorsFile> fixture() {
  static auto f = SafetensorsFile::open(test::fixtures_dir() / "images" / "expected_preprocess.safetensors");
  return f;
}

// A U8 [H, W, 3] tensor as an image.
Rgb8Image image_tensor(const SafetensorsFile& f, const std::string& name) {
  const auto& t = f.at(name);
  EXPECT_EQ(t.dtype, DType::U8) << name;
  EXPECT_EQ(t.shape.size(), 3u) << name;
  Rgb8Image img(int(t.shape[1]), int(t.shape[0]));
  const auto d = f.data(t);
  std::memcpy(img.pixels.data(), d.data(), img.pixels.size());
  return img;
}

// "resize.3.64x40" -> filter 3, 64 × 40.
struct ResizeCase {
  int filter, width, height;
};

ResizeCase parse_resize(const std::string& name) {
  ResizeCase c{};
  EXPECT_EQ(std::sscanf(name.c_str(), "resize.%d.%dx%d", &c.filter, &c.width, &c.height), 3) << name;
  return c;
}

}  // namespace

TEST(PilResize, EveryFilterAndSizeMatchesPillowToTheByte) {
  const auto f = fixture();
  const Rgb8Image src = image_tensor(*f, "source");
  int cases = 0;
  for (const auto& t : f->tensors()) {
    if (!t.name.starts_with("resize.")) continue;
    const ResizeCase c = parse_resize(t.name);
    const Rgb8Image want = image_tensor(*f, t.name);
    const Rgb8Image got = pil_resize(src.view(), c.width, c.height, PilFilter(c.filter));
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    size_t differ = 0;
    int worst = 0;
    for (size_t i = 0; i < want.pixels.size(); ++i) {
      differ += got.pixels[i] != want.pixels[i];
      worst = std::max(worst, std::abs(int(got.pixels[i]) - int(want.pixels[i])));
    }
    EXPECT_EQ(differ, 0u) << t.name << " (" << pil_filter_name(PilFilter(c.filter)) << "): " << differ
                          << " bytes differ, by up to " << worst;
    ++cases;
  }
  EXPECT_EQ(cases, 6 * 8);
}

TEST(PilResize, HonoursTheStrideOfTheSource) {
  const Rgb8Image src = image_tensor(*fixture(), "source");
  const int stride = src.width * 3 + 5;
  std::vector<uint8_t> padded(size_t(stride) * src.height, 0xAB);
  for (int y = 0; y < src.height; ++y) std::memcpy(padded.data() + y * stride, src.pixels.data() + y * src.width * 3, src.width * 3);
  const Rgb8View view{padded.data(), src.width, src.height, stride};
  for (PilFilter filter : {PilFilter::Nearest, PilFilter::Bilinear, PilFilter::Bicubic})
    EXPECT_EQ(pil_resize(view, 20, 31, filter).pixels, pil_resize(src.view(), 20, 31, filter).pixels);
}

TEST(PilResize, RejectsEmptyImagesAndSizes) {
  const Rgb8Image src(4, 4);
  EXPECT_THROW(pil_resize(src.view(), 0, 4, PilFilter::Bilinear), Error);
  EXPECT_THROW(pil_resize(Rgb8View{}, 4, 4, PilFilter::Bilinear), Error);
  EXPECT_FALSE(pil_filter_from_code(6).has_value());
  EXPECT_EQ(pil_filter_from_code(3), PilFilter::Bicubic);
}

TEST(ImagePreprocess, PipelinesMatchHuggingFaceProcessors) {
  const auto f = fixture();
  const auto& md = f->metadata();
  int cases = 0;
  for (const auto& t : f->tensors()) {
    if (!t.name.starts_with("pipeline.")) continue;
    const std::string name = t.name;
    const auto defaults = ImageProcessorConfig::defaults(md.at(name + ".defaults"), 224, 224);
    const auto cfg = ImageProcessorConfig::from_json(nlohmann::json::parse(md.at(name + ".config")), name, defaults);
    const Rgb8Image src = image_tensor(*f, "image." + md.at(name + ".image"));
    const PreprocessedImage got = preprocess_image(src.view(), cfg);
    ASSERT_EQ(t.shape, (std::vector<int64_t>{3, got.pixels.height, got.pixels.width})) << name;
    const auto want = f->to_f32(t);
    float worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(want[i] - got.pixels.data[i]));
    EXPECT_LE(worst, 1e-6f) << name;
    EXPECT_EQ(worst, 0.0f) << name << ": not bit-identical";
    ++cases;
  }
  EXPECT_EQ(cases, 6);
}

TEST(ImagePreprocess, CropBoxMapsBackToTheSource) {
  ImageProcessorConfig c = ImageProcessorConfig::defaults("deit", 32, 32);
  c.resize_height = c.resize_width = 36;
  const Rgb8Image src(45, 30);
  const auto p = preprocess_image(src.view(), c);
  EXPECT_EQ(p.pixels.width, 32);
  EXPECT_EQ(p.pixels.height, 32);
  EXPECT_EQ(p.resized_width, 36);
  EXPECT_NEAR(p.crop.left, 2 * 45.0 / 36, 1e-12);
  EXPECT_NEAR(p.crop.top, 2 * 30.0 / 36, 1e-12);
  EXPECT_NEAR(p.crop.right, 34 * 45.0 / 36, 1e-12);
  EXPECT_NEAR(p.crop.bottom, 34 * 30.0 / 36, 1e-12);
}

TEST(ImagePreprocess, CenterCropPadsWithBlackLikeHuggingFace) {
  Rgb8Image src(3, 2);
  std::fill(src.pixels.begin(), src.pixels.end(), uint8_t(200));
  int top = 0, left = 0;
  const Rgb8Image out = center_crop(src.view(), 5, 2, &top, &left);  // taller (pad), narrower (crop)
  EXPECT_EQ(top, -2);  // Python's (2 - 5) // 2
  EXPECT_EQ(left, 0);
  for (int y = 0; y < 5; ++y) EXPECT_EQ(out.pixels[size_t(y) * 2 * 3], (y == 2 || y == 3) ? 200 : 0) << y;
}

TEST(ImagePreprocess, ShortestEdgeSizes) {
  ImageProcessorConfig c;
  c.shortest_edge = 20;
  EXPECT_EQ(resize_output_size(c, 40, 50), (std::array<int, 2>{20, 25}));
  EXPECT_EQ(resize_output_size(c, 50, 40), (std::array<int, 2>{25, 20}));
  c.longest_edge = 24;
  EXPECT_EQ(resize_output_size(c, 30, 45), (std::array<int, 2>{16, 24}));  // int(24 * 20 / 30)
  c.do_resize = false;
  EXPECT_EQ(resize_output_size(c, 30, 45), (std::array<int, 2>{30, 45}));
}

TEST(ImagePreprocess, ConfigForms) {
  using nlohmann::json;
  const auto d = ImageProcessorConfig::defaults("vit", 224, 224);
  auto c = ImageProcessorConfig::from_json(json{{"size", 384}, {"crop_size", json::array({10, 20})}}, "p.json", d);
  EXPECT_EQ(c.resize_height, 384);
  EXPECT_EQ(c.resize_width, 384);
  EXPECT_EQ(c.crop_height, 10);
  EXPECT_EQ(c.crop_width, 20);
  EXPECT_EQ(c.resample, PilFilter::Bilinear);
  c = ImageProcessorConfig::from_json(json{{"size", {{"shortest_edge", 256}}}, {"image_mean", 0.25}}, "p.json", d);
  EXPECT_EQ(c.shortest_edge, 256);
  EXPECT_EQ(c.image_mean[2], 0.25);
  const auto deit = ImageProcessorConfig::defaults("deit", 224, 224);
  EXPECT_EQ(deit.resize_height, 256);
  EXPECT_TRUE(deit.do_center_crop);
  EXPECT_EQ(deit.resample, PilFilter::Bicubic);

  auto error = [&](const json& j) {
    try {
      ImageProcessorConfig::from_json(j, "dir/preprocessor_config.json", d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error(json{{"resample", 9}}).find("dir/preprocessor_config.json: key 'resample'"), std::string::npos);
  EXPECT_NE(error(json{{"size", "big"}}).find("key 'size'"), std::string::npos);
  EXPECT_NE(error(json{{"image_std", json::array({1, 0, 1})}}).find("image_std"), std::string::npos);
  EXPECT_NE(error(json{{"image_mean", json::array({1, 2})}}).find("image_mean"), std::string::npos);
  // A deviation that is zero only once in float (the tables are float) divides by zero just the same.
  EXPECT_NE(error(json{{"image_std", json::array({0.229, 0.2e-224, 0.225})}}).find("key 'image_std'"), std::string::npos);
  EXPECT_NE(error(json{{"image_mean", 1e300}}).find("key 'image_mean'"), std::string::npos);
  EXPECT_NE(error(json{{"rescale_factor", -1e300}}).find("key 'rescale_factor'"), std::string::npos);
  // Numbers outside the target type's range are the file's error, never a cast (undefined behaviour).
  EXPECT_NE(error(json{{"resample", 1.4e56}}).find("key 'resample'"), std::string::npos);
  EXPECT_NE(error(json{{"size", 1.4e56}}).find("key 'size'"), std::string::npos);
  EXPECT_NE(error(json{{"size", {{"height", 4294967297ULL}, {"width", 2}}}}).find("key 'size.height' must be an integer from 1 to 65536"),
            std::string::npos);
  EXPECT_NE(error(json{{"size", {{"shortest_edge", 10}, {"longest_edge", 1e300}}}}).find("size.longest_edge"), std::string::npos);
  EXPECT_NE(error(json{{"rescale_factor", "x"}}).find("key 'rescale_factor' must be a finite number"), std::string::npos);
}

TEST(TorchBicubic, MatchesInterpolateForEveryGrid) {
  const auto f = fixture();
  const auto g = f->to_f32(f->at("interp.grid"));
  const RowMatrix grid = Eigen::Map<const RowMatrix>(g.data(), 16, 5);
  int cases = 0;
  for (const auto& t : f->tensors()) {
    int h = 0, w = 0;
    if (std::sscanf(t.name.c_str(), "interp.%dx%d", &h, &w) != 2) continue;
    const RowMatrix got = torch_bicubic_resize(grid, 4, 4, h, w);
    const auto want = f->to_f32(t);
    ASSERT_EQ(size_t(got.size()), want.size()) << t.name;
    EXPECT_LE((got - Eigen::Map<const RowMatrix>(want.data(), h * w, 5)).cwiseAbs().maxCoeff(), 1e-6f) << t.name;
    ++cases;
  }
  EXPECT_EQ(cases, 6);
  // Same size: the identity.
  EXPECT_LE((torch_bicubic_resize(grid, 4, 4, 4, 4) - grid).cwiseAbs().maxCoeff(), 1e-6f);
}

// Long fuzzing (fuzz_preprocessor_config) showed that a config may ask preprocessing for any
// size up to 65536 × 65536 (51 GB of floats): sizes above kMaxPreprocessedPixels are refused
// before any work, and extreme aspect ratios cannot overflow the shortest-edge arithmetic.
TEST(ImagePreprocess, RefusesSizesFarAboveAnyModelsInput) {
  using nlohmann::json;
  const auto d = ImageProcessorConfig::defaults("vit", 224, 224);
  Rgb8Image img(17, 13);
  const auto error = [&](const json& j, const Rgb8Image& image) {
    try {
      preprocess_image(image.view(), ImageProcessorConfig::from_json(j, "dir/preprocessor_config.json", d));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error(json{{"size", {{"height", 65536}, {"width", 65536}}}}, img).find("dir/preprocessor_config.json: resizing to 65536x65536 pixels is more than 16 megapixels"),
            std::string::npos);
  EXPECT_NE(error(json{{"do_resize", false}, {"do_center_crop", true}, {"crop_size", {{"height", 5000}, {"width", 5000}}}}, img).find("cropping to 5000x5000"),
            std::string::npos);
  // Shortest edge 65536 on a 1 × 3000 picture: the long side would be 196,608,000 pixels.
  Rgb8Image thin(1, 3000);
  EXPECT_NE(error(json{{"size", {{"shortest_edge", 65536}}}}, thin).find("megapixels"), std::string::npos);
  const auto [h, w] = resize_output_size(ImageProcessorConfig::from_json(json{{"size", {{"shortest_edge", 65536}}}}, "p", d), 100000000, 1);
  EXPECT_EQ(w, 65536);
  EXPECT_EQ(h, 1 << 30);  // clamped, not wrapped
  // Large but sane sizes still work.
  EXPECT_EQ(error(json{{"size", {{"height", 1024}, {"width", 768}}}}, img), "");
}
