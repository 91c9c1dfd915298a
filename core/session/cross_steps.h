#pragma once
// One target token's cross-attention in one head, taken apart from the model itself, for the
// teaching mode: the decoder's query for the token, the encoder's key and value for every
// source token, and the steps between them (analysis/attention_steps.h: q·k, the model's
// scale, softmax, Σ p·v; cross-attention has no mask). Runs the model once, teacher-forced on
// the given ids, and keeps only that head's vectors. Synchronous.
#include <cstdint>
#include <vector>

#include "analysis/attention_steps.h"
#include "nn/model.h"

namespace attn {

struct CrossSteps {
  int layer = 0, head = 0;
  int query = 0;     // the decoder row: its token is the one before the token it chose
  Vector q;          // (d) from the decoder's state at `query`
  RowMatrix keys;    // (S, d) from the encoder's output, one per source token
  RowMatrix values;  // (S, d)
  QuerySteps steps;  // probs = the recording's cross-attention row
};

// `source_ids` as the encoder saw them, `decoder_ids` from the decoder's start token on (a
// generation's prompt and generated ids). Throws attn::Error for a model that is not an
// encoder-decoder, or a layer, head or query out of range.
CrossSteps cross_attention_steps(const Model& model, const std::vector<int32_t>& source_ids, const std::vector<int32_t>& decoder_ids,
                                 int layer, int head, int query);

}  // namespace attn
