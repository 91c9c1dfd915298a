// Transcribes transformers' image_processing_vit.py / image_processing_deit.py and the helpers
// they call (image_transforms.resize / center_crop / rescale / normalize,
// image_processing_utils.get_size_dict, get_resize_output_image_size). Compiled with
// -ffp-contract=off so the float steps round as numpy's do.
#include "image/preprocess.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "util/error.h"

namespace attn {

namespace {

struct Reader {
  const nlohmann::json& j;
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const { throw Error(source + ": " + what); }

  bool flag(const char* key, bool fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_boolean()) fail(std::string("key '") + key + "' must be true or false");
    return j[key].get<bool>();
  }
  double number(const char* key, double fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) fail(std::string("key '") + key + "' must be a number");
    return j[key].get<double>();
  }
  static bool positive_int(const nlohmann::json& v) {
    return v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() <= 65536;
  }
  // An int (square), [height, width] or {"height", "width"}; {"shortest_edge"[, "longest_edge"]}
  // when `edges` is given. Returns false when the key is absent.
  bool size(const char* key, int& height, int& width, int* shortest = nullptr, int* longest = nullptr) const {
    if (!j.contains(key) || j[key].is_null()) return false;
    const auto& v = j[key];
    const std::string bad = std::string("key '") + key + "' must be a positive integer, [height, width] or {\"height\": H, \"width\": W}";
    if (positive_int(v)) {
      height = width = v.get<int>();
    } else if (v.is_array() && v.size() == 2 && positive_int(v[0]) && positive_int(v[1])) {
      height = v[0].get<int>(), width = v[1].get<int>();
    } else if (v.is_object() && v.contains("height") && v.contains("width")) {
      if (!positive_int(v["height"]) || !positive_int(v["width"])) fail(bad);
      height = v["height"].get<int>(), width = v["width"].get<int>();
    } else if (v.is_object() && v.contains("shortest_edge") && shortest) {
      if (!positive_int(v["shortest_edge"])) fail(std::string("key '") + key + ".shortest_edge' must be a positive integer");
      *shortest = v["shortest_edge"].get<int>();
      if (v.contains("longest_edge") && !v["longest_edge"].is_null()) {
        if (!positive_int(v["longest_edge"]) || v["longest_edge"].get<int>() <= *shortest)
          fail(std::string("key '") + key + ".longest_edge' must be an integer larger than shortest_edge");
        *longest = v["longest_edge"].get<int>();
      }
      return true;
    } else {
      fail(bad);
    }
    if (shortest) *shortest = 0, *longest = 0;
    return true;
  }
  void triple(const char* key, std::array<double, 3>& out) const {
    if (!j.contains(key) || j[key].is_null()) return;
    const auto& v = j[key];
    if (v.is_number()) {
      out.fill(v.get<double>());
    } else if (v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number()) {
      for (int c = 0; c < 3; ++c) out[c] = v[c].get<double>();
    } else {
      fail(std::string("key '") + key + "' must be a number or a list of 3 numbers (R, G, B)");
    }
  }
};

}  // namespace

ImageProcessorConfig ImageProcessorConfig::defaults(const std::string& family, int image_height, int image_width) {
  ImageProcessorConfig c;
  c.source = "defaults";
  if (family == "deit") {  // DeiTImageProcessor: 256 → centre 224, bicubic, ImageNet statistics
    c.resize_height = image_height * 256 / 224;
    c.resize_width = image_width * 256 / 224;
    c.resample = PilFilter::Bicubic;
    c.do_center_crop = true;
    c.crop_height = image_height;
    c.crop_width = image_width;
    c.image_mean = {0.485, 0.456, 0.406};
    c.image_std = {0.229, 0.224, 0.225};
  } else {  // ViTImageProcessor: straight to the model's size, bilinear, mean = std = 0.5
    c.resize_height = image_height;
    c.resize_width = image_width;
  }
  return c;
}

ImageProcessorConfig ImageProcessorConfig::from_json(const nlohmann::json& j, const std::string& source, ImageProcessorConfig c) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  const Reader r{j, source};
  c.source = source;
  c.do_resize = r.flag("do_resize", c.do_resize);
  r.size("size", c.resize_height, c.resize_width, &c.shortest_edge, &c.longest_edge);
  if (j.contains("resample") && !j["resample"].is_null()) {
    const auto& v = j["resample"];
    const auto f = v.is_number_integer() ? pil_filter_from_code(v.get<int>()) : std::nullopt;
    if (!f) r.fail("key 'resample' must be a Pillow filter code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming");
    c.resample = *f;
  }
  c.do_center_crop = r.flag("do_center_crop", c.do_center_crop);
  r.size("crop_size", c.crop_height, c.crop_width);
  c.do_rescale = r.flag("do_rescale", c.do_rescale);
  c.rescale_factor = r.number("rescale_factor", c.rescale_factor);
  c.do_normalize = r.flag("do_normalize", c.do_normalize);
  r.triple("image_mean", c.image_mean);
  r.triple("image_std", c.image_std);
  for (double s : c.image_std)
    if (s == 0.0) r.fail("key 'image_std' has a zero entry (division by zero)");
  return c;
}

