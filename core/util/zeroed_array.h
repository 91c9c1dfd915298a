#pragma once
// A fixed-size array that starts zeroed without writing the zeros: calloc, which for large
// sizes maps fresh pages that the kernel zeroes when they are first touched. A recording's
// attention (150 MB for BERT-base at 512 tokens, gigabytes for long inputs) is written right
// after it is allocated; a std::vector's value-initialisation wrote every byte twice and cost a
// sixth of a forward pass.
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace attn {

template <class T>
class ZeroedArray {
  static_assert(std::is_trivial_v<T>, "ZeroedArray holds trivial values (zero bytes are zero values)");

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t n) : size_(n) {
    if (n == 0) return;
    values_.reset(static_cast<T*>(std::calloc(n, sizeof(T))));
    if (!values_) throw std::bad_alloc();
  }

  T* data() { return values_.get(); }
  const T* data() const { return values_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> values_;
  size_t size_ = 0;
};

}  // namespace attn
