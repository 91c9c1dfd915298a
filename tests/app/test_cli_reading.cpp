// `attnscope export` reading a recording as View ▸ Reading does: --hide-special, --hide-first,
// --words, --sentences, --word-rule.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_runner.h"
#include "test_support.h"

namespace {

std::string fixture(const std::string& name) { return (attn::test::fixtures_dir() / "models" / name).string(); }

// A CSV matrix's label column and numbers (no label holds a comma here).
struct Csv {
  std::vector<std::string> labels;
  std::vector<std::vector<double>> rows;
};
Csv read_csv(const std::filesystem::path& path) {
  std::istringstream in(attn::test::read_file(path));
  Csv csv;
  std::string line;
  std::getline(in, line);  // the header: the key labels
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string cell;
    std::getline(cells, cell, ',');
    csv.labels.push_back(cell);
    csv.rows.emplace_back();
    while (std::getline(cells, cell, ',')) csv.rows.back().push_back(std::stod(cell));
  }
  return csv;
}

}  // namespace

TEST(CliReading, ExportHidesSpecialTokensAndMergesSentences) {
  const attn::test::TempDir dir;
  const auto rec = (dir.path() / "bert.safetensors").string(), csv = (dir.path() / "sentences.csv").string();
  auto r = attn::test::run_attnscope({"record", "--model", fixture("bert_mlm"), "--text", "the cat sat. it was tired!", "--out", rec});
  ASSERT_EQ(r.code, 0) << r.err;
  r = attn::test::run_attnscope({"export", "--recording", rec, "--layer", "1", "--head", "mean", "--hide-special", "--sentences", "--out", csv});
  ASSERT_EQ(r.code, 0) << r.err;
  const Csv m = read_csv(csv);
  ASSERT_EQ(m.rows.size(), 4u);  // [CLS], two sentences, [SEP]
  EXPECT_NE(m.labels[1].find("the cat sat."), std::string::npos) << m.labels[1];
  for (const auto& row : m.rows) {
    ASSERT_EQ(row.size(), 4u);
    EXPECT_EQ(row[0], 0.0);
    EXPECT_EQ(row[3], 0.0);
    EXPECT_NEAR(row[1] + row[2], 1.0, 1e-5);
  }
}

TEST(CliReading, UsageErrorsAndHelp) {
  const auto both = attn::test::run_attnscope({"export", "--recording", "x", "--words", "--sentences", "--out", "x.csv"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--words or --sentences"), std::string::npos) << both.err;
  const auto rule = attn::test::run_attnscope({"export", "--recording", "x", "--word-rule", "median", "--out", "x.csv"});
  EXPECT_EQ(rule.code, 2);
  EXPECT_NE(rule.err.find("sum-keys or mean-keys"), std::string::npos) << rule.err;
  const auto help = attn::test::run_attnscope({"export", "--help"});
  for (const char* flag : {"--hide-special", "--hide-first", "--sentences", "--word-rule"}) EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}
