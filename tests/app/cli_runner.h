#pragma once
// Runs the attnscope binary as a separate process, capturing stdout, stderr and the exit
// status, for tests that drive the command line as a user or script would.
#include <string>
#include <vector>

namespace attn::test {

struct RunResult {
  int code = -1;        // exit code; -1 when the process died from a signal
  bool signaled = false;
  std::string out;
  std::string err;
};

// `wrapper` goes before the binary, e.g. {"setpriv", "--reuid=65534", ...} to run it as
// another user.
RunResult run_attnscope(const std::vector<std::string>& args, const std::vector<std::string>& wrapper = {});

}  // namespace attn::test
