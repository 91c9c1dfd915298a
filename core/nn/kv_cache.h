#pragma once
// The keys and values a decoder's layers computed for the positions it has seen, so that a
// generation step runs only its new token (Hugging Face's DynamicCache). Room for `capacity`
// positions is taken once, so a step copies only its own rows. Keys are kept as attention
// used them (after q/k norm and rotation). An encoder-decoder's cache also holds the source,
// the encoder's output and each decoder layer's cross-attention keys and values, computed
// once (EncoderDecoderCache).
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "model/tensor_types.h"

namespace attn {

class KvCache {
 public:
  explicit KvCache(int capacity) : capacity_(capacity) {}

  int capacity() const { return capacity_; }
  // Positions held by every layer (the pass in progress not counted).
  int length() const { return length_; }

  struct View {
    Eigen::Ref<const RowMatrix> k, v;  // (length + new rows, width)
  };
  // Layer `layer`'s new keys and values (M, width) go after the held positions; returns all of
  // them. Throws attn::Error when they would pass the capacity or change width.
  View append(int layer, const Eigen::Ref<const RowMatrix>& k, const Eigen::Ref<const RowMatrix>& v);
  // Ends a pass that appended `rows` positions to every layer.
  void commit(int rows);
  // Forgets every position (e.g. to run the whole sequence again); the encoder's part stays.
  void clear() { length_ = 0; }

  // Encoder-decoders: the source ids, set before the first pass.
  std::vector<int32_t> source;
  std::optional<RowMatrix> encoder_output;  // (S, C), after the first pass
  // Layer `layer`'s cross-attention keys and values, from `project` the first time.
  const std::pair<RowMatrix, RowMatrix>& cross(int layer, const std::function<std::pair<RowMatrix, RowMatrix>()>& project);

 private:
  struct Layer {
    RowMatrix k, v;  // (capacity, width), the first length() rows held
  };
  int capacity_;
  int length_ = 0;
  std::vector<Layer> layers_;
  std::vector<std::optional<std::pair<RowMatrix, RowMatrix>>> cross_;
};

}  // namespace attn
