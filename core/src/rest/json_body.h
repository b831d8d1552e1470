#pragma once
// Parsing of the JSON bodies the REST API accepts (untrusted input; fuzzed by
// tests/fuzz/rest_body). Any thread.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace gatehouse::core::rest {

inline constexpr std::size_t kMaxJsonDepth = 32;

// SET body: {"value": X} or sensiNact's parameter list [{"name":"value","type":..,"value":X}].
// Numbers become long (integral) or double; objects and arrays become json values.
Result<model::Value> parseSetBody(std::string_view body);

// ACT body: {"parameters":[{"name","type","value"}...]}, a plain list of such objects, a plain
// object {"name": value, ...}, or an empty body (no parameters). Duplicate names are refused.
Result<std::vector<model::NamedValue>> parseActBody(std::string_view body);

// Snapshot body: {"filter": "...", "includeMetadata": bool} (both optional) or empty.
struct SnapshotRequest {
  std::string filter;
  bool includeMetadata = false;
};
Result<SnapshotRequest> parseSnapshotBody(std::string_view body);

}  // namespace gatehouse::core::rest