ImageProcessorConfig ImageProcessorConfig::load(const std::filesystem::path& model_dir, ImageProcessorConfig defaults) {
  const auto path = model_dir / "preprocessor_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return defaults;
  return from_json(read_json_file(path), path.string(), std::move(defaults));
}

std::array<int, 2> resize_output_size(const ImageProcessorConfig& c, int height, int width) {
  if (!c.do_resize) return {height, width};
  if (c.shortest_edge <= 0) return {c.resize_height, c.resize_width};
  // get_resize_output_image_size(default_to_square=False, max_size=longest_edge)
  const bool portrait = width <= height;
  const int shorter = portrait ? width : height, longer = portrait ? height : width;
  int new_short = c.shortest_edge;
  int new_long = int(double(int64_t(new_short) * longer) / shorter);
  if (c.longest_edge > 0 && new_long > c.longest_edge) {
    new_short = int(double(int64_t(c.longest_edge) * new_short) / new_long);
    new_long = c.longest_edge;
  }
  new_short = std::max(new_short, 1);
  return portrait ? std::array<int, 2>{new_long, new_short} : std::array<int, 2>{new_short, new_long};
}

Rgb8Image center_crop(const Rgb8View& image, int crop_height, int crop_width, int* top_out, int* left_out) {
  // Python's floor division: the origin of the crop, negative when it needs padding.
  auto floor_half = [](int d) { return d >= 0 ? d / 2 : -((-d + 1) / 2); };
  const int top = floor_half(image.height - crop_height), left = floor_half(image.width - crop_width);
  Rgb8Image out(crop_width, crop_height);  // zero-filled: the padding
  for (int y = 0; y < crop_height; ++y) {
    const int sy = top + y;
    if (sy < 0 || sy >= image.height) continue;
    const int x0 = std::max(0, -left), x1 = std::min(crop_width, image.width - left);
    if (x1 > x0) std::memcpy(out.row(y) + 3 * x0, image.row(sy) + 3 * (left + x0), size_t(x1 - x0) * 3);
  }
  if (top_out) *top_out = top;
  if (left_out) *left_out = left;
  return out;
}

PixelValues rescale_normalize(const Rgb8View& image, const ImageProcessorConfig& c) {
  PixelValues p;
  p.channels = 3;
  p.height = image.height;
  p.width = image.width;
  p.data.resize(size_t(3) * p.height * p.width);
  // Per channel and byte value: the result depends on nothing else, so tabulate it.
  float table[3][256];
  for (int ch = 0; ch < 3; ++ch) {
    const float mean = float(c.image_mean[ch]), std = float(c.image_std[ch]);
    for (int v = 0; v < 256; ++v) {
      float x = c.do_rescale ? float(double(v) * c.rescale_factor) : float(v);
      if (c.do_normalize) x = (x - mean) / std;
      table[ch][v] = x;
    }
  }
  const size_t plane = size_t(p.height) * p.width;
  for (int y = 0; y < p.height; ++y) {
    const uint8_t* row = image.row(y);
    for (int x = 0; x < p.width; ++x)
      for (int ch = 0; ch < 3; ++ch) p.data[ch * plane + size_t(y) * p.width + x] = table[ch][row[3 * x + ch]];
  }
  return p;
}

PreprocessedImage preprocess_image(const Rgb8View& image, const ImageProcessorConfig& c) {
  if (!image.data || image.width <= 0 || image.height <= 0) throw Error("the image is empty (0 pixels)");
  PreprocessedImage out;
  out.source_width = image.width;
  out.source_height = image.height;
  Rgb8Image resized;
  Rgb8View current = image;
  const auto [rh, rw] = resize_output_size(c, image.height, image.width);
  if (c.do_resize) {
    resized = pil_resize(image, rw, rh, c.resample);
    current = resized.view();
  }
  out.resized_width = current.width;
  out.resized_height = current.height;
  const double sx = double(image.width) / current.width, sy = double(image.height) / current.height;
  out.crop = {0, 0, double(image.width), double(image.height)};
  Rgb8Image cropped;
  if (c.do_center_crop) {
    int top = 0, left = 0;
    cropped = center_crop(current, c.crop_height, c.crop_width, &top, &left);
    out.crop = {left * sx, top * sy, (left + c.crop_width) * sx, (top + c.crop_height) * sy};
    current = cropped.view();
  }
  out.pixels = rescale_normalize(current, c);
  return out;
}

}  // namespace attn
