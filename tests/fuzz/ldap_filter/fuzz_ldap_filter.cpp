// Fuzzes Filter::parse with arbitrary bytes. When a filter parses, its canonical text must parse
// again to the same canonical text, keys and behaviour, and matching against fixed candidates
// (every Scalar kind, nulls, missing keys, multi-values) must not crash.

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "filter/filter.h"

using gatehouse::core::filter::Filter;
using gatehouse::core::filter::Scalar;

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "ldap_filter: %s\ninput: %.*s\ndetail: %s\n", what, static_cast<int>(input.size()),
               input.data(), detail.c_str());
  std::abort();
}

// Values chosen by the key's length so that different keys in one filter see different kinds.
std::vector<Scalar> fixedValues(std::string_view key, int variant) {
  switch ((key.size() + static_cast<std::size_t>(variant)) % 6) {
    case 0: return {};
    case 1: return {std::int64_t{20}, 21.5};
    case 2: return {std::string("sim-kitchen-42"), std::string(""), std::string("*()\\")};
    case 3: return {true, std::monostate{}};
    case 4: return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<std::int64_t>::min(), -0.0};
    default: return {std::string(key), std::string(" Kitchen "), std::int64_t{9007199254740993}};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto first = Filter::parse(input);
  if (!first.ok()) {
    if (first.error().message.find(" at offset ") == std::string::npos) {
      fail("error without offset", input, first.error().message);
    }
    return 0;
  }
  std::string canonical = first->toString();
  auto second = Filter::parse(canonical);
  if (!second.ok()) fail("canonical form does not parse", input, canonical + " : " + second.error().message);
  if (second->toString() != canonical) fail("canonical form not stable", input, canonical + " -> " + second->toString());
  if (second->keys() != first->keys()) fail("keys differ after round trip", input, canonical);
  if (first->keys().empty()) fail("a parsed filter has no keys", input, canonical);

  for (int variant = 0; variant < 6; ++variant) {
    auto lookup = [variant](std::string_view key) { return fixedValues(key, variant); };
    if (first->matches(lookup) != second->matches(lookup)) fail("round trip changed behaviour", input, canonical);
  }
  return 0;
}
