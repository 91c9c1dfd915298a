#pragma once
// A fixed-size array that starts zeroed without writing the zeros. Small arrays come from
// calloc; large ones (≥ 4 MB) are fresh anonymous mappings, which the kernel zeroes as they are
// first touched, asked to use 2 MB pages (MADV_HUGEPAGE) where the system allows it. A
// recording's attention (150 MB for BERT-base at 512 tokens, gigabytes for long inputs) is
// written right after it is allocated: a std::vector's value-initialisation wrote every byte
// twice, and on 4 kB pages first touching it cost a page fault every 1,024 floats — together
// over a third of a one-thread forward pass in a virtual machine.
#include <cstddef>
#include <type_traits>
#include <utility>

namespace attn {

namespace detail {
// Zeroed bytes, and their release; `mapped` says which of the two ways they came.
void* allocate_zeroed(size_t bytes, bool& mapped);
void release_zeroed(void* p, size_t bytes, bool mapped) noexcept;
}  // namespace detail

template <class T>
class ZeroedArray {
  static_assert(std::is_trivial_v<T>, "ZeroedArray holds trivial values (zero bytes are zero values)");

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t n) : size_(n) {
    if (n) values_ = static_cast<T*>(detail::allocate_zeroed(n * sizeof(T), mapped_));
  }
  ZeroedArray(ZeroedArray&& o) noexcept
      : values_(std::exchange(o.values_, nullptr)), size_(std::exchange(o.size_, 0)), mapped_(o.mapped_) {}
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    if (this != &o) {
      reset();
      values_ = std::exchange(o.values_, nullptr);
      size_ = std::exchange(o.size_, 0);
      mapped_ = o.mapped_;
    }
    return *this;
  }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
  ~ZeroedArray() { reset(); }

  T* data() { return values_; }
  const T* data() const { return values_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return values_; }
  T* end() { return values_ + size_; }
  const T* begin() const { return values_; }
  const T* end() const { return values_ + size_; }

 private:
  void reset() noexcept {
    if (values_) detail::release_zeroed(values_, size_ * sizeof(T), mapped_);
    values_ = nullptr;
    size_ = 0;
  }

  T* values_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace attn
