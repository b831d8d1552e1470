#pragma once
// A small, strict, bounded JSON reader for device payloads (untrusted input, SECURITY-CHECKLIST D4):
// RFC 8259 grammar only, at most JsonLimits::maxDepth nested arrays/objects, at most maxBytes of
// text, duplicate object keys refused (Poco::JSON silently keeps one, which lets two readers of
// the same payload disagree), strings must be valid UTF-8 (no lone surrogates), numbers must be
// finite doubles. Plus RFC 6901 JSON pointers and JSON text writing.
//
// Threads: free functions without shared state; any thread may call them concurrently.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatehouse/sdk/value.h"
#include "gatehouse/kit/result.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

struct JsonLimits {
  std::size_t maxBytes = 256 * 1024;
  int maxDepth = 32;   // nested arrays/objects; the root container is depth 1
};

struct JsonMember;

struct JsonValue {
  enum class Kind { Null, Boolean, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;   // Number: the (finite) value
  std::string text;    // String: the decoded UTF-8 text; Number: the literal as written (exact integers)
  std::vector<JsonValue> items;                             // Array
  std::vector<JsonMember> members;    // Object, in document order, names unique

  const JsonValue* member(std::string_view key) const;   // nullptr when absent or not an object
};

// A separate struct rather than std::pair: std::pair needs JsonValue complete where it is declared.
struct JsonMember {
  std::string first;   // the name
  JsonValue second;
};

// "null", "boolean", "number", "string", "array", "object" (for messages).
std::string_view kindName(JsonValue::Kind kind);

// Parses exactly one JSON value (surrounding whitespace allowed). Errors say what and "at offset N".
Result<JsonValue> parseJson(std::string_view text, const JsonLimits& limits = {});

// RFC 6901: "" is the whole document; otherwise "/"-separated reference tokens with ~0 = '~' and
// ~1 = '/'. Returns the unescaped tokens; a '~' followed by anything but 0 or 1 is an error.
Result<std::vector<std::string>> parsePointer(std::string_view pointer);
// Follows parsed tokens. Array indexes are "0" or digits without a leading zero, in range ("-",
// the past-the-end index, names nothing to read). The error names the pointer and the failing step.
Result<const JsonValue*> resolvePointer(const JsonValue& root, const std::vector<std::string>& tokens);

// Compact JSON text of a parsed value (numbers as written).
std::string toJsonText(const JsonValue& value);
// Appends `text` as a JSON string literal (quotes, escapes for '"', '\\' and control characters).
void appendJsonString(std::string& out, std::string_view text);
// JSON text of an SDK value: Int/Long integers, Double shortest round-trip form, Boolean, String,
// Json as is, Bytes as a base64 string, a null value as null. Fails for a non-finite double.
Result<std::string> toJsonText(const sdk::Value& value);

}  // namespace gatehouse::bridge::mqtt
