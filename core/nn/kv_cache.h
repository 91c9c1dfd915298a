#pragma once
// The keys and values a decoder's layers computed for the positions it has seen, so that a
// generation step runs only its new token (Hugging Face's DynamicCache). Room for `capacity`
// positions is taken once, so a step copies only its own rows. Keys are kept as attention
// used them (after q/k norm and rotation).
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
  // Forgets every position (e.g. to run the whole sequence again).
  void clear() { length_ = 0; }

 private:
  struct Layer {
    RowMatrix k, v;  // (capacity, width), the first length() rows held
  };
  int capacity_;
  int length_ = 0;
  std::vector<Layer> layers_;
};

}  // namespace attn
