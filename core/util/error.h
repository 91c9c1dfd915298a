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

// Thrown by the memory guard before a run that would need more than the budget allows; the
// front end may offer a smaller run (fewer layers, no Q/K/V) or force it.
class MemoryBudgetError : public Error {
 public:
  MemoryBudgetError(const std::string& message, unsigned long long needed, unsigned long long budget)
      : Error(message), needed(needed), budget(budget) {}
  unsigned long long needed, budget;  // bytes
};

// Thrown when a progress callback asks a long operation to stop.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace attn
