#pragma once
// A plugin's configuration: the one-table schema it declares (ConfigSchema, built from the
// ConfigField builders below) and the validated values its configure() receives (Config).
//
//   static const gatehouse::sdk::ConfigSchema kSchema{
//       gatehouse::sdk::integer("interval_ms", 1000).range(10, 3600000).doc("Time between readings."),
//       gatehouse::sdk::string("provider_prefix", "sim").doc("Start of the providers' names."),
//       gatehouse::sdk::oneOf("mode", "poll", {"poll", "push"}).doc("How readings arrive."),
//       gatehouse::sdk::string("password").required().secret().doc("Broker password."),
//       gatehouse::sdk::stringList("topics").doc("Topics to subscribe to."),
//   };
//
// The host validates the operator's `plugins: <name>:` block against that table (unknown,
// duplicate, wrong-typed and out-of-range keys stop the gateway with FILE:LINE:COL) and fills in
// defaults, so configure() sees every declared key with a value of the declared type.
//
// Threads: a ConfigSchema is immutable after construction and may be read by any thread. A Config
// is a plain value; configure() gets it on the host's control thread and may copy it anywhere.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/status.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::sdk {

// The GH_CONFIG_* field types.
enum class ConfigType : std::uint32_t {
  String = GH_CONFIG_STRING,
  Int = GH_CONFIG_INT,
  Bool = GH_CONFIG_BOOL,
  Double = GH_CONFIG_DOUBLE,
  Enum = GH_CONFIG_ENUM,              // a string, one of the allowed values
  StringList = GH_CONFIG_STRING_LIST, // a YAML sequence of strings; defaults to empty
};

std::string_view toString(ConfigType type) noexcept;   // "string", "integer", "boolean", ...

class ConfigField;
// The builders, one per type: key (snake_case) and default. Without a default argument the default
// is the type's zero ("", 0, false, 0.0); call .required() when the operator must set the key.
ConfigField string(std::string key, std::string defaultValue = "");
ConfigField integer(std::string key, std::int64_t defaultValue = 0);
ConfigField boolean(std::string key, bool defaultValue = false);
ConfigField number(std::string key, double defaultValue = 0.0);
ConfigField oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed);
ConfigField stringList(std::string key);

// One key of the table. Made by the free functions string()/integer()/... below and refined with
// the chainable setters. Mistakes in the table itself (a range on a string, a default outside the
// range, an enum default that is not allowed) are collected, not thrown: ConfigSchema::check()
// reports them and the plugin then refuses to be created, with that message.
class ConfigField {
 public:
  // Inclusive bounds for Int (integers only) and Double fields.
  template <typename A, typename B>
  ConfigField& range(A min, B max) {
    static_assert(std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, "range() takes numbers");
    if constexpr (std::is_integral_v<A> && std::is_integral_v<B>) {
      return setRange(static_cast<std::int64_t>(min), static_cast<std::int64_t>(max), true);
    } else {
      return setRange(static_cast<double>(min), static_cast<double>(max));
    }
  }
  ConfigField& doc(std::string description);   // one line, shown in docs and errors
  ConfigField& required();   // the operator must set it; the default is dropped
  ConfigField& secret();     // the host never logs or shows the value
  // Records a mistake in the table found by code that builds fields for the plugin (the kit's
  // SettingsTable: a range its member's type cannot hold); ConfigSchema::check() reports it with
  // the field's own mistakes.
  ConfigField& flagProblem(const std::string& what);

  const std::string& key() const noexcept { return key_; }
  ConfigType type() const noexcept { return type_; }
  std::uint32_t flags() const noexcept { return flags_; }
  // The default as YAML scalar text ("1000", "true", "sim"; "" for lists, which default to
  // empty); nullopt when required.
  const std::optional<std::string>& defaultText() const noexcept { return default_; }
  const std::vector<std::string>& allowed() const noexcept { return allowed_; }
  const std::string& description() const noexcept { return description_; }
  std::int64_t minInt() const noexcept { return minInt_; }
  std::int64_t maxInt() const noexcept { return maxInt_; }
  double minDouble() const noexcept { return minDouble_; }
  double maxDouble() const noexcept { return maxDouble_; }
  // Problems found while building this field ("" when none).
  const std::string& problem() const noexcept { return problem_; }

