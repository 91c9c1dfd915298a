// preprocessor_config.json: any JSON over the ViT defaults, then preprocessing a small image
// with what was accepted (sizes and crops must be bounded by the parser, not by luck).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "fuzz_support.h"
#include "image/preprocess.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const auto cfg = attn::ImageProcessorConfig::from_json(j, "preprocessor_config.json", attn::ImageProcessorConfig::defaults("vit", 32, 32));
    // Sizes up to the preprocessing cap (kMaxPreprocessedPixels) are legitimate, only slow
    // under the sanitizers: such inputs are resized and cropped for real up to a megapixel;
    // any step above the cap must be refused before any work (preprocess_image checks first).
    const auto [rh, rw] = attn::resize_output_size(cfg, 13, 17);
    const int64_t resized = cfg.do_resize ? int64_t(rh) * rw : 0, cropped = cfg.do_center_crop ? int64_t(cfg.crop_height) * cfg.crop_width : 0;
    const int64_t largest = std::max(resized, cropped);
    if (largest > 1000000 && largest <= attn::kMaxPreprocessedPixels) return 0;
    std::vector<uint8_t> pixels(17 * 13 * 3);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37);
    attn::Rgb8View view{pixels.data(), 17, 13, 17 * 3};
    (void)attn::preprocess_image(view, cfg);
  } catch (const attn::Error&) {
  }
  return 0;
}
