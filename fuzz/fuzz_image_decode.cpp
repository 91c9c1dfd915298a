// Picture decoding (the front end's entry point, through Qt's image readers): arbitrary
// bytes as a file must decode or fail with attn::Error naming the file. Pictures are capped at
// 4 megapixels here (the app takes 100): a few bytes of JPEG header can declare 46 megapixels,
// which Qt then decodes (grey where data is missing) in 2 s, or over 10 s under ASan — slow
// but bounded, and it made libFuzzer report a timeout that would hide a real hang.
#include "fuzz_support.h"
#include "picture_file.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = attn::fuzz::scratch_dir() / "input.img";
  attn::fuzz::write_file(path, data, size);
  try {
    const auto img = attn::imageio::decode_image_file(path, int64_t(4) * 1000 * 1000);
    if (img.width <= 0 || img.height <= 0) __builtin_trap();
  } catch (const attn::Error&) {
  }
  return 0;
}
