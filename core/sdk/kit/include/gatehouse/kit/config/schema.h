#pragma once
// A declarative configuration schema, Fluent Bit style: each file or section declares its keys in
// one table (type, default, limits, description) and this engine validates YAML against it
// centrally, fills in defaults, and renders the same table as Markdown for the docs. The
// gateway's own config uses it (core/src/config), the plugin host validates each plugin's block
// against the table the plugin declares, and a plugin checks files of its own with it (the MQTT
// bridge's mappings file).
//
//   Schema s{{
//     Field::section("http", {
//       Field::integer("port", 8899).range(0, 65535).doc("TCP port; 0 picks a free one."),
//       Field::oneOf("mode", "none", {"none", "oauth2"}).doc("Who may call the API."),
//     }).doc("The REST server."),
//     Field::list("routes", {
//       Field::string("topic", "").require().doc("Where to listen."),
//       Field::integer("qos", 1).range(0, 2),
//     }).itemCount(1, 1000).checkedWith(checkRoute).doc("What to listen to."),
//     Field::mapOf("labels", Field::string("value", "")).validatedBy(requireName, "names"),
//   }};
//   Diagnostics problems;
//   Values v = validate(yamlNode, s, "plugins.mqtt", problems);
//   if (problems.empty()) {
//     port = v.getInt("http.port");
//     for (const Values& route : v.list("routes")) use(route.getString("topic"), route.getInt("qos"));
//   }
//
// Every problem is reported with the position of the value (or key) concerned and its key path
// ("routes[2].qos", "labels.site"); see diagnostics.h for the line format.
//
// Threads: a Schema is immutable once built and may be shared by any number of threads;
// validate() and renderMarkdown() keep no state between calls (custom checks must not either).
// Values is a plain value.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
  StringList,   // a YAML sequence of scalars (or one scalar, with acceptSingle()), minItems..maxItems
  Section,      // a mapping validated against `children`; empty or absent means all defaults
  Map,          // an open mapping: each key passes `check`; each value is validated against
                // `mapValue` when the field has one, else it must be a mapping (or empty) that is
                // validated elsewhere against a schema known only later (plugin blocks)
  List,         // a YAML sequence of mappings, each validated against `children` on its own
                // ("routes[2].qos"), minItems..maxItems; absent or empty means no items
};

// std::monostate for sections, lists, maps (they have no value of their own) and for fields
// declared with noDefault() while the file does not set them.
using FieldValue = std::variant<std::monostate, std::string, std::int64_t, bool, double, std::vector<std::string>>;

// A check of a text value (String, Enum, each StringList item, each Map key): returns "" when
// `value` is acceptable. With validatedBy() it returns what is required ("must be an IPv4 or IPv6
// address") and the engine appends what was found; with checkedBy() it returns the whole message
// (for messages that come from a parser: "topic template \"a/#/b\", level 2: '#' is allowed only
// as the last level").
using StringCheck = std::function<std::string(std::string_view value)>;

class Values;
class Problems;
// A check of a whole section, list item or file (checkedWith()): cross-field rules ("ack_topic is
// required with response: ack"). It runs only when everything inside passed its own checks, reads
// the validated values and reports through `problems` with the position of what it names.
using SectionCheck = std::function<void(const Values& values, Problems& problems)>;

struct Field {
  std::string key;   // snake_case; never contains '.' or '[' (they separate key paths)
  FieldType type = FieldType::String;
  FieldValue defaultValue;
  std::string description;    // one line, for the docs
  std::int64_t minInt = std::numeric_limits<std::int64_t>::min();
  std::int64_t maxInt = std::numeric_limits<std::int64_t>::max();
  double minDouble = -std::numeric_limits<double>::max();
  double maxDouble = std::numeric_limits<double>::max();
  std::vector<std::string> allowed;   // Enum
  StringCheck check;                  // String, Enum, StringList (each item), Map (each key)
  bool checkGivesMessage = false;     // check returns the whole message (checkedBy)
  std::string checkDoc;               // what `check` requires, for the docs' "Allowed" column
  std::vector<Field> children;        // Section; List (the keys of each item)
  std::shared_ptr<const Field> mapValue;   // Map: what each value must be (its key is unused)
  SectionCheck sectionCheck;          // Section, List (each item)
  std::size_t minItems = 0;           // StringList, List
  std::size_t maxItems = std::numeric_limits<std::size_t>::max();
  bool single = false;                // StringList: one scalar counts as a list of one
  std::string itemsName;              // StringList, List: what the items are, for messages
  bool required = false;              // must be written in the file (no default applies)
  std::string requiredHint;           // why, shown in "missing required key" (else the description)
  bool hasDefault = true;             // false: an absent key leaves the value unset (noDefault())

