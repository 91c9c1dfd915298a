#pragma once
// Image resizing that reproduces Pillow's Image.resize (Pillow 9.4, libImaging/Resample.c
// and the nearest-neighbour affine path of Geometry.c) to the byte, because Hugging Face's
// image processors resize through Pillow. Separable two-pass convolution, the filter
// support widened by the scale when shrinking (antialiasing), coefficients in 22-bit fixed
// point, the horizontal pass rounded and clipped to 8 bits before the vertical pass.
#include <optional>
#include <string>

#include "model/image_types.h"

namespace attn {

// Pillow's resampling filter codes (PIL.Image.Resampling), as stored in
// preprocessor_config.json's "resample".
enum class PilFilter { Nearest = 0, Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 };

std::optional<PilFilter> pil_filter_from_code(int code);  // nullopt for unknown codes
std::string pil_filter_name(PilFilter filter);            // "bilinear", ...

// `image` resized to width × height, exactly as PIL.Image.resize((width, height), filter)
// on an RGB image. Throws attn::Error for an empty image or a non-positive target size.
Rgb8Image pil_resize(const Rgb8View& image, int width, int height, PilFilter filter);

}  // namespace attn
