// Transcribes transformers' image_processing_vit.py / image_processing_deit.py and the helpers
// they call (image_transforms.resize / center_crop / rescale / normalize,
// image_processing_utils.get_size_dict, get_resize_output_image_size). Compiled with
// -ffp-contract=off so the float steps round as numpy's do.
#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/json_file.h"
#include "util/error.h"

namespace attn {

namespace {

// preprocessor_config.json's sizes and colour statistics, on top of JsonFields' checked numbers.
struct Reader : JsonFields {
  using JsonFields::JsonFields;

  // An int (square), [height, width] or {"height", "width"}; {"shortest_edge"[, "longest_edge"]}
  // when `shortest` is given. Returns false when the key is absent.
  bool size(const char* key, int& height, int& width, int* shortest = nullptr, int* longest = nullptr) const {
    if (!has(key)) return false;
    const auto& v = json()[key];
    const std::string k = key;
    const auto side = [](const nlohmann::json& x) { return json_int(x, 1, 65536); };
    if (const auto s = side(v)) {
      height = width = int(*s);
    } else if (v.is_array() && v.size() == 2 && side(v[0]) && side(v[1])) {
      height = int(*side(v[0])), width = int(*side(v[1]));
    } else if (v.is_object() && v.contains("height") && v.contains("width")) {
      height = int_in(v["height"], k + ".height", 1, 65536);
      width = int_in(v["width"], k + ".width", 1, 65536);
    } else if (v.is_object() && v.contains("shortest_edge") && shortest) {
      *shortest = int_in(v["shortest_edge"], k + ".shortest_edge", 1, 65536);
      *longest = 0;
      if (v.contains("longest_edge") && !v["longest_edge"].is_null()) {
        const auto l = json_int(v["longest_edge"], int64_t(*shortest) + 1, 65536);
        if (!l) fail("key '" + k + ".longest_edge' must be an integer larger than shortest_edge");
        *longest = int(*l);
      }
      return true;
    } else {
      fail("key '" + k + "' must be a positive integer, [height, width] or {\"height\": H, \"width\": W}");
    }
    if (shortest) *shortest = 0, *longest = 0;
    return true;
  }
  void triple(const char* key, std::array<double, 3>& out) const {
    if (!has(key)) return;
    const auto& v = json()[key];
    if (const auto d = json_number(v)) {
      out.fill(*d);
    } else if (v.is_array() && v.size() == 3 && json_number(v[0]) && json_number(v[1]) && json_number(v[2])) {
      for (int c = 0; c < 3; ++c) out[c] = *json_number(v[c]);
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
  const Reader r(j, source);
  c.source = source;
  c.do_resize = r.optional_bool("do_resize", c.do_resize);
  r.size("size", c.resize_height, c.resize_width, &c.shortest_edge, &c.longest_edge);
  if (r.has("resample")) {
    const auto code = json_int(j["resample"], 0, 5);
    const auto f = code ? pil_filter_from_code(int(*code)) : std::nullopt;
    if (!f) r.fail("key 'resample' must be a Pillow filter code: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming");
    c.resample = *f;
  }
  c.do_center_crop = r.optional_bool("do_center_crop", c.do_center_crop);
  r.size("crop_size", c.crop_height, c.crop_width);
  c.do_rescale = r.optional_bool("do_rescale", c.do_rescale);
  c.rescale_factor = r.optional_number("rescale_factor", c.rescale_factor);
  c.do_normalize = r.optional_bool("do_normalize", c.do_normalize);
  r.triple("image_mean", c.image_mean);
  r.triple("image_std", c.image_std);
  // The pixel tables are computed in float: every factor must survive the conversion, and a
  // standard deviation that rounds to zero there would divide by zero.
  const auto in_float_range = [](double x) { return std::abs(x) <= double(std::numeric_limits<float>::max()); };
  if (!in_float_range(c.rescale_factor)) r.fail("key 'rescale_factor' is out of range");
  for (double m : c.image_mean)
    if (!in_float_range(m)) r.fail("key 'image_mean' has an entry out of range");
  for (double s : c.image_std)
    if (!in_float_range(s) || std::abs(s) < double(std::numeric_limits<float>::min()))
      r.fail("key 'image_std' has a zero or out-of-range entry (it divides each channel)");
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
  // Clamped, not wrapped: an extreme aspect ratio asks for more than an int holds, which
  // preprocess_image then refuses as too large.
  int new_long = int(std::min(double(int64_t(new_short) * longer) / shorter, double(1 << 30)));
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
  const auto check_size = [&](const char* step, int64_t h, int64_t w) {
    if (h * w > kMaxPreprocessedPixels)
      throw Error(c.source + ": " + step + " to " + std::to_string(w) + "x" + std::to_string(h) + " pixels is more than " +
                  std::to_string(kMaxPreprocessedPixels / 1000000) + " megapixels, far above any vision model's input: check its sizes");
  };
  if (c.do_resize) check_size("resizing", rh, rw);
  if (c.do_center_crop) check_size("cropping", c.crop_height, c.crop_width);
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