  static Field string(std::string key, std::string defaultValue);
  static Field integer(std::string key, std::int64_t defaultValue);
  static Field boolean(std::string key, bool defaultValue);
  static Field number(std::string key, double defaultValue);
  static Field oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed);
  static Field stringList(std::string key, std::vector<std::string> defaultValue = {});
  static Field section(std::string key, std::vector<Field> children);
  // Plugin blocks: the values are sections checked later against a schema known only then.
  static Field map(std::string key);
  // An open mapping whose values are each validated against `value` (a scalar type or a
  // section; `value.key` is unused): `metadata: {location: kitchen, name: /n}`.
  static Field mapOf(std::string key, Field value);
  // A list of mappings, each validated against `children`: `mappings: [{topic: a}, {topic: b}]`.
  static Field list(std::string key, std::vector<Field> children);

  // Must be written in the file. "missing required key K (hint)" names the section it is missing
  // from; without a hint the description is shown.
  Field& require(std::string hint = {});
  // Absent means unset: the value stays std::monostate (Values::isSet() is false) and the docs
  // show no default. For values whose default depends on other keys.
  Field& noDefault();

  Field& doc(std::string text);
  Field& range(std::int64_t min, std::int64_t max);   // Int
  Field& numberRange(double min, double max);         // Double
  Field& validatedBy(StringCheck fn, std::string what);   // the check returns what is required
  Field& checkedBy(StringCheck fn, std::string what);     // the check returns the whole message
  Field& checkedWith(SectionCheck fn);                    // Section, List (each item)
  Field& itemCount(std::size_t min, std::size_t max);     // StringList, List
  Field& itemsCalled(std::string name);                   // StringList, List: "mappings" in messages
  Field& acceptSingle();                                  // StringList: `verbs: READ` = `[READ]`
};

struct Schema {
  Schema() = default;
  Schema(std::vector<Field> topFields, SectionCheck topCheck = {})
      : fields(std::move(topFields)), check(std::move(topCheck)) {}

  std::vector<Field> fields;
  SectionCheck check;   // cross-field rules of the top level; runs when every key passed

  // Every key path the schema declares ("http", "http.port", "routes", "routes[].topic",
  // "labels", "labels.<key>"), sections before their keys, in declaration order. Used by the
  // docs-drift tests.
  std::vector<std::string> keyPaths() const;
};

// The validated, typed values of a section (the whole file, a section, one list item), keyed by
// the path relative to it ("http.port": a dotted path walks into sections), with defaults filled
// in for what the file does not set.
class Values {
 public:
  struct Entry {
    FieldValue value;
    bool fromFile = false;   // written in the file rather than defaulted
    int line = 0;            // 1-based position of the value in the file, 0 when defaulted
    int column = 0;
  };
  struct MapItem;   // one key of a Map, below

  // Getters for a path the schema declares with that type. Asking for an undeclared path or the
  // wrong type (or a noDefault() value that is not set) is a programming error, not an input
  // error, and throws std::logic_error.
  const std::string& getString(std::string_view path) const;   // String and Enum
  std::int64_t getInt(std::string_view path) const;
  bool getBool(std::string_view path) const;
  double getDouble(std::string_view path) const;
  const std::vector<std::string>& getStringList(std::string_view path) const;
  // The entry of a scalar or string-list key; nullptr when not declared (sections, lists and maps
  // have none: use section(), list(), map()).
  const Entry* find(std::string_view path) const;
  // Whether the key (or section) was written in the file; for a noDefault() key, whether it has
  // a value. Lists and maps: see whether list()/map() are empty.
  bool isSet(std::string_view path) const;

