#pragma once
// SentencePiece model files read with Debian's libsentencepiece (the library that wrote them):
// T5's spiece.model (T5Tokenizer: the model's pieces and ids, then </s>; <extra_id_N> above
// them) and Marian's source.spm / target.spm with vocab.json (MarianTokenizer: the source
// model's pieces, numbered by vocab.json, unknown pieces as <unk>, then </s>; decoding goes
// through target.spm).
#include <filesystem>
#include <memory>

#include "tokenize/tokenizer.h"

namespace attn {

// Reads DIR/spiece.model (T5). Throws attn::Error naming the file when it is missing or unreadable.
std::unique_ptr<Tokenizer> load_spiece_tokenizer(const std::filesystem::path& dir);
// Reads DIR/source.spm, DIR/target.spm and DIR/vocab.json (Marian). Throws attn::Error naming
// the file.
std::unique_ptr<Tokenizer> load_marian_tokenizer(const std::filesystem::path& dir);

}  // namespace attn
