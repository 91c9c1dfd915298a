// Safetensors header and offsets, then converting every (small) tensor to float.
#include <vector>

#include "fuzz_support.h"
#include "io/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* b = reinterpret_cast<const std::byte*>(data);
  try {
    const auto st = attn::SafetensorsFile::open(attn::MappedFile::from_bytes("fuzz.safetensors", std::vector<std::byte>(b, b + size)));
    for (const auto& t : st->tensors())
      if (t.numel() < (1 << 16)) (void)st->to_f32(t);
  } catch (const attn::Error&) {
  }
  return 0;
}
