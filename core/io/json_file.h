#pragma once
// Reading JSON files with errors that name the file.
#include <filesystem>
#include <nlohmann/json.hpp>

namespace attn {

// Parses `path` as JSON. Throws attn::Error naming the file when it is missing, unreadable
// or malformed (with the parser's position).
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace attn
