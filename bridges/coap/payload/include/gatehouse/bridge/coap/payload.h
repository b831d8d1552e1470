#pragma once
// The CoAP bridge's payload decoders (pure logic, no sockets; fuzzed): a payload becomes values by
// its Content-Format option, never by guessing:
//   0 text/plain, 50 application/json, 60 application/cbor -> one value (decodeValue);
//   110 application/senml+json, 112 application/senml+cbor -> records (RFC 8428, decodeSenml*);
//   40 application/link-format -> the links of /.well-known/core (RFC 6690, parseLinkFormat).
// JSON and CBOR are read by the kit (kit::parseJson, kit::parseCbor) with their limits.
//
// Threads: pure functions, any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatehouse/kit/json.h"
#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::bridge::coap {

using kit::Result;

// CoAP Content-Format numbers (RFC 7252 12.3, RFC 8428).
enum class ContentFormat : std::uint16_t {
  TextPlain = 0,
  LinkFormat = 40,
  OctetStream = 42,
  Json = 50,
  Cbor = 60,
  SenmlJson = 110,
  SenmlCbor = 112,
};

// "text/plain", "application/json", ... or "content-format N".
std::string contentFormatName(std::uint16_t format);
bool isSenml(std::uint16_t format) noexcept;

// One resolved SenML record: base values applied (RFC 8428 4.6).
struct SenmlRecord {
  std::string name;         // bn + n, checked against RFC 8428's name rule
  sdk::Value value;         // v (Double), vs (String), vb (Boolean), vd (Bytes), or s (sum, Double)
  bool sum = false;         // the value came from s (a sum), not v
  std::string unit;         // u, else bu; "" when none
  std::int64_t timeMs = 0;  // absolute ms since 1970 (relative times resolved against nowMs)
};

struct SenmlLimits {
  std::size_t maxRecords = 1024;
};

// A SenML pack (a JSON array of records, or its CBOR form with integer labels). nowMs resolves
// relative times (bt + t below 2^28 s). Errors name the record index and the field: a record
// without a value, two values, a name outside the rule, an unknown must-understand field (ending
// in "_"), a version above 10, a value of the wrong kind.
Result<std::vector<SenmlRecord>> decodeSenmlJson(std::string_view payload, std::int64_t nowMs, const SenmlLimits& limits = {});
Result<std::vector<SenmlRecord>> decodeSenmlCbor(std::string_view payload, std::int64_t nowMs, const SenmlLimits& limits = {});
Result<std::vector<SenmlRecord>> decodeSenml(const kit::Json& pack, std::int64_t nowMs, const SenmlLimits& limits = {});

// One value from a text/plain, JSON or CBOR payload. text/plain: an integer (Long), a decimal
// number (Double), true/false (Boolean), else the UTF-8 text (String). JSON/CBOR: a scalar becomes
// the matching value; an object or array becomes a Json value (its compact JSON text). Other
// formats (and SenML: use decodeSenml*) are refused with their name; octet-stream becomes Bytes.
Result<sdk::Value> decodeValue(std::uint16_t format, std::string_view payload);

// One link of a link-format document: the target and its attributes in order (a flag attribute
// such as `obs` has an empty value).
struct Link {
  std::string target;
  std::vector<std::pair<std::string, std::string>> attributes;
  const std::string* attribute(std::string_view name) const noexcept;   // first with that name
  bool observable() const noexcept { return attribute("obs") != nullptr; }
  std::optional<std::uint16_t> contentFormat() const noexcept;          // ct, when a number
};

struct LinkLimits {
  std::size_t maxLinks = 256;
  std::size_t maxAttributes = 32;   // per link
};

// RFC 6690 link-value list: `</s/temp>;rt="temperature";obs,</s/light>;ct=0`. Quoted strings may
// hold commas and semicolons; errors give the byte offset.
Result<std::vector<Link>> parseLinkFormat(std::string_view text, const LinkLimits& limits = {});

}  // namespace gatehouse::bridge::coap
