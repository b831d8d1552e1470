#pragma once
// The kit's one JSON reader and writer for untrusted input: device payloads (MQTT), bearer tokens
// and JWKS documents (OAuth2), REST bodies. The grammar and the UTF-8 check come from simdjson
// (Debian's libsimdjson-dev); this layer adds our strictness, which no library gives as a whole:
//  - duplicate member names are refused (after unescaping): a reader that keeps one of them lets
//    two readers of the same document disagree ("alg" twice in a JWT header);
//  - nesting is bounded (JsonLimits::maxDepth, checked before descending, so hostile nesting
//    costs neither stack nor time), and so are the document size and each number literal;
//  - numbers must be finite doubles (1e400 and 1e-400 are refused, not rounded to inf or 0);
//  - strings must be valid UTF-8 without lone surrogates, raw or escaped; no byte order mark;
//  - nothing but whitespace after the value.
// Errors say what failed and at which byte offset, and never echo the input (a JWT's bytes must
// not reach a log). Plus RFC 6901 JSON pointers and compact JSON text writing.
// simdjson stays private to the kit: no simdjson type appears in this header.
// The choice of simdjson over nlohmann-json's SAX parser was measured: bench/RESULTS.md run 9.
//
// Threads: parseJson() and the other free functions have no shared state and may be called from
// any thread concurrently (each thread keeps its own parser buffers). A Json tree is a plain
// value: read it from many threads at once, write it from one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/kit/json_write.h"   // the writer's building blocks, for callers that compose JSON
#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::kit {

struct JsonMember;

// One JSON value. Members keep document order; the parser refuses duplicate names, so find() has
// at most one answer.
struct Json {
  enum class Kind : std::uint8_t { Null, Boolean, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;           // Boolean
  double number = 0;              // Number: the (finite) value
  std::string text;               // String: the decoded UTF-8 text; Number: the literal as written
  std::vector<Json> items;        // Array
  std::vector<JsonMember> members;   // Object, in document order, names unique

  bool isNull() const noexcept { return kind == Kind::Null; }
  bool isBoolean() const noexcept { return kind == Kind::Boolean; }
  bool isNumber() const noexcept { return kind == Kind::Number; }
  bool isString() const noexcept { return kind == Kind::String; }
  bool isArray() const noexcept { return kind == Kind::Array; }
  bool isObject() const noexcept { return kind == Kind::Object; }

  // The member named `name` of an object, or nullptr (also for non-objects).
  const Json* find(std::string_view name) const noexcept;
  // True for a Number written without fraction or exponent whose value fits std::int64_t, so
  // integers above 2^53 stay exact (JWT exp/iat, device counters).
  bool isInteger() const noexcept;
  // The value when isInteger(), otherwise 0.
  std::int64_t asInt() const noexcept;
};

// A separate struct rather than std::pair: std::pair<std::string, Json> would need Json complete
// inside its own definition.
struct JsonMember {
  std::string name;
  Json value;
};

// "null", "boolean", "number", "string", "array", "object" (for messages).
std::string_view kindName(Json::Kind kind) noexcept;

// Bounds that keep the parser's time and memory proportional to what the caller allows.
struct JsonLimits {
  std::size_t maxBytes = 256 * 1024;   // the whole text
  int maxDepth = 32;                   // nested arrays/objects; the root container is depth 1
  std::size_t maxNumberLength = 400;   // characters of one number literal
};

// Parses exactly one JSON value (RFC 8259; surrounding JSON whitespace allowed). A BadRequest says
// "invalid JSON: <what> at offset N", or that the text is larger than the limit.
Result<Json> parseJson(std::string_view text, const JsonLimits& limits = {});

// --- JSON pointers (RFC 6901) ---------------------------------------------------------------------
// "" is the whole document; otherwise "/"-separated reference tokens with ~0 = '~' and ~1 = '/'.
// Returns the unescaped tokens; a '~' followed by anything but 0 or 1 is an error.
Result<std::vector<std::string>> parsePointer(std::string_view pointer);
// Follows parsed tokens. Array indexes are "0" or digits without a leading zero, in range ("-",
// the past-the-end index, names nothing to read). The error names the pointer and the failing step.
// The pointer returned points into `root`.
Result<const Json*> resolvePointer(const Json& root, const std::vector<std::string>& tokens);

// --- writing --------------------------------------------------------------------------------------
// Compact JSON text of a parsed value (numbers as written, so parse -> write keeps every digit).
// Object members in document order, or ByName: sorted by name (byte order) at every level, for a
// canonical form or to keep the order a std::map-based writer gave (REST json values).
enum class MemberOrder : std::uint8_t { Document, ByName };
std::string toJsonText(const Json& value, MemberOrder order = MemberOrder::Document);
void appendJsonText(std::string& out, const Json& value, MemberOrder order = MemberOrder::Document);
// JSON text of an SDK value: Int/Long integers, Double as json::appendDouble writes it (shortest
// round-trip form, ".0" on integral values), Boolean, String, Json as is, Bytes as a base64
// string, a null value as null. A BadRequest for a non-finite double (JSON has none).
Result<std::string> toJsonText(const sdk::Value& value);

}  // namespace gatehouse::kit
