#pragma once
// Images as the engine sees them: 8-bit RGB pixels coming in (decoded by a front end; the
// core never decodes files), and the normalised float tensor a vision model takes.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn {

// A non-owning view of interleaved 8-bit RGB pixels: `height` rows of `width` pixels, row y
// starting at data + y * stride (stride >= 3 * width bytes; e.g. QImage::Format_RGB888's
// 4-byte-aligned scan lines).
struct Rgb8View {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;

  const uint8_t* row(int y) const { return data + y * stride; }
};

// Owned RGB8 pixels, rows packed (stride = 3 * width).
struct Rgb8Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // (height, width, 3)

  Rgb8Image() = default;
  Rgb8Image(int w, int h) : width(w), height(h), pixels(size_t(w) * h * 3, 0) {}
  Rgb8View view() const { return {pixels.data(), width, height, std::ptrdiff_t(width) * 3}; }
  uint8_t* row(int y) { return pixels.data() + size_t(y) * width * 3; }
};

// A model's input: channel-planar floats (channels, height, width), as Hugging Face's
// pixel_values[0].
struct PixelValues {
  int channels = 3;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // (channels, height, width)

  float at(int c, int y, int x) const { return data[(size_t(c) * height + y) * width + x]; }
};

}  // namespace attn
