// Fuzz target: the CoAP bridge's devices file (YAML from the operator, checklist D1). Any input must
// end in a list of devices or an error saying why; never a crash, hang or huge memory. Every device
// of an accepted file must be usable as is (a port, a provider name, resource paths).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gatehouse/bridge/coap/devices.h"
#include "gatehouse/kit/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto devices = gatehouse::bridge::coap::loadDevices(text, "fuzz.yaml");
  if (!devices) {
    if (devices.message().empty()) __builtin_trap();   // a refusal must say why
    return 0;
  }
  for (const auto& d : *devices) {
    if (d.port == 0 || !gatehouse::kit::isValidIdentifier(d.provider) || d.host.empty()) __builtin_trap();
    for (const auto& r : d.resources) {
      if (r.path.empty()) __builtin_trap();
      const auto names = gatehouse::bridge::coap::resourceNamesFor(r.path);
      if (!gatehouse::kit::isValidIdentifier(names.first) || !gatehouse::kit::isValidIdentifier(names.second)) __builtin_trap();
    }
  }
  (void)gatehouse::bridge::coap::resourceNamesFor(text.substr(0, 300));
  return 0;
}
