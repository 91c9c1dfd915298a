#include <gtest/gtest.h>

#include <bit>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "io/safetensors.h"
#include "util/error.h"
#include "util/half.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

fs::path temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("attn_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_raw(const fs::path& p, const std::string& header, const std::string& data, std::optional<uint64_t> len = {}) {
  std::ofstream out(p, std::ios::binary);
  const uint64_t n = len.value_or(header.size());
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
}

// Expects open() to fail with a message naming the file and containing `needle`.
void expect_error(const fs::path& p, const std::string& needle) {
  try {
    SafetensorsFile::open(p);
    FAIL() << "opened a bad file " << p;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  const auto p = temp_path("rt.safetensors");
  const std::vector<float> f{1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, 65504.0f};
  std::vector<uint16_t> h(f.size()), b(f.size());
  for (size_t i = 0; i < f.size(); ++i) h[i] = float_to_half(f[i]), b[i] = float_to_bf16(f[i]);
  const std::vector<int32_t> ids{7, -3, 42};
  write_safetensors(p,
                    {{"a.f32", DType::F32, {2, 3}, std::as_bytes(std::span(f))},
                     {"b.f16", DType::F16, {6}, std::as_bytes(std::span(h))},
                     {"c.bf16", DType::BF16, {3, 2}, std::as_bytes(std::span(b))},
                     {"d.i32", DType::I32, {3}, std::as_bytes(std::span(ids))}},
                    {{"hello", "world"}});
  const auto st = SafetensorsFile::open(p);
  ASSERT_EQ(st->tensors().size(), 4u);
  EXPECT_EQ(st->metadata().at("hello"), "world");
  EXPECT_EQ(st->at("a.f32").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(st->to_f32(st->at("a.f32")), f);
  const auto f16 = st->to_f32(st->at("b.f16"));
  const auto bf16 = st->to_f32(st->at("c.bf16"));
  for (size_t i = 0; i < f.size(); ++i) {
    EXPECT_NEAR(f16[i], f[i], std::abs(f[i]) * 1e-3f + 1e-7f);
    EXPECT_NEAR(bf16[i], f[i], std::abs(f[i]) * 8e-3f + 1e-7f);
  }
  EXPECT_EQ(st->to_i64(st->at("d.i32")), (std::vector<int64_t>{7, -3, 42}));
  EXPECT_EQ(st->find("nope"), nullptr);
  EXPECT_THROW(st->at("nope"), Error);
  // The header is padded so that data starts 8-byte aligned.
  uint64_t len = 0;
  std::ifstream in(p, std::ios::binary);
  in.read(reinterpret_cast<char*>(&len), 8);
  EXPECT_EQ(len % 8, 0u);
}

TEST(Safetensors, FailedWriteKeepsThePreviousFile) {
  const auto dir = temp_path("ro_dir");
  fs::create_directories(dir);
  const auto p = dir / "keep.safetensors";
  const std::vector<float> f{1, 2, 3};
  write_safetensors(p, {{"x", DType::F32, {3}, std::as_bytes(std::span(f))}}, {});
  // A tensor whose data does not match its shape is rejected before anything is written.
  EXPECT_THROW(write_safetensors(p, {{"x", DType::F32, {4}, std::as_bytes(std::span(f))}}, {}), Error);
  EXPECT_EQ(SafetensorsFile::open(p)->to_f32(SafetensorsFile::open(p)->at("x")), f);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "keep.safetensors");
}

TEST(Safetensors, BadFilesNameTheFileAndTheProblem) {
  const auto p = temp_path("bad.safetensors");
  { std::ofstream(p, std::ios::binary); }
  expect_error(p, "empty");
  { std::ofstream(p, std::ios::binary) << "abc"; }
  expect_error(p, "truncated");
  write_raw(p, "{}", "", 4000);
  expect_error(p, "truncated");
  write_raw(p, "{}", "", uint64_t(1) << 40);
  expect_error(p, "implausible");
  write_raw(p, "{not json", "");
  expect_error(p, "not valid JSON");
  write_raw(p, R"({"t":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})", "x");
  expect_error(p, "unsupported dtype Q8");
  write_raw(p, R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "12345678");
  expect_error(p, "truncated download");
  write_raw(p, R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678");
  expect_error(p, "needs 12");
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            "123456789012");
  expect_error(p, "overlap");
  write_raw(p, R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "1234");
  expect_error(p, "negative");
  write_raw(p, R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", "12345678");
  expect_error(p, "begin > end");
  write_raw(p, R"([1,2])", "");
  expect_error(p, "not a JSON object");
  expect_error(temp_path("missing.safetensors"), "no such file");
  expect_error(fs::temp_directory_path(), "is a directory");
}

TEST(Half, EveryFiniteHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu)) continue;  // NaN payloads
    EXPECT_EQ(float_to_half(half_to_float(uint16_t(h))), h) << std::hex << h;
  }
}

// The array conversions (F16C eight at a time where built with it) equal the scalar ones:
// every half value, and floats around every rounding case, at odd lengths and offsets.
TEST(Half, ArrayConversionsEqualTheScalarOnes) {
  std::vector<uint16_t> halves(0x10000 + 3);
  for (uint32_t h = 0; h < 0x10000; ++h) halves[h + 3] = uint16_t(h);
  std::vector<float> floats(halves.size() - 3);
  halves_to_floats(halves.data() + 3, floats.data(), floats.size());  // unaligned start
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float want = half_to_float(uint16_t(h));
    if (std::isnan(want)) EXPECT_TRUE(std::isnan(floats[h])) << std::hex << h;
    else EXPECT_EQ(std::bit_cast<uint32_t>(floats[h]), std::bit_cast<uint32_t>(want)) << std::hex << h;
  }
  std::vector<float> values;
  for (uint32_t h = 0; h < 0x7C00; h += 7) {  // each finite half, and just above, below and halfway to the next
    const float a = half_to_float(uint16_t(h)), b = half_to_float(uint16_t(h + 1));
    for (float v : {a, (a + b) / 2, std::nextafter(a, b), std::nextafter((a + b) / 2, a), std::nextafter((a + b) / 2, b)})
      values.insert(values.end(), {v, -v});
  }
  values.insert(values.end(), {1e6f, -1e6f, 65520.0f, std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), 0.0f, -0.0f});
  std::vector<uint16_t> rounded(values.size());
  floats_to_halves(values.data(), rounded.data(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(rounded[i], float_to_half(values[i])) << values[i];
}

TEST(Half, KnownValuesAndRounding) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0xC000), -2.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie -> even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(float_to_half(1e6f), 0x7C00);  // overflow -> inf
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // tie with zero -> even (zero)
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
}