  // A Section's own values (paths relative to it). Throws std::logic_error when not declared.
  const Values& section(std::string_view path) const;
  // A List's items in file order, each with paths relative to the item; empty when absent.
  const std::vector<Values>& list(std::string_view path) const;
  // A Map's keys in file order; empty when absent.
  const std::vector<MapItem>& map(std::string_view path) const;

  // Where this section or list item is in the file (its first key, or the key naming it when it
  // is empty); 0 when it is not written. fromFile(): it was written (possibly empty).
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }
  bool fromFile() const noexcept { return fromFile_; }

  // Building, for the engine (and tests). set() creates the sections of a dotted path.
  void set(std::string_view path, Entry entry);
  Values& sectionForWriting(std::string_view path);
  std::vector<Values>& listForWriting(std::string_view path);
  std::vector<MapItem>& mapForWriting(std::string_view path);
  void setPosition(int line, int column, bool fromFile) noexcept {
    line_ = line;
    column_ = column;
    fromFile_ = fromFile;
  }

 private:
  // The Values holding the last step of `path` and that step ("tls.client.cert" -> tls.client, "cert").
  std::pair<const Values*, std::string_view> owner(std::string_view path) const;
  const Entry& at(std::string_view path) const;

  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::pair<std::string, Values>> sections_;
  std::vector<std::pair<std::string, std::vector<Values>>> lists_;
  std::vector<std::pair<std::string, std::vector<MapItem>>> maps_;
  int line_ = 0;
  int column_ = 0;
  bool fromFile_ = false;
};

struct Values::MapItem {
  std::string key;
  int line = 0;      // of the key
  int column = 0;
  Entry value;       // a scalar value shape: the value and its position; else monostate
  Values section;    // a section value shape: its values; else empty
};

// Where a custom check (SectionCheck) reports. Paths are relative to the checked section or list
// item; the key path shown is the section's own path joined with it.
class Problems {
 public:
  Problems(Diagnostics& diagnostics, const Values& values, std::string sectionPath)
      : diagnostics_(diagnostics), values_(values), sectionPath_(std::move(sectionPath)) {}

  // At the position of the value at `path` ("" = the section itself; a section's path = where it
  // starts); the key path is that path.
  void add(std::string_view path, std::string message);
  // At an explicit position (a list item's line()/column(), a MapItem's key), with key path `path`.
  void add(std::string_view path, int line, int column, std::string message);
  // The full key path of `path` ("mappings[2]" + "topic" -> "mappings[2].topic").
  std::string keyPath(std::string_view path) const;

 private:
  Diagnostics& diagnostics_;
  const Values& values_;
  std::string sectionPath_;
};

// Validates `node` (a mapping, or Null for "all defaults") against `schema` and returns every
// value with defaults filled in. Each problem goes to `diagnostics` with its file position and
// its key path prefixed by `keyPathPrefix` (e.g. "plugins.mqtt"): unknown keys (listing the valid
// ones and suggesting the closest), duplicate keys, missing required keys, wrong types,
// out-of-range numbers, values not allowed, lists too short or too long, failed custom checks. A
// value with a problem keeps its default in the result. Never throws on any input (a custom check
// that throws is reported as a problem); walks only what the schema declares, so YAML aliases
// (even cyclic ones) cannot make it loop.
Values validate(const YAML::Node& node, const Schema& schema, std::string_view keyPathPrefix,
                Diagnostics& diagnostics);

// Validates `node` as the value of the one field `field`, for files whose top level is not a
// mapping (a list of rules: key path "rules_file[2].effect" with field key "rules_file"). The result
// holds it under field.key (values.list("rules_file")). The node counts as written: an empty
// file is an empty list, refused when the list needs items.
Values validateValue(const YAML::Node& node, const Field& field, std::string_view keyPathPrefix,
                     Diagnostics& diagnostics);

// The schema as Markdown: one table per section or list item (key path, type, default, allowed
// values, description). `headingLevel` is the level of the top sections' headings.
std::string renderMarkdown(const Schema& schema, std::string_view keyPathPrefix = {}, int headingLevel = 3);

// Distance between two keys for "did you mean" (optimal string alignment: an adjacent swap
// counts as one edit). Exposed for tests.
std::size_t editDistance(std::string_view a, std::string_view b);

}  // namespace gatehouse::kit::config