 private:
  friend ConfigField string(std::string key, std::string defaultValue);
  friend ConfigField integer(std::string key, std::int64_t defaultValue);
  friend ConfigField boolean(std::string key, bool defaultValue);
  friend ConfigField number(std::string key, double defaultValue);
  friend ConfigField oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed);
  friend ConfigField stringList(std::string key);
  friend class ConfigSchema;

  ConfigField(std::string key, ConfigType type, std::optional<std::string> defaultText);
  ConfigField& setRange(std::int64_t min, std::int64_t max, bool integral);
  ConfigField& setRange(double min, double max);
  void addProblem(const std::string& what);

  std::string key_;
  ConfigType type_;
  std::uint32_t flags_ = 0;
  std::optional<std::string> default_;
  std::int64_t minInt_;
  std::int64_t maxInt_;
  double minDouble_;
  double maxDouble_;
  std::vector<std::string> allowed_;
  std::string allowedJoined_;   // "a|b|c", what gh_config_field.allowed points to
  std::string description_;
  std::string problem_;
  // The default as typed, to check it against the range.
  std::int64_t defaultInt_ = 0;
  double defaultDouble_ = 0;
};

// The plugin's table, and the gh_config_field array the descriptor points to. Declare it as a
// namespace-scope `static const` (or `extern const`) object: the array lives inside it, so it stays
// valid until the library is unloaded. Not copyable or movable, for the same reason.
class ConfigSchema {
 public:
  ConfigSchema() = default;   // a plugin without settings
  ConfigSchema(std::initializer_list<ConfigField> fields);
  explicit ConfigSchema(std::vector<ConfigField> fields);
  ConfigSchema(const ConfigSchema&) = delete;
  ConfigSchema& operator=(const ConfigSchema&) = delete;

  const gh_config_field* data() const noexcept { return table_.empty() ? nullptr : table_.data(); }
  std::size_t size() const noexcept { return table_.size(); }
  const std::vector<ConfigField>& fields() const noexcept { return fields_; }
  const ConfigField* find(std::string_view key) const noexcept;
  // OK, or INVALID_ARGUMENT listing every mistake in the table (keys not snake_case [a-z0-9_]
  // starting with a letter, duplicate keys, defaults outside the range, ...).
  const Status& check() const noexcept { return check_; }

 private:
  void build();
  std::vector<ConfigField> fields_;
  std::vector<gh_config_field> table_;
  Status check_;
};

// The validated values configure() receives: every declared key, defaults filled in.
// Getters throw std::out_of_range for a key the schema does not declare and std::logic_error for
// a getter of another type: both are plugin bugs, and the adapter turns them into a failed
// configure with that message.
class Config {
 public:
  Config() = default;

  // Copies the host's entries. nullopt (and *why) when an entry is malformed (NULL or repeated key,
  // value type not matching the field type).
  static std::optional<Config> fromC(const gh_config_entry* entries, std::size_t count,
                                     std::string* why = nullptr);
  // What the host would pass for an empty config block: every field at its default (required
  // fields absent). For plugin unit tests; combine with set().
  static Config defaults(const ConfigSchema& schema);

  bool has(std::string_view key) const noexcept;
  std::string getString(std::string_view key) const;              // String and Enum fields
  std::int64_t getInt(std::string_view key) const;
  bool getBool(std::string_view key) const;
  double getDouble(std::string_view key) const;
  std::vector<std::string> getStringList(std::string_view key) const;
  bool fromFile(std::string_view key) const;   // true when the operator wrote it

  // Sets or replaces a value as if the operator had written it (fromFile = true). For tests.
  Config& set(std::string key, ConfigType type, Value value);
  Config& setList(std::string key, std::vector<std::string> items);

 private:
  struct Entry {
    ConfigType type = ConfigType::String;
    bool fromFile = false;
    Value value;
    std::vector<std::string> items;
  };
  const Entry& entry(std::string_view key, std::initializer_list<ConfigType> types, const char* getter) const;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace gatehouse::sdk
