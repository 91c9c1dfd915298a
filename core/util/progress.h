#pragma once
// Progress reporting for long core calls. The callback receives a fraction in [0, 1] and a
// short stage name; returning false asks the operation to stop, which it does by throwing
// attn::Cancelled at the next check. An empty callback means "no reporting, never cancel".
#include <functional>
#include <string_view>

#include "util/error.h"

namespace attn {

using ProgressFn = std::function<bool(double fraction, std::string_view stage)>;

inline void report_progress(const ProgressFn& fn, double fraction, std::string_view stage) {
  if (fn && !fn(fraction, stage)) throw Cancelled();
}

}  // namespace attn
