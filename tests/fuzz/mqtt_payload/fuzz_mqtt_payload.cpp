// Fuzzes the MQTT bridge's payload extraction (bridges/mqtt/mapping): the first byte selects what
// to run, the rest is the input. For inputs of the form "A\nB", A is a JSON pointer / topic
// template / topic and B the payload. Besides "no crash, no sanitizer report", it checks the
// properties the bridge relies on: accepted JSON re-reads to the same text, accepted base64 and
// hex are canonical / round-trip, timestamps are in range, apply() only yields safe names.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gatehouse/bridge/mqtt/mapping.h"
#include "gatehouse/bridge/mqtt/payload.h"
#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"

using namespace gatehouse::bridge::mqtt;
namespace kit = gatehouse::kit;
using gatehouse::sdk::ValueType;

namespace {

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "mqtt_payload: %s (input %zu bytes)\n", what, input.size());
  std::abort();
}

std::pair<std::string_view, std::string_view> splitLine(std::string_view s) {
  const auto nl = s.find('\n');
  if (nl == std::string_view::npos) return {s, std::string_view()};
  return {s.substr(0, nl), s.substr(nl + 1)};
}

const MappingSet& fixedMappings() {
  static const MappingSet set = [] {
    auto loaded = MappingSet::loadString(R"(mappings:
  - topic: sensors/{provider}/{service}/{resource}
    value: /value
    timestamp: {pointer: /ts, format: millis}
    metadata: {friendlyName: /name, nickname: /nick}
  - topic: site/+/{provider}/telemetry
    service: env
    resources:
      - {resource: temperature, value: /t, type: double}
      - {resource: count, value: /c/0, type: int}
      - {resource: raw, value: /raw, type: bytes}
      - {resource: doc, value: "", type: json}
    timestamp: {pointer: /time, format: iso8601}
  - topic: hex/{provider}/{resource}/#
    service: raw
    format: hex
    type: bytes
  - topic: num/{provider}/{resource}
    service: s
    format: number
    type: long
)", "fuzz.yaml");
    if (!loaded) {
      std::fprintf(stderr, "%s\n", loaded.message().c_str());
      std::abort();
    }
    return *loaded;
  }();
  return set;
}

constexpr std::int64_t kMaxMs = 253402300799999;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr ValueType kTypes[] = {ValueType::Double, ValueType::Int,  ValueType::Long, ValueType::Boolean,
                                         ValueType::String, ValueType::Json, ValueType::Bytes};
  const ValueType type = kTypes[(selector >> 3) % 7];

  switch (selector & 7) {
    case 0: {   // JSON + pointer + conversion
      const auto [pointerText, payload] = splitLine(input);
      auto doc = kit::parseJson(payload, kPayloadJsonLimits);
      if (!doc) {
        if (doc.message().empty()) fail("JSON error without a message", input);
        break;
      }
      const std::string text = kit::toJsonText(*doc);
      auto again = kit::parseJson(text, kPayloadJsonLimits);
      if (!again || kit::toJsonText(*again) != text) fail("JSON text does not re-read to itself", input);
      auto tokens = kit::parsePointer(pointerText);
      if (!tokens) break;
      auto at = kit::resolvePointer(*doc, *tokens);
      if (!at) break;
      (void)valueFromJson(**at, type);
      for (auto f : {TimestampFormat::Seconds, TimestampFormat::Millis, TimestampFormat::Iso8601}) {
        auto ts = timestampFromJson(**at, f);
        if (ts && (*ts < 0 || *ts > kMaxMs)) fail("timestamp out of range", input);
      }
      break;
    }
    case 1: {   // hex
      auto bytes = kit::hexDecode(input);
      if (!bytes) break;
      std::string_view digits = input;
      if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
      if (bytes->size() * 2 != digits.size()) fail("hex length mismatch", input);
      break;
    }
    case 2: {   // base64: strict means canonical, so re-encoding gives the input back
      auto bytes = kit::base64Decode(input);
      if (bytes && kit::base64Encode(*bytes) != input) fail("accepted base64 is not canonical", input);
      break;
    }
    case 3: {   // ISO-8601
      auto ts = kit::parseIso8601(input);
      if (ts && (*ts < 0 || *ts > kMaxMs)) fail("ISO-8601 timestamp out of range", input);
      break;
    }
    case 4: {   // whole-payload formats
      static constexpr PayloadFormat kFormats[] = {PayloadFormat::Json,    PayloadFormat::Text, PayloadFormat::Number,
                                                   PayloadFormat::Boolean, PayloadFormat::Hex,  PayloadFormat::Base64};
      auto v = valueFromPayload(input, kFormats[(selector >> 6) % 6], type);
      if (v && v->type() != type) fail("value of another type than declared", input);
      break;
    }
    case 5: {   // ack replies
      auto v = parseAck(input, static_cast<std::uint32_t>(type));
      if (v && v->type() != type) fail("ack value of another type than asked", input);
      break;
    }
    case 6: {   // topic templates
      const auto [templ, topic] = splitLine(input);
      auto t = TopicTemplate::parse(templ);
      if (!t) break;
      if (auto names = t->match(topic)) {
        if (names->size() > t->names().size()) fail("more captures than names", input);
        const std::string expanded = t->expand(*names);
        if (!t->hasWildcards() && expanded != t->text()) fail("literal template does not expand to itself", input);
      }
      break;
    }
    default: {  // the whole apply() path with fixed mappings
      const auto [topic, payload] = splitLine(input);
      const auto out = fixedMappings().apply(topic, payload);
      for (const auto& u : out.updates) {
        if (!gatehouse::kit::isValidIdentifier(u.provider) || !gatehouse::kit::isValidIdentifier(u.service) || !gatehouse::kit::isValidIdentifier(u.resource)) fail("unsafe name in an update", input);
        if (u.timestampMs < 0 || u.timestampMs > kMaxMs) fail("update timestamp out of range", input);
      }
      for (const auto& [index, reason] : out.errors) {
        if (index >= fixedMappings().size() || reason.empty()) fail("bad error entry", input);
      }
      break;
    }
  }
  return 0;
}
