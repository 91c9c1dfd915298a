// The tokenizers themselves on arbitrary bytes (invalid UTF-8 must be an attn::Error).
#include <memory>
#include <string_view>

#include "fuzz_support.h"
#include "tokenize/tokenizer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto bert = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "models" / "bert_mlm", {std::nullopt, "bert"});
  static const auto bpe = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "models" / "gpt2", {std::nullopt, "gpt2"});
  // tokenizer.json pipelines: Split regex + ByteLevel + template; SentencePiece-style BPE.
  static const auto llama = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "tokenizer" / "llama_style", {std::nullopt, "llama"});
  static const auto spm = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "tokenizer" / "sentencepiece_style", {std::nullopt, "mistral"});
  // Unigram with the nmt_nfkc charsmap (Precompiled), Unigram with byte fallback, WordLevel.
  static const auto unigram = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "tokenizer" / "unigram_nfkc", {});
  static const auto unigram_bytes = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "tokenizer" / "unigram_byte_fallback", {});
  static const auto word_level = attn::load_tokenizer(attn::fuzz::fixtures_dir() / "tokenizer" / "word_level", {});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto* tok : {bert.get(), bpe.get(), llama.get(), spm.get(), unigram.get(), unigram_bytes.get(), word_level.get()}) {
    try {
      const auto half = text.size() / 2;
      const auto enc = tok->supports_pairs() ? tok->encode(text.substr(0, half), text.substr(half)) : tok->encode(text);
      for (size_t i = 0; i < enc.size(); ++i) {
        if (enc.offsets[i].second < enc.offsets[i].first) __builtin_trap();
        if (enc.offsets[i].second > size) __builtin_trap();
        (void)tok->token_text(enc.ids[i]);
        (void)tok->display_token(enc.ids[i], enc.tokens[i]);
      }
      (void)tok->decode(enc.ids);
    } catch (const attn::Error&) {
    }
  }
  return 0;
}
