#pragma once
// Decoding picture files for the image models, in the front ends (the command line and the
// GUI both link this as attn_imageio): the core takes RGB8 pixels
// and never decodes files (nor links Qt). Uses Qt's QImageReader when the build has Qt 6 Gui.
#include <filesystem>

#include "model/image_types.h"

namespace attn::imageio {

// Largest picture accepted, in pixels (a 10,000 × 10,000 photo is within it).
inline constexpr int64_t kMaxImagePixels = int64_t(100) * 1000 * 1000;

// Reads a PNG, JPEG or BMP file (or any other format Qt's image plugins read) as RGB8, with
// EXIF orientation applied and alpha dropped, as Hugging Face's load_image + convert("RGB").
// Throws attn::Error naming the file when it is missing, a folder, not a readable image,
// empty (0 × 0) or larger than `max_pixels` (the fuzz harness lowers it: decoding a legitimate
// 100-megapixel picture takes seconds under the sanitizers, which would hide real hangs).
Rgb8Image decode_image_file(const std::filesystem::path& path, int64_t max_pixels = kMaxImagePixels);

}  // namespace attn::imageio
