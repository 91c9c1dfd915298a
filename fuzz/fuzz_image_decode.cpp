// Picture decoding (the front end's entry point, through Qt's image readers): arbitrary
// bytes as a file must decode or fail with attn::Error naming the file.
#include "fuzz_support.h"
#include "picture_file.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = attn::fuzz::scratch_dir() / "input.img";
  attn::fuzz::write_file(path, data, size);
  try {
    const auto img = attn::imageio::decode_image_file(path);
    if (img.width <= 0 || img.height <= 0) __builtin_trap();
  } catch (const attn::Error&) {
  }
  return 0;
}
