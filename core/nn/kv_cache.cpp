#include "nn/kv_cache.h"

#include <string>

#include "util/error.h"

namespace attn {

KvCache::View KvCache::append(int layer, const Eigen::Ref<const RowMatrix>& k, const Eigen::Ref<const RowMatrix>& v) {
  const Eigen::Index rows = k.rows(), width = k.cols();
  if (v.rows() != rows || v.cols() != width || layer < 0) throw Error("key/value cache: keys and values disagree in shape");
  if (length_ + rows > capacity_)
    throw Error("key/value cache: " + std::to_string(length_ + rows) + " positions exceed its room for " + std::to_string(capacity_));
  if (size_t(layer) >= layers_.size()) layers_.resize(size_t(layer) + 1);
  Layer& L = layers_[size_t(layer)];
  if (L.k.size() == 0) {
    L.k.resize(capacity_, width);
    L.v.resize(capacity_, width);
  } else if (L.k.cols() != width) {
    throw Error("key/value cache: layer " + std::to_string(layer) + " changed width");
  }
  L.k.middleRows(length_, rows) = k;
  L.v.middleRows(length_, rows) = v;
  return View{L.k.topRows(length_ + rows), L.v.topRows(length_ + rows)};
}

const std::pair<RowMatrix, RowMatrix>& KvCache::cross(int layer, const std::function<std::pair<RowMatrix, RowMatrix>()>& project) {
  if (layer < 0) throw Error("key/value cache: no layer " + std::to_string(layer));
  if (size_t(layer) >= cross_.size()) cross_.resize(size_t(layer) + 1);
  if (!cross_[size_t(layer)]) cross_[size_t(layer)] = project();
  return *cross_[size_t(layer)];
}

void KvCache::commit(int rows) {
  if (rows < 0 || length_ + rows > capacity_) throw Error("key/value cache: commit past its capacity");
  length_ += rows;
}

}  // namespace attn
