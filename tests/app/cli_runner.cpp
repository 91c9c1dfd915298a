#include "cli_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "test_support.h"

namespace attn::test {

namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

RunResult run_attnscope(const std::vector<std::string>& args, const std::vector<std::string>& wrapper) {
  const auto err_path = std::filesystem::temp_directory_path() / ("attn_cli_err_" + std::to_string(::getpid()));
  std::string cmd;
  for (const auto& w : wrapper) cmd += quote(w) + " ";
  cmd += quote(ATTNSCOPE_EXE);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " 2>" + quote(err_path.string()) + " </dev/null";
  RunResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  // The shell reports a child killed by signal S as exit code 128 + S.
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  r.signaled = WIFSIGNALED(status) || r.code > 128;
  r.err = read_file(err_path);
  std::error_code ec;
  std::filesystem::remove(err_path, ec);
  return r;
}

}  // namespace attn::test
