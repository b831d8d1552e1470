// Fuzz target: the NB-IoT frame layout engine (checklist D1), over both of its untrusted inputs.
// The first byte picks what the rest is:
//   'Y'  a layouts file (YAML); when it loads, the sample frames and the input itself are decoded
//        with it, and each declared downlink is encoded from a few values (in and out of range);
//   'B'  a binary datagram, 'H' hex text, anything else a datagram read with InputEncoding::Auto
//        (the first byte included), each decoded with the shipped layouts (etc/nbiot/layouts.yaml).
// Any input must end in a frame or an error that says why; never a crash, an out-of-bounds read,
// a hang or huge memory. A decoded frame must hold only valid model names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gatehouse/bridge/nbiot/layout.h"
#include "gatehouse/kit/codec.h"

namespace {

using gatehouse::bridge::nbiot::DecodedFrame;
using gatehouse::bridge::nbiot::InputEncoding;
using gatehouse::bridge::nbiot::LayoutSet;

const LayoutSet& shipped() {
  static const LayoutSet set = [] {
    auto loaded = LayoutSet::loadFile(GATEHOUSE_NBIOT_LAYOUTS);
    if (!loaded) std::abort();   // the shipped file must load
    return *loaded;
  }();
  return set;
}

void check(const LayoutSet& set, std::string_view datagram, InputEncoding encoding) {
  auto r = set.decode(datagram, encoding);
  if (!r) {
    if (r.message().empty()) __builtin_trap();   // a refusal must say why
    return;
  }
  const DecodedFrame& d = *r;
  if (!gatehouse::kit::isValidIdentifier(d.provider)) __builtin_trap();
  for (const auto& reading : d.readings) {
    if (!gatehouse::kit::isValidIdentifier(reading.service) || !gatehouse::kit::isValidIdentifier(reading.resource)) __builtin_trap();
  }
  for (const auto& line : d.lines) {
    if (line.size() != d.lineFields.size()) __builtin_trap();
  }
}

// Every downlink of every layout, from values of each type (some outside any bound): an encoding or
// an error that says why.
void encodeAll(const LayoutSet& set) {
  using gatehouse::sdk::Value;
  const Value values[] = {Value::ofInt(0), Value::ofInt(-1), Value::ofLong(1LL << 40), Value::ofDouble(2.5),
                          Value::ofDouble(1e300), Value::ofString("x@y"), Value::ofBool(true)};
  for (std::size_t l = 0; l < set.size(); ++l) {
    const auto& downlinks = set.downlinks(l);
    for (std::size_t d = 0; d < downlinks.size(); ++d) {
      for (const auto& v : values) {
        std::vector<std::pair<std::string, Value>> args{{"value", v}};
        for (const auto& p : downlinks[d].params) args.emplace_back(p.name, v);
        auto r = set.encodeDownlink(l, d, args);
        if (!r && r.message().empty()) __builtin_trap();
      }
    }
  }
}

const char* const kSamples[] = {
    "\x01\x00\x1c\x01\x02\x03\x04" "867724030000123\0" "\x0e\x10\x00\x37\xff\xcc\x02\x8e",
    "CC0042@WIFI@20241503-13:45:07@21.5@1234@3\nAA:BB:CC:DD:EE:01@-67\n",
    "01001c",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) return 0;
  const std::string_view rest = input.substr(1);
  switch (input[0]) {
    case 'Y': {
      auto set = LayoutSet::loadString(rest, "fuzz.yaml");
      if (!set) {
        if (set.message().empty()) __builtin_trap();
        return 0;
      }
      check(*set, std::string_view(kSamples[0], 31), InputEncoding::Binary);
      for (const char* sample : kSamples) check(*set, sample, InputEncoding::Auto);
      check(*set, rest, InputEncoding::Auto);
      encodeAll(*set);
      return 0;
    }
    case 'B': check(shipped(), rest, InputEncoding::Binary); return 0;
    case 'H': check(shipped(), rest, InputEncoding::Hex); return 0;
    default: check(shipped(), input, InputEncoding::Auto); return 0;
  }
}
