// Fuzz target: parseLinkFormat (checklist D1). Any document ends in links or an error with an
// offset; never a crash or a read past the input; the limits hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gatehouse/bridge/coap/payload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = gatehouse::bridge::coap::parseLinkFormat(input);
  if (!r) {
    if (r.message().empty()) __builtin_trap();
    return 0;
  }
  if (r->size() > 256) __builtin_trap();
  for (const auto& link : *r) {
    if (link.attributes.size() > 32) __builtin_trap();
    (void)link.contentFormat();
    (void)link.observable();
  }
  return 0;
}
