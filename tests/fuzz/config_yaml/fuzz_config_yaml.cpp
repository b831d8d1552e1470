// Arbitrary bytes as a configuration file: loadString must answer ok or an error whose every line
// starts with the file name (nothing in the input may forge a line), and never crash, leak or hang.
// The same document is also validated against a schema using every field type (lists of mappings,
// open maps of values and sections, custom checks), which the gateway's own schema does not.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"
#include "gatehouse/kit/config/yaml_document.h"

namespace {

using gatehouse::kit::config::Field;
using gatehouse::kit::config::Problems;
using gatehouse::kit::config::Schema;
using gatehouse::kit::config::Values;

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
      Field::stringList("one", {}).acceptSingle().itemCount(1, 3),
      Field::list("items", {
          Field::string("name", "").require("a name"),
          Field::integer("n", 0).range(0, 9).noDefault(),
          Field::list("sub", {Field::boolean("b", false)}).itemCount(0, 4),
          Field::mapOf("tags", Field::string("v", "")),
      }).itemCount(1, 50).checkedWith([](const Values& item, Problems& problems) {
        // Reads what the walk filled in: any gap would throw and show up as a problem line.
        if (item.isSet("n") && item.getInt("n") == static_cast<std::int64_t>(item.list("sub").size())) {
          problems.add("n", "equals the number of sub items");
        }
        for (const auto& tag : item.map("tags")) {
          if (std::get<std::string>(tag.value.value) == item.getString("name")) problems.add("tags." + tag.key, "repeats the name");
        }
      }),
      Field::mapOf("groups", Field::section("g", {Field::stringList("members").itemCount(1, 5), Field::number("w", 1.0)})),
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
    // The same document as a file whose top level is a list (like auth.oauth2.rules_file).
    static const Field rules = Field::list("rules", {Field::string("role", "").require(),
                                                     Field::stringList("verbs").acceptSingle().itemCount(1, 4)})
                                   .itemCount(1, 20);
    (void)gatehouse::kit::config::validateValue(*root, rules, "", diagnostics);
    if (!diagnostics.empty()) checkLines(diagnostics.format("fuzz.yaml"), "fuzz.yaml");
  }
  return 0;
}
