// config.json: any JSON document (or not) to ModelConfig.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "model/model_config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    (void)attn::ModelConfig::from_json(j, "config.json");
  } catch (const attn::Error&) {
  }
  return 0;
}
