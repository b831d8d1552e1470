#pragma once
// A declarative configuration schema, Fluent Bit style: each section declares its keys in one
// table (type, default, limits, description) and this engine validates YAML against it centrally,
// fills in defaults, and renders the same table as Markdown for the docs. The gateway's own
// config uses it (config.h), and the plugin host validates each plugin's block against the table
// the plugin declares.
//
//   Schema s{{
//     Field::section("http", {
//       Field::integer("port", 8899).range(0, 65535).doc("TCP port; 0 picks a free one."),
//       Field::oneOf("mode", "none", {"none", "oauth2"}).doc("Who may call the API."),
//     }).doc("The REST server."),
//   }};
//   Diagnostics problems;
//   Values v = validate(yamlNode, s, "plugins.mqtt", problems);
//   if (problems.empty()) port = v.getInt("http.port");
//
// Threads: a Schema is immutable once built and may be shared by any number of threads;
// validate() and renderMarkdown() keep no state between calls. Values is a plain value.

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "gatehouse/kit/config/diagnostics.h"

namespace gatehouse::kit::config {

enum class FieldType : std::uint8_t {
  String,       // any non-empty-valued scalar, taken as written
  Int,          // decimal integer within [minInt, maxInt]; floats and quoted numbers are refused
  Bool,         // exactly true or false
  Double,       // finite number within [minDouble, maxDouble]
  Enum,         // one of `allowed` (case-sensitive)
  StringList,   // a YAML sequence of scalars
  Section,      // a mapping validated against `children`; empty or absent means all defaults
  Map,          // an open mapping: each key passes `check`, each value is a mapping (or empty)
                // validated elsewhere against a schema known only later (plugin blocks)
};

// std::monostate only for sections (they have no value of their own).
using FieldValue = std::variant<std::monostate, std::string, std::int64_t, bool, double, std::vector<std::string>>;

// A pattern check for String/StringList values: returns "" when `value` is acceptable, else what
// is required ("must be an IPv4 or IPv6 address"); the engine appends what was found.
using StringCheck = std::function<std::string(std::string_view value)>;

struct Field {
  std::string key;   // snake_case
  FieldType type = FieldType::String;
  FieldValue defaultValue;
  std::string description;    // one line, for the docs
  std::int64_t minInt = std::numeric_limits<std::int64_t>::min();
  std::int64_t maxInt = std::numeric_limits<std::int64_t>::max();
  double minDouble = -std::numeric_limits<double>::max();
  double maxDouble = std::numeric_limits<double>::max();
  std::vector<std::string> allowed;   // Enum
  StringCheck check;                  // String, StringList (each element)
  std::string checkDoc;               // what `check` requires, for the docs' "Allowed" column
  std::vector<Field> children;        // Section
  bool required = false;              // must be written in the file (no default applies)

  static Field string(std::string key, std::string defaultValue);
  static Field integer(std::string key, std::int64_t defaultValue);
  static Field boolean(std::string key, bool defaultValue);
  static Field number(std::string key, double defaultValue);
  static Field oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed);
  static Field stringList(std::string key, std::vector<std::string> defaultValue = {});
  static Field section(std::string key, std::vector<Field> children);
  static Field map(std::string key);

  Field& require();

  Field& doc(std::string text);
  Field& range(std::int64_t min, std::int64_t max);   // Int
  Field& numberRange(double min, double max);         // Double
  Field& validatedBy(StringCheck fn, std::string what);
};

struct Schema {
  std::vector<Field> fields;

  // Every key path the schema declares ("http", "http.port", ...), sections before their keys,
  // in declaration order. Used by the docs-drift test.
  std::vector<std::string> keyPaths() const;
};

// The validated, typed values of every non-section key of a schema, keyed by the path relative
// to the schema ("http.port"), defaults filled in for what the file does not set.
class Values {
 public:
  struct Entry {
    FieldValue value;
    bool fromFile = false;   // written in the file rather than defaulted
    int line = 0;            // 1-based position of the value in the file, 0 when defaulted
    int column = 0;
  };

  // Getters for a path the schema declares with that type. Asking for an undeclared path or the
  // wrong type is a programming error (not an input error) and throws std::logic_error.
  const std::string& getString(std::string_view path) const;   // String and Enum
  std::int64_t getInt(std::string_view path) const;
  bool getBool(std::string_view path) const;
  double getDouble(std::string_view path) const;
  const std::vector<std::string>& getStringList(std::string_view path) const;
  const Entry* find(std::string_view path) const;   // nullptr when not declared

  void set(std::string path, Entry entry) { entries_[std::move(path)] = std::move(entry); }

 private:
  const Entry& at(std::string_view path) const;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Validates `node` (a mapping, or Null for "all defaults") against `schema` and returns every
// value with defaults filled in. Each problem goes to `diagnostics` with its file position and
// its key path prefixed by `keyPathPrefix` (e.g. "plugins.mqtt"): unknown keys (listing the valid
// ones and suggesting the closest), duplicate keys, wrong types, out-of-range numbers, values
// not allowed, failed pattern checks. A value with a problem keeps its default in the result.
// Never throws on any input; walks only what the schema declares, so YAML aliases (even cyclic
// ones) cannot make it loop.
Values validate(const YAML::Node& node, const Schema& schema, std::string_view keyPathPrefix,
                Diagnostics& diagnostics);

// The schema as Markdown: one table per section (key path, type, default, allowed values,
// description). `headingLevel` is the level of the top sections' headings.
std::string renderMarkdown(const Schema& schema, std::string_view keyPathPrefix = {}, int headingLevel = 3);

// Distance between two keys for "did you mean" (optimal string alignment: an adjacent swap
// counts as one edit). Exposed for tests.
std::size_t editDistance(std::string_view a, std::string_view b);

}  // namespace gatehouse::kit::config
