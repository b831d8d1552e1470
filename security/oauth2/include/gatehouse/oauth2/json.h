#pragma once
// Strict RFC 8259 JSON parser for untrusted input (JWT headers and payloads, JWKS documents).
// Threads: parseJsonStrict() is pure and may be called from any thread concurrently; a Json tree
// is a plain value (read it from many threads, write it from one).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::oauth2 {

// One JSON value. Members keep document order; duplicates are rejected by the parser, so find()
// has exactly one answer.
struct Json {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool b = false;
  double number = 0.0;
  std::string text;  // String: the unescaped value (UTF-8). Number: its source text (for isInteger/asInt).
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  // Declared here, defaulted in json.cpp: inline implicit members would need
  // std::pair<std::string, Json> complete inside Json's own definition (clang + libstdc++ reject it).
  Json();
  Json(const Json&);
  Json(Json&&) noexcept;
  Json& operator=(const Json&);
  Json& operator=(Json&&) noexcept;
  ~Json();

  // The member named `name` of an object, or nullptr (also for non-objects).
  const Json* find(std::string_view name) const;
  // True for a Number written without fraction or exponent whose value fits std::int64_t.
  bool isInteger() const;
  // The value when isInteger(), otherwise 0.
  std::int64_t asInt() const;
};

// Bounds that keep the parser's time, memory and stack use fixed (depth = nesting of arrays/objects).
struct JsonLimits {
  std::size_t maxBytes = 16384;
  int maxDepth = 16;
};

struct JsonResult {
  std::optional<Json> value;
  std::string error;  // set iff !value; names what failed and the byte offset, never the input text
};

// Rejects: empty input, size > maxBytes, depth > maxDepth, duplicate member names (after
// unescaping), invalid UTF-8, encoded or escaped lone surrogates, raw control characters in
// strings, leading zeros, NaN/Infinity and other non-JSON literals, numbers outside double range,
// and anything but whitespace after the value. Recursion never goes deeper than maxDepth.
JsonResult parseJsonStrict(std::string_view text, JsonLimits limits = {});

}  // namespace gatehouse::oauth2
