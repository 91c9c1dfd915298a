// Tokenizer files: the input becomes tokenizer.json, vocab.txt, merges.txt, a T5 spiece.model or
// a Marian vocab.json (chosen by its first byte) in a folder that is otherwise valid, then a
// fixed text is tokenized and decoded.
#include "fuzz_support.h"
#include "tokenize/tokenizer.h"
#include "util/error.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto dir = attn::fuzz::scratch_dir() / "tok";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int kind = data[0] % 5;
  ++data, --size;
  const auto gpt2 = attn::fuzz::fixtures_dir() / "models" / "gpt2";
  attn::TokenizerOptions opt;
  if (kind == 0) {
    attn::fuzz::write_file(dir / "tokenizer.json", data, size);
  } else if (kind == 1) {
    attn::fuzz::write_file(dir / "vocab.txt", data, size);
    opt.model_type = "bert";
  } else if (kind == 2) {
    fs::copy_file(gpt2 / "vocab.json", dir / "vocab.json");
    attn::fuzz::write_file(dir / "merges.txt", data, size);
    opt.model_type = "gpt2";
  } else if (kind == 3) {
    attn::fuzz::write_file(dir / "spiece.model", data, size);
    opt.model_type = "t5";
  } else {
    const auto marian = attn::fuzz::fixtures_dir() / "models" / "marian_tiny";
    fs::copy_file(marian / "source.spm", dir / "source.spm");
    fs::copy_file(marian / "target.spm", dir / "target.spm");
    attn::fuzz::write_file(dir / "vocab.json", data, size);
    opt.model_type = "marian";
  }
  try {
    const auto tok = attn::load_tokenizer(dir, opt);
    const auto enc = tok->encode("Hello, wörld! [MASK] <|endoftext|> 123 日本  ▁x <s> 12345 👍🏽\n\n\tend");
    for (size_t i = 0; i < enc.size(); ++i) (void)tok->display_token(enc.ids[i], enc.tokens[i]);
    (void)tok->decode(enc.ids);
  } catch (const attn::Error&) {
  }
  return 0;
}
