#pragma once
// One exception type for every recoverable failure in the core. Its message names the
// file, tensor or key involved, what was wrong and, where possible, a hint to fix it.
// The core never aborts or exits: front ends catch attn::Error and show the message.
#include <stdexcept>
#include <string>

namespace attn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when a progress callback asks a long operation to stop.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace attn
