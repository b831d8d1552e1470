// Arbitrary bytes as a configuration file: loadString must answer ok or an error whose every line
// starts with the file name (nothing in the input may forge a line), and never crash, leak or hang.
// The same document is also validated against a schema using every field type, which the gateway's
// own schema does not.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"
#include "gatehouse/kit/config/yaml_document.h"

namespace {

using gatehouse::kit::config::Field;
using gatehouse::kit::config::Schema;

const Schema& everyTypeSchema() {
  static const Schema schema{{
      Field::string("s", "x").validatedBy([](std::string_view v) { return v.size() < 8 ? std::string() : "too long"; },
                                          "short"),
      Field::integer("i", 0).range(-5, 5),
      Field::integer("u", 0),
      Field::boolean("b", false),
      Field::number("d", 0.0).numberRange(-1.0, 1.0),
      Field::oneOf("e", "a", {"a", "bb", "ccc"}),
      Field::stringList("l", {}),
      Field::section("n", {Field::integer("i", 1), Field::section("m", {Field::stringList("l", {"z"})})}),
  }};
  return schema;
}

void checkLines(const std::string& message, std::string_view name) {
  std::size_t start = 0;
  while (start <= message.size()) {
    const std::size_t end = std::min(message.find('\n', start), message.size());
    if (std::string_view(message).substr(start, name.size()) != name) std::abort();   // a forged line
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = gatehouse::core::config::loadString(text, "fuzz.yaml");
  if (!result.ok()) {
    if (result.error().message.empty()) std::abort();
    checkLines(result.error().message, "fuzz.yaml");
  }

  gatehouse::kit::config::Diagnostics diagnostics;
  const auto root = gatehouse::kit::config::parseYamlDocument(text, {}, diagnostics);
  if (root) {
    (void)gatehouse::kit::config::validate(*root, everyTypeSchema(), "plugins.fuzz", diagnostics);
    if (!diagnostics.empty()) checkLines(diagnostics.format("fuzz.yaml"), "fuzz.yaml");
  }
  return 0;
}
