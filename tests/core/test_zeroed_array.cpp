// ZeroedArray: zeroed without a memset, small (calloc) and large (mapped, 2 MB aligned).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "util/zeroed_array.h"

namespace attn {
namespace {

TEST(ZeroedArray, SmallAndLargeArraysStartZeroedAndHoldWhatIsWritten) {
  for (const size_t n : {size_t(1), size_t(1000), size_t(3) << 20 /* 12 MB of floats: mapped */}) {
    ZeroedArray<float> a(n);
    ASSERT_EQ(a.size(), n);
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](float v) { return v == 0.0f; })) << n;
    a.data()[0] = -1.0f;
    a.data()[n - 1] = 2.5f;
    EXPECT_EQ(a.data()[n - 1], 2.5f);
    if (n > 1) {
      EXPECT_EQ(a.data()[0], -1.0f);
    }
  }
  ZeroedArray<uint16_t> large(size_t(4) << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % (2u << 20), 0u) << "large arrays start on a 2 MB boundary";
}

TEST(ZeroedArray, MovesOwnership) {
  ZeroedArray<float> a(size_t(2) << 20), empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
  float* p = a.data();
  ZeroedArray<float> b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_TRUE(a.empty());
  ZeroedArray<float> c(10);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), size_t(2) << 20);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace attn
