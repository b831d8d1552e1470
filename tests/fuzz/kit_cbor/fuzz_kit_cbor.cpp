// Fuzz target: kit::parseCbor (checklist D1, D4). Any input ends in a tree or an error that says
// why; never a crash, an out-of-bounds read, deep recursion or huge memory. A tree read must write
// back as JSON text that the kit's JSON reader accepts (the two readers agree on what a tree is).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gatehouse/kit/cbor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto r = gatehouse::kit::parseCbor(input);
  if (!r) {
    if (r.message().empty()) __builtin_trap();
    return 0;
  }
  gatehouse::kit::JsonLimits wide;
  wide.maxBytes = 64 * 1024 * 1024;
  wide.maxNumberLength = 4096;
  if (!gatehouse::kit::parseJson(gatehouse::kit::toJsonText(*r), wide)) __builtin_trap();
  return 0;
}
