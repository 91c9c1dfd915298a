#include "record/raw_export.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace attn {

namespace {

std::ofstream open_out(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path.string() + ": cannot write here (check that the folder exists and is writable)");
  return out;
}

void finish(std::ofstream& out, const std::filesystem::path& path) {
  out.close();
  if (!out) throw Error(path.string() + ": writing failed (disk full?)");
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos && (s.empty() || (s.front() != ' ' && s.back() != ' '))) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", double(v));
  return buf;
}

}  // namespace

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  size_t count = 1;
  for (auto d : shape) {
    dims += std::to_string(d) + ", ";
    count *= size_t(d);
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  else if (shape.size() == 1) dims.resize(dims.size() - 1);  // "(N,)"
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  auto out = open_out(path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  const char len_bytes[2] = {char(len & 0xff), char(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(data), std::streamsize(count * sizeof(float)));
  finish(out, path);
}

void write_npy(const std::filesystem::path& path, const Eigen::Ref<const RowMatrix>& m) {
  const RowMatrix dense = m;  // contiguous rows
  write_npy(path, dense.data(), {dense.rows(), dense.cols()});
}

std::vector<std::string> numbered_labels(const std::string& prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(std::string(prefix).append(std::to_string(i)));
  return out;
}

void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto out = open_out(path);
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_cell(cells[i]);
    out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  finish(out, path);
}

void write_matrix_csv(const std::filesystem::path& path, const Eigen::Ref<const RowMatrix>& m, const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels, const std::string& corner) {
  std::vector<std::string> header{corner};
  for (Eigen::Index j = 0; j < m.cols(); ++j) header.push_back(size_t(j) < col_labels.size() ? col_labels[j] : std::to_string(j));
  std::vector<std::vector<std::string>> rows;
  rows.reserve(size_t(m.rows()));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    std::vector<std::string> r{size_t(i) < row_labels.size() ? row_labels[i] : std::to_string(i)};
    for (Eigen::Index j = 0; j < m.cols(); ++j) r.push_back(number(m(i, j)));
    rows.push_back(std::move(r));
  }
  write_csv(path, header, rows);
}

std::vector<std::filesystem::path> write_recording_npy(const AttentionRecording& rec, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the folder (" + ec.message() + ")");
  std::vector<std::filesystem::path> files;
  const int H = rec.num_heads(), N = rec.num_tokens();
  for (int l = 0; l < rec.num_layers(); ++l) {
    char name[32];
    std::snprintf(name, sizeof name, "layer_%02d.npy", l);
    const auto path = dir / name;
    std::vector<float> block(size_t(H) * N * N);
    for (int h = 0; h < H; ++h) {
      RowMatrix scratch;
      const ConstMatrixMap m = rec.head_for_sweep(l, h, scratch);
      std::copy(m.data(), m.data() + m.size(), block.begin() + size_t(h) * N * N);
    }
    write_npy(path, block.data(), {H, N, N});
    files.push_back(path);
  }
  const auto tokens = dir / "tokens.json";
  auto out = open_out(tokens);
  nlohmann::json j = {{"model", rec.meta().model}, {"tokens", rec.meta().tokens}, {"text", rec.meta().text},
                      {"shape", "(heads, query, key) per layer"}};
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  finish(out, tokens);
  files.push_back(tokens);
  return files;
}

}  // namespace attn
