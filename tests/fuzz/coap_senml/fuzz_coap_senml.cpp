// Fuzz target: the CoAP bridge's payload decoders (checklist D1). The first byte picks the
// Content-Format the rest is read as: 'J' SenML JSON, 'C' SenML CBOR, anything else decodeValue()
// with that byte as the format number (text/plain, JSON, CBOR, octet-stream, or a refusal).
// Records must carry valid SenML names and finite numbers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gatehouse/bridge/coap/payload.h"

namespace {

void check(const gatehouse::kit::Result<std::vector<gatehouse::bridge::coap::SenmlRecord>>& r) {
  if (!r) {
    if (r.message().empty()) __builtin_trap();
    return;
  }
  for (const auto& rec : *r) {
    if (rec.name.empty()) __builtin_trap();
    if (rec.value.type() == gatehouse::sdk::ValueType::Double && !std::isfinite(rec.value.asDouble())) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::int64_t kNow = 1796677478000;
  switch (data[0]) {
    case 'J': check(gatehouse::bridge::coap::decodeSenmlJson(rest, kNow)); return 0;
    case 'C': check(gatehouse::bridge::coap::decodeSenmlCbor(rest, kNow)); return 0;
    default: {
      auto v = gatehouse::bridge::coap::decodeValue(data[0], rest);
      if (!v && v.message().empty()) __builtin_trap();
      return 0;
    }
  }
}
