#pragma once
// Hugging Face image preprocessing (ViTImageProcessor / DeiTImageProcessor semantics, from
// preprocessor_config.json): resize with Pillow's filter, centre crop, rescale, normalise.
// Every step reproduces transformers' numpy code: resize through Pillow (see resample.h),
// center_crop with zero padding when the crop is larger, rescale as
// float32(float64(pixel) * factor), normalise as (x - mean) / std in float32.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/image_types.h"
#include "image/resample.h"

namespace attn {

// The largest image preprocessing makes (resized or cropped), in pixels: 4096 × 4096, far
// above any vision model's input. A preprocessor_config.json asking for more (65536 × 65536
// would be 51 GB of floats) is refused instead of exhausting memory.
inline constexpr int64_t kMaxPreprocessedPixels = int64_t(4096) * 4096;

struct ImageProcessorConfig {
  // Resize target. A fixed size (height × width), or the shortest edge scaled to
  // `shortest_edge` keeping the aspect ratio (then `longest_edge`, when > 0, caps the other).
  bool do_resize = true;
  int resize_height = 224, resize_width = 224;
  int shortest_edge = 0;  // > 0: resize by shortest edge instead of to a fixed size
  int longest_edge = 0;
  PilFilter resample = PilFilter::Bilinear;

  bool do_center_crop = false;
  int crop_height = 224, crop_width = 224;

  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;

  bool do_normalize = true;
  std::array<double, 3> image_mean{0.5, 0.5, 0.5};
  std::array<double, 3> image_std{0.5, 0.5, 0.5};

  std::string source;  // the file it came from, or "defaults"

  // Defaults of ViTImageProcessor ("vit") or DeiTImageProcessor ("deit") for a model trained
  // at image_size (height × width): what transformers uses when a key is absent.
  static ImageProcessorConfig defaults(const std::string& family, int image_height, int image_width);
  // Parses a preprocessor_config.json object over `defaults`. `source` names the file in
  // errors. Throws attn::Error for malformed or unsupported values.
  static ImageProcessorConfig from_json(const nlohmann::json& j, const std::string& source, ImageProcessorConfig defaults);
  // DIR/preprocessor_config.json over `defaults`, or `defaults` when the file is absent.
  static ImageProcessorConfig load(const std::filesystem::path& model_dir, ImageProcessorConfig defaults);
};

// Where the model's input came from, in the source image's pixel coordinates.
struct CropBox {
  double left = 0, top = 0, right = 0, bottom = 0;  // may extend beyond the image (zero padding)
};

struct PreprocessedImage {
  PixelValues pixels;                    // (3, H, W): what the model sees
  int source_width = 0, source_height = 0;
  int resized_width = 0, resized_height = 0;  // after the resize step (= source when none)
  CropBox crop;                          // the region of the source image `pixels` covers
};

// Height × width after the resize step for a source of height × width.
std::array<int, 2> resize_output_size(const ImageProcessorConfig& config, int height, int width);

// HF's center_crop: the centre crop_height × crop_width of `image`, padded with zeros (black)
// where the crop is larger than the image. `top`/`left` receive the crop's origin in `image`
// (negative when padded).
Rgb8Image center_crop(const Rgb8View& image, int crop_height, int crop_width, int* top = nullptr, int* left = nullptr);

// Rescale and normalise interleaved RGB8 into planar (3, H, W) floats.
PixelValues rescale_normalize(const Rgb8View& image, const ImageProcessorConfig& config);

// The whole pipeline. Throws attn::Error for an empty image.
PreprocessedImage preprocess_image(const Rgb8View& image, const ImageProcessorConfig& config);

}  // namespace attn
