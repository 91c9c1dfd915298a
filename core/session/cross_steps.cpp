#include "session/cross_steps.h"

#include <string>

#include "nn/layer_hook.h"
#include "util/error.h"

namespace attn {

namespace {

// Keeps one head's cross-attention query row, keys and values.
class CrossCapture final : public LayerHook {
 public:
  CrossCapture(int layer, int head, int query) : layer_(layer), head_(head), query_(query) {}
  bool wants_stack_qkv(AttentionStack stack, int layer) const override { return stack == AttentionStack::Cross && layer == layer_; }
  void on_stack_qkv(AttentionStack stack, int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override {
    if (stack != AttentionStack::Cross || layer != layer_ || head != head_) return;
    out.q = q.row(query_).transpose();
    out.keys = k;
    out.values = v;
  }
  CrossSteps out;

 private:
  int layer_, head_, query_;
};

}  // namespace

CrossSteps cross_attention_steps(const Model& model, const std::vector<int32_t>& source_ids, const std::vector<int32_t>& decoder_ids,
                                 int layer, int head, int query) {
  const ModelConfig& c = model.config();
  if (!c.is_encoder_decoder()) throw Error(model.name() + " has no cross-attention: it is not an encoder-decoder");
  if (layer < 0 || layer >= c.num_layers) throw Error("layer " + std::to_string(layer) + " is out of range: the decoder has " + std::to_string(c.num_layers));
  if (head < 0 || head >= c.num_heads) throw Error("head " + std::to_string(head) + " is out of range: the model has " + std::to_string(c.num_heads));
  if (query < 0 || query >= int(decoder_ids.size()))
    throw Error("decoder token " + std::to_string(query) + " is out of range: there are " + std::to_string(decoder_ids.size()));
  Encoding source;
  for (int32_t id : source_ids) source.push(id, "", {0, 0}, 0, false);
  CrossCapture capture(layer, head, query);
  RunOptions options;
  options.hook = &capture;
  model.forward_seq2seq(source, decoder_ids, options);
  CrossSteps s = std::move(capture.out);
  s.layer = layer;
  s.head = head;
  s.query = query;
  StepOptions o;  // every source token visible
  o.scale_factor = c.seq2seq.attention_scale;
  s.steps = query_steps(s.q, s.keys, s.values, 0, o);
  return s;
}

}  // namespace attn
