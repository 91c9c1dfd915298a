// The bad-input matrix: every way a user's files or text can be wrong, each answered by the
// real binary with a non-zero exit (never a crash) and a message that names the file and
// the problem. Cases build their bad input in a private temp folder from the fixtures.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Case {
  std::string name;
  // Prepares the input in `dir` and returns the attnscope arguments.
  std::function<std::vector<std::string>(const fs::path& dir)> setup;
  std::vector<std::string> expect;  // substrings of stderr ("$DIR" stands for the temp folder)
  int code = 1;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

fs::path fixture(const std::string& name) { return attn::test::fixtures_dir() / "models" / name; }

fs::path copy_model(const std::string& name, const fs::path& dir) {
  const auto dst = dir / name;
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(fixture(name)))
    if (e.is_regular_file()) fs::copy_file(e.path(), dst / e.path().filename());
  return dst;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes; }

std::string read(const fs::path& p) { return attn::test::read_file(p); }

void edit_json(const fs::path& p, const std::function<void(json&)>& f) {
  json j = json::parse(read(p));
  f(j);
  write(p, j.dump(2));
}

// Rewrites a safetensors file's header (the JSON), keeping its data bytes.
void edit_header(const fs::path& p, const std::function<void(json&)>& f) {
  const std::string all = read(p);
  uint64_t len = 0;
  std::memcpy(&len, all.data(), 8);
  json h = json::parse(all.substr(8, len));
  f(h);
  std::string hs = h.dump();
  hs.append((8 - hs.size() % 8) % 8, ' ');
  const uint64_t n = hs.size();
  write(p, std::string(reinterpret_cast<const char*>(&n), 8) + hs + all.substr(8 + len));
}

std::vector<std::string> info(const fs::path& m) { return {"info", "--model", m.string()}; }
std::vector<std::string> predict(const fs::path& m, const std::string& text) { return {"predict", "--model", m.string(), "--text", text}; }

// A recording made by the binary itself, to be damaged by a case.
fs::path make_recording(const fs::path& dir) {
  const auto out = dir / "rec.safetensors";
  const auto r = attn::test::run_attnscope({"record", "--model", fixture("gpt2").string(), "--text", "the cat sat", "--out", out.string()});
  if (r.code != 0) throw std::runtime_error("could not make a recording: " + r.err);
  return out;
}

// A BMP file header (BITMAPINFOHEADER, 24 bits) declaring width × height and no pixels.
std::string bmp_header(int32_t width, int32_t height) {
  std::string h(54, '\0');
  auto put32 = [&](size_t at, uint32_t v) { std::memcpy(h.data() + at, &v, 4); };
  h[0] = 'B', h[1] = 'M';
  put32(2, 54), put32(10, 54), put32(14, 40), put32(18, uint32_t(width)), put32(22, uint32_t(height));
  h[26] = 1, h[28] = 24;
  return h;
}

std::vector<std::string> predict_image(const fs::path& image) {
  return {"predict", "--model", fixture("vit_cls").string(), "--image", image.string()};
}

