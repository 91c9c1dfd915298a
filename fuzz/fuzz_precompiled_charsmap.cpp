// A Precompiled normalizer's charsmap (SentencePiece's precompiled_charsmap, after base64): the
// input is the binary map itself; when it parses, a fixed text goes through transform() at
// every character, as the normalizer would use it.
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "tokenize/precompiled_charsmap.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const attn::PrecompiledCharsmap map(std::string_view(reinterpret_cast<const char*>(data), size), "charsmap");
    static const std::string text = "Ｆｕｌｌ ﬁ ① ㎏ e\u0301 \t\n\u00a0\u3000 😀👍🏽 \x01 abc";
    for (size_t i = 0; i < text.size(); ++i) (void)map.transform(std::string_view(text).substr(i));
  } catch (const attn::Error&) {
  }
  return 0;
}
