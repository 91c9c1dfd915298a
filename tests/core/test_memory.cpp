#include <gtest/gtest.h>

#include <cstdlib>

#include "util/error.h"
#include "util/memory.h"

using namespace attn;

TEST(Memory, EstimatesTheRecordingExactly) {
  // GPT-2 small at 4,096 tokens: 12 × 12 × 4096² floats.
  const auto e = estimate_run_memory(12, 12, 768, 3072, 4096, 1, 50257, false, false);
  EXPECT_EQ(e.recording, 12ull * 12 * 4096 * 4096 * 4);
  const auto q = estimate_run_memory(2, 3, 48, 96, 10, 0, 100, true, true);
  EXPECT_EQ(q.recording, 2ull * 3 * 10 * 10 * 4 * 2 + 3ull * 2 * 3 * 10 * 16 * 4);
  EXPECT_EQ(q.working, 10ull * 4 * (6 * 48 + 2 * 96));
  EXPECT_EQ(q.total(), q.recording + q.working);
}

TEST(Memory, ParsesAndFormatsSizes) {
  EXPECT_EQ(parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("6G"), 6ull << 30);
  EXPECT_EQ(parse_byte_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("1000"), 1000ull);
  for (const char* bad : {"", "G", "-1G", "abc", "12X", "nan", "1e30G"}) EXPECT_THROW(parse_byte_size(bad), Error) << bad;
  EXPECT_EQ(format_bytes(512), "512 bytes");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
  EXPECT_EQ(format_bytes(300ull << 20), "300 MiB");
}

TEST(Memory, BudgetFollowsTheEnvironmentOrThePhysicalMemory) {
  ::setenv("ATTNSCOPE_MEMORY_BUDGET", "3G", 1);
  EXPECT_EQ(memory_budget(), 3ull << 30);
  ::setenv("ATTNSCOPE_MEMORY_BUDGET", "lots", 1);
  try {
    memory_budget();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ATTNSCOPE_MEMORY_BUDGET"), std::string::npos);
  }
  ::unsetenv("ATTNSCOPE_MEMORY_BUDGET");
  const uint64_t physical = physical_memory_bytes();
  ASSERT_GT(physical, 0u);
  EXPECT_LE(memory_budget(), physical / 2);
  EXPECT_GT(memory_budget(), 0u);
}