std::vector<Case> cases() {
  const std::string W = "model.safetensors";
  return {
      {"EmptyWeights", [=](auto d) { auto m = copy_model("gpt2", d); write(m / W, ""); return info(m); }, {"$DIR/gpt2/" + W, "empty"}},
      {"TruncatedHeader", [=](auto d) { auto m = copy_model("gpt2", d); write(m / W, read(m / W).substr(0, 5)); return info(m); },
       {"$DIR/gpt2/" + W, "truncated"}},
      {"TruncatedData", [=](auto d) { auto m = copy_model("gpt2", d); auto s = read(m / W); write(m / W, s.substr(0, s.size() - 100)); return info(m); },
       {"$DIR/gpt2/" + W, "truncated download"}},
      {"HeaderLongerThanFile", [=](auto d) { auto m = copy_model("gpt2", d); auto s = read(m / W); uint64_t big = s.size() * 2;
         std::memcpy(s.data(), &big, 8); write(m / W, s); return info(m); }, {"$DIR/gpt2/" + W, "truncated"}},
      {"OffsetsOutsideFile", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_header(m / W, [](json& h) { h["transformer.wpe.weight"]["data_offsets"][1] = 1u << 30; }); return info(m); },
       {"$DIR/gpt2/" + W, "transformer.wpe.weight"}},
      {"OverlappingTensors", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_header(m / W, [](json& h) { h["transformer.ln_f.bias"]["data_offsets"] = h["transformer.ln_f.weight"]["data_offsets"]; });
         return info(m); }, {"$DIR/gpt2/" + W, "overlap"}},
      {"WrongDtype", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_header(m / W, [](json& h) { h["transformer.ln_f.bias"]["dtype"] = "I32"; }); return info(m); },
       {"$DIR/gpt2/" + W, "transformer.ln_f.bias", "dtype I32"}},
      {"UnknownDtype", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_header(m / W, [](json& h) { h["transformer.ln_f.bias"]["dtype"] = "F8_E4M3"; }); return info(m); },
       {"$DIR/gpt2/" + W, "unsupported dtype F8_E4M3"}},
      {"ShapeDisagreesWithConfig", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_json(m / "config.json", [](json& j) { j["n_embd"] = 96; j["n_head"] = 3; }); return info(m); },
       {"$DIR/gpt2/" + W, "has shape", "config.json implies"}},
      {"MissingTensor", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_json(m / "config.json", [](json& j) { j["n_layer"] = 3; }); return info(m); },
       {"$DIR/gpt2/" + W, "missing tensor 'transformer.h.2."}},
      {"UnknownModelType", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_json(m / "config.json", [](json& j) { j["model_type"] = "mamba"; }); return info(m); },
       {"$DIR/gpt2/config.json", "unknown model_type 'mamba'"}},
      {"GroupedHeadsDoNotDivide", [=](auto d) { auto m = copy_model("llama_gqa", d);
         edit_json(m / "config.json", [](json& j) { j["num_key_value_heads"] = 3; }); return info(m); },
       {"$DIR/llama_gqa/config.json", "num_attention_heads 4 is not a multiple of num_key_value_heads 3"}},
      {"SlidingLayerWithoutWindow", [=](auto d) { auto m = copy_model("mistral_sharded_f16", d);
         edit_json(m / "config.json", [](json& j) { j["sliding_window"] = nullptr; j["layer_types"] = {"sliding_attention", "full_attention"}; });
         return info(m); },
       {"$DIR/mistral_sharded_f16/config.json", "layer 0 is a sliding-window layer but the config gives no sliding_window"}},
      {"UnsupportedRopeType", [=](auto d) { auto m = copy_model("llama_gqa", d);
         edit_json(m / "config.json", [](json& j) { j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}}; }); return info(m); },
       {"$DIR/llama_gqa/config.json", "rope type 'dynamic' is not supported"}},
      {"TokenizerSplitRegexInvalid", [=](auto d) { auto m = copy_model("llama_gqa", d);
         fs::copy_file(attn::test::fixtures_dir() / "tokenizer" / "llama_style" / "tokenizer.json", m / "tokenizer.json");
         edit_json(m / "tokenizer.json", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}+"; });
         return info(m); },
       {"$DIR/llama_gqa/tokenizer.json", "pre_tokenizer.pretokenizers[0].pattern.Regex", "invalid regex"}},
      {"ConfigMissingKey", [=](auto d) { auto m = copy_model("bert_mlm", d);
         edit_json(m / "config.json", [](json& j) { j.erase("hidden_size"); }); return info(m); },
       {"$DIR/bert_mlm/config.json", "missing required key 'hidden_size'"}},
      {"ConfigNotJson", [=](auto d) { auto m = copy_model("bert_mlm", d); write(m / "config.json", "{\"model_type\": "); return info(m); },
       {"$DIR/bert_mlm/config.json", "not valid JSON"}},
      {"ConfigMissing", [=](auto d) { auto m = copy_model("bert_mlm", d); fs::remove(m / "config.json"); return info(m); },
       {"$DIR/bert_mlm/config.json", "no such file"}},
      {"NoWeights", [=](auto d) { auto m = copy_model("bert_mlm", d); fs::remove(m / W); return info(m); },
       {"$DIR/bert_mlm", "no weights found"}},
      {"PickleOnly", [=](auto d) { auto m = copy_model("bert_mlm", d); fs::rename(m / W, m / "pytorch_model.bin"); return info(m); },
       {"$DIR/bert_mlm/pytorch_model.bin", "not supported", "safetensors"}},
      {"MissingShard", [=](auto d) { auto m = copy_model("gpt2_sharded", d); fs::remove(m / "model-00001-of-00002.safetensors"); return info(m); },
       {"$DIR/gpt2_sharded/model-00001-of-00002.safetensors", "missing"}},
      {"ShardIndexNotJson", [=](auto d) { auto m = copy_model("gpt2_sharded", d); write(m / "model.safetensors.index.json", "[1,"); return info(m); },
       {"$DIR/gpt2_sharded/model.safetensors.index.json", "not valid JSON"}},
      {"MissingTokenizer", [=](auto d) { auto m = copy_model("bert_mlm", d); fs::remove(m / "vocab.txt"); return info(m); },
       {"$DIR/bert_mlm", "vocab.txt"}},
      {"VocabJsonMalformed", [=](auto d) { auto m = copy_model("gpt2", d); write(m / "vocab.json", "{bad"); return info(m); },
       {"$DIR/gpt2/vocab.json", "invalid JSON"}},
      {"MergesLineMalformed", [=](auto d) { auto m = copy_model("gpt2", d); write(m / "merges.txt", read(m / "merges.txt") + "a b c\n"); return info(m); },
       {"$DIR/gpt2/merges.txt", "line"}},
      {"TokenizerJsonMalformed", [=](auto d) { auto m = copy_model("bert_cls", d); write(m / "tokenizer.json", "{\"model\":"); return info(m); },
       {"$DIR/bert_cls/tokenizer.json", "invalid JSON"}},
      {"ModelFolderIsAFile", [=](auto d) { write(d / "model", "x"); return info(d / "model"); }, {"$DIR/model", "is a file"}},
      {"ModelFolderMissing", [=](auto d) { return info(d / "nowhere"); }, {"$DIR/nowhere", "no such model folder"}},
      {"InvalidUtf8Text", [=](auto) { return predict(fixture("gpt2"), "abc\xff"); }, {"invalid UTF-8", "byte offset 3"}},
      {"EmptyText", [=](auto) { return predict(fixture("gpt2"), ""); }, {"input is empty"}},
      {"TextLongerThanPositions", [=](auto) { std::string t; for (int i = 0; i < 100; ++i) t += "word "; return predict(fixture("gpt2"), t); },
       {"tokens but gpt2 has only 64 positions", "--truncate"}},
      {"PairForGpt2", [=](auto) { auto a = predict(fixture("gpt2"), "a"); a.insert(a.end(), {"--pair", "b"}); return a; },
       {"does not take sentence pairs"}},
      {"NoMaskToken", [=](auto) { return predict(fixture("bert_mlm"), "no mask here"); }, {"no mask token", "[MASK]"}},
      {"BareModelPredict", [=](auto) { return predict(fixture("bert_base"), "hello"); }, {"no prediction head"}},
      {"RecordToUnwritablePlace", [=](auto d) { return std::vector<std::string>{"record", "--model", fixture("gpt2").string(), "--text", "hi",
                                                                               "--out", (d / "no" / "such" / "dir" / "r.safetensors").string()}; },
       {"$DIR/no/such/dir/r.safetensors", "cannot write"}},
      {"RecordingUnknownVersion", [=](auto d) { auto r = make_recording(d);
         edit_header(r, [](json& h) { h["__metadata__"]["version"] = "7"; });
         return std::vector<std::string>{"info", "--recording", r.string()}; }, {"$DIR/rec.safetensors", "version 7 is not supported"}},
      {"RecordingDisagreesWithMetadata", [=](auto d) { auto r = make_recording(d);
         edit_header(r, [](json& h) { h["__metadata__"]["num_heads"] = "5"; });
         return std::vector<std::string>{"info", "--recording", r.string()}; }, {"$DIR/rec.safetensors", "metadata implies"}},
      {"RecordingIsAModel", [=](auto) { return std::vector<std::string>{"info", "--recording", (fixture("gpt2") / W).string()}; },
       {"gpt2/" + W, "not an AttnScope recording"}},
      {"RecordingTruncated", [=](auto d) { auto r = make_recording(d); auto s = read(r); write(r, s.substr(0, s.size() / 2));
         return std::vector<std::string>{"info", "--recording", r.string()}; }, {"$DIR/rec.safetensors", "truncated"}},
      // Found by fuzz_recording: a number far outside int's range where a 0/1 flag belongs was
      // converted with get<int>() (undefined behaviour).
      {"RecordingSpecialTokensOutOfRange", [=](auto d) { auto r = make_recording(d);
         edit_header(r, [](json& h) { h["__metadata__"]["special_tokens"] = "[0,0,1.4e56]"; });
         return std::vector<std::string>{"info", "--recording", r.string()}; }, {"$DIR/rec.safetensors", "'special_tokens' must be a JSON array of 0/1 flags"}},
      {"RecordingLayersOutOfRange", [=](auto d) { auto r = make_recording(d);
         edit_header(r, [](json& h) { auto& md = h["__metadata__"]; md["layers"] = "[0, 1e300]"; });
         return std::vector<std::string>{"info", "--recording", r.string()}; }, {"$DIR/rec.safetensors", "metadata 'layers' must list"}},
      {"ConfigNumberOutOfRange", [=](auto d) { auto m = copy_model("gpt2", d);
         edit_json(m / "config.json", [](json& j) { j["n_head"] = 1.4e56; }); return info(m); },
       {"$DIR/gpt2/config.json", "'n_head' must be a positive integer"}},
      {"ImageThatIsNotAnImage", [=](auto d) { write(d / "photo.png", "this is text, not a PNG"); return predict_image(d / "photo.png"); },
       {"$DIR/photo.png", "not an image"}},
      {"ImageOfZeroPixels", [=](auto d) { write(d / "empty.bmp", bmp_header(0, 0)); return predict_image(d / "empty.bmp"); },
       {"$DIR/empty.bmp"}},
      {"ImageTooLarge", [=](auto) { return predict_image(attn::test::fixtures_dir() / "images" / "huge_header.png"); },
       {"huge_header.png", "20000x20000 pixels is too large"}},
      {"ImageMissing", [=](auto d) { return predict_image(d / "nowhere.jpg"); }, {"$DIR/nowhere.jpg"}},
      {"BadOptionValue", [=](auto) { auto a = predict(fixture("gpt2"), "a"); a.insert(a.end(), {"--top", "zero"}); return a; },
       {"--top must be a whole number"}, 2},
  };
}

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, FailsCleanlyNamingFileAndProblem) {
  const Case& c = GetParam();
  const auto dir = fs::temp_directory_path() / ("attn_bad_" + std::to_string(::getpid()) + "_" + c.name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto r = attn::test::run_attnscope(c.setup(dir));
  EXPECT_FALSE(r.signaled) << "crashed: " << r.err;
  EXPECT_EQ(r.code, c.code) << r.err;
  EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << "a sanitizer reported:\n" << r.err;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << "a sanitizer reported:\n" << r.err;
  for (std::string want : c.expect) {
    if (auto p = want.find("$DIR"); p != std::string::npos) want.replace(p, 4, dir.string());
    EXPECT_NE(r.err.find(want), std::string::npos) << "stderr lacks '" << want << "':\n" << r.err;
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Matrix, BadInput, ::testing::ValuesIn(cases()), [](const auto& info) { return info.param.name; });

TEST(BadInputMatrix, HasAtLeastThirtyCases) { EXPECT_GE(cases().size(), 30u); }

TEST(BadInputMatrix, NonFiniteWeightsWarnButWork) {
  const auto dir = fs::temp_directory_path() / ("attn_bad_nan_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto m = copy_model("gpt2", dir);
  // Overwrite ln_f.bias with NaNs in place.
  size_t begin = 0, n = 0;
  {
    const auto st = attn::SafetensorsFile::open(m / "model.safetensors");
    begin = st->at("transformer.ln_f.bias").begin;
    n = st->at("transformer.ln_f.bias").nbytes;
  }
  std::string bytes = read(m / "model.safetensors");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i < n; i += 4) std::memcpy(bytes.data() + begin + i, &nan, 4);
  write(m / "model.safetensors", bytes);
  const auto r = attn::test::run_attnscope(info(m));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("NaN or infinite"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(BadInputMatrix, MemoryGuardRefusesUnlessForced) {
  ::setenv("ATTNSCOPE_MEMORY_BUDGET", "4K", 1);
  const auto refused = attn::test::run_attnscope(predict(fixture("gpt2"), "a sentence long enough to need more than four kilobytes"));
  const auto forced = attn::test::run_attnscope(
      {"predict", "--model", fixture("gpt2").string(), "--text", "a sentence long enough to need more than four kilobytes", "--force"});
  ::unsetenv("ATTNSCOPE_MEMORY_BUDGET");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("above the memory budget of 4.0 KiB"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(forced.code, 0) << forced.err;
}

}  // namespace

// Every input in ../shared/fuzz-findings once made AttnScope misbehave; each must now end in a
// clear error from `attnscope info --recording` that names the file, with no sanitizer report.
TEST(BadInputMatrix, SharedFuzzFindingsEndInClearErrors) {
  const auto dir = attn::test::shared_dir("fuzz-findings");
  if (dir.empty()) GTEST_SKIP() << "../shared/fuzz-findings is absent (it lives beside the repository only)";
  int checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".md") continue;
    const auto r = attn::test::run_attnscope({"info", "--recording", e.path().string()});
    EXPECT_FALSE(r.signaled) << e.path() << " crashed: " << r.err;
    EXPECT_EQ(r.code, 1) << e.path() << ": " << r.err;
    EXPECT_NE(r.err.find(e.path().string() + ": "), std::string::npos) << "the error does not name " << e.path() << ":\n" << r.err;
    EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << e.path() << ": a sanitizer reported:\n" << r.err;
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << e.path() << ": a sanitizer reported:\n" << r.err;
    ++checked;
  }
  EXPECT_GE(checked, 2) << "expected the findings named in " << (dir / "README.md");
}

// A model folder, a config.json and a weights file the user may not read. Root reads
// everything, so as root (as CI runs) the binary runs as user 65534 through setpriv.
TEST(BadInputMatrix, UnreadableFolderAndFilesNamePermission) {
  std::vector<std::string> wrapper;
  if (::geteuid() == 0) {
    if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "running as root without setpriv (util-linux): cannot drop privileges";
    wrapper = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    if (attn::test::run_attnscope({"--help"}, wrapper).code != 0)
      GTEST_SKIP() << "the attnscope binary is not reachable for user 65534 (its build folder is private)";
  }
  const auto dir = fs::temp_directory_path() / ("attn_perm_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const auto m = copy_model("gpt2", dir);
  auto check = [&](const fs::path& locked, const std::string& want_file) {
    const auto before = fs::status(locked).permissions();
    fs::permissions(locked, fs::perms::none);
    const auto r = attn::test::run_attnscope(info(m), wrapper);
    fs::permissions(locked, before);
    EXPECT_FALSE(r.signaled) << r.err;
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(want_file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ermission denied"), std::string::npos) << r.err;
  };
  check(m, m.string());
  check(m / "config.json", (m / "config.json").string());
  check(m / "model.safetensors", (m / "model.safetensors").string());
  check(m / "vocab.json", (m / "vocab.json").string());
  fs::remove_all(dir);
}
