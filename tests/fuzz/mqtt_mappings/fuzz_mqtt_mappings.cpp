// Fuzz target: the MQTT bridge's mappings file (YAML from the operator, checklist D1). Any input
// must end in a MappingSet or an error listing the problems; never a crash, hang or huge memory.
// With a MappingSet, a few messages are run through it as well.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gatehouse/bridge/mqtt/mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = gatehouse::bridge::mqtt::MappingSet::loadString(text, "fuzz.yaml");
  if (!parsed) {
    if (parsed.message().empty()) __builtin_trap();   // a refusal must say why
    return 0;
  }
  const auto& set = *parsed;
  for (const auto& sub : set.subscriptions()) {
    if (sub.filter.empty() || sub.qos < 0 || sub.qos > 2) __builtin_trap();
    (void)set.apply(sub.filter, R"({"value": 1.5, "t": 21, "ts": 1700000000})");
    (void)set.apply(sub.filter, "42");
  }
  return 0;
}
