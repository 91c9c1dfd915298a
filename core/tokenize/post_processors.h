#pragma once
// tokenizer.json "post_processor": adds the model's special tokens around the encoded text
// and sets token type ids. Supported types:
//   TemplateProcessing  {single, pair, special_tokens} (e.g. "<s> $A", "[CLS] $A [SEP] $B:1 [SEP]:1")
//   BertProcessing      {cls, sep}: [CLS] A [SEP] (B [SEP])
//   RobertaProcessing   {cls, sep}: <s> A </s> (</s> B </s>)
//   ByteLevel           changes no ids (its trim_offsets is not applied: offsets keep the space)
//   Sequence            {processors: [...]}, applied in order
// Added special tokens get offsets {0, 0}, sequence id -1 and special = 1.
// Immutable after construction; thread-safe.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenize/json_node.h"
#include "tokenize/tokenizer.h"

namespace attn {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // `a` (type ids 0) and optionally `b` (type ids 1) -> the model's input.
  virtual Encoding process(Encoding a, std::optional<Encoding> b) const = 0;
  // The ids of the special tokens it may add (checked against the vocabulary at load).
  virtual std::vector<int32_t> special_ids() const { return {}; }
  // False for processors that leave ids alone (ByteLevel): a Sequence skips them.
  virtual bool changes_ids() const { return true; }
};

// One part of a template: a special token (ids + tokens) or sequence A/B, with a type id.
struct TemplatePart {
  bool is_sequence = false;
  int sequence = 0;  // 0 = A, 1 = B
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  int32_t type_id = 0;
};
std::unique_ptr<PostProcessor> make_template(std::vector<TemplatePart> single,
                                             std::vector<TemplatePart> pair);

// Throws attn::Error naming the file and key for an unknown type or a malformed template.
std::unique_ptr<PostProcessor> parse_post_processor(const JsonNode& node);

// Appends `part` (tokens of sequence `sequence`) to `out` with type id `type_id`.
void append_encoding(Encoding& out, const Encoding& part, int32_t type_id);

}  // namespace attn
