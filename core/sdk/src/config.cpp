#include "gatehouse/sdk/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <stdexcept>

namespace gatehouse::sdk {

namespace {

std::string formatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);   // shortest text that round-trips
  if (ec != std::errc()) return "0.0";
  std::string s(buf, end);
  // "1" would read back as a YAML integer; keep it visibly a number with a fraction.
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

bool isSnakeCaseKey(std::string_view k) {
  if (k.empty() || k.size() > 64 || k.front() < 'a' || k.front() > 'z') return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// The ValueType a config entry of this field type carries (abi.h, gh_config_entry).
ValueType carriedType(ConfigType t) {
  switch (t) {
    case ConfigType::Int: return ValueType::Long;
    case ConfigType::Bool: return ValueType::Boolean;
    case ConfigType::Double: return ValueType::Double;
    default: return ValueType::String;
  }
}

}  // namespace

std::string_view toString(ConfigType type) noexcept {
  switch (type) {
    case ConfigType::String: return "string";
    case ConfigType::Int: return "integer";
    case ConfigType::Bool: return "boolean";
    case ConfigType::Double: return "number";
    case ConfigType::Enum: return "enum";
    case ConfigType::StringList: return "string list";
  }
  return "unknown";
}

// --- ConfigField ----------------------------------------------------------------------------

ConfigField::ConfigField(std::string key, ConfigType type, std::optional<std::string> defaultText)
    : key_(std::move(key)),
      type_(type),
      default_(std::move(defaultText)),
      minInt_(std::numeric_limits<std::int64_t>::min()),
      maxInt_(std::numeric_limits<std::int64_t>::max()),
      minDouble_(-std::numeric_limits<double>::max()),
      maxDouble_(std::numeric_limits<double>::max()) {}

void ConfigField::addProblem(const std::string& what) {
  if (!problem_.empty()) problem_ += "; ";
  problem_ += what;
}

ConfigField& ConfigField::setRange(std::int64_t min, std::int64_t max, bool /*integral*/) {
  if (type_ == ConfigType::Double) return setRange(static_cast<double>(min), static_cast<double>(max));
  if (type_ != ConfigType::Int) {
    addProblem("range() applies to integer and number fields, not to a " + std::string(toString(type_)));
  } else if (min > max) {
    addProblem("range minimum " + std::to_string(min) + " is above the maximum " + std::to_string(max));
  } else {
    minInt_ = min;
    maxInt_ = max;
  }
  return *this;
}

ConfigField& ConfigField::setRange(double min, double max) {
  if (type_ == ConfigType::Int) {
    addProblem("an integer field needs integer bounds in range()");
  } else if (type_ != ConfigType::Double) {
    addProblem("range() applies to integer and number fields, not to a " + std::string(toString(type_)));
  } else if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    addProblem("range bounds must be finite with minimum <= maximum");
  } else {
    minDouble_ = min;
    maxDouble_ = max;
  }
  return *this;
}

ConfigField& ConfigField::doc(std::string description) {
  if (description.find_first_of("\r\n") != std::string::npos) addProblem("the description must be one line");
  description_ = std::move(description);
  return *this;
}

ConfigField& ConfigField::required() {
  flags_ |= GH_CONFIG_REQUIRED;
  default_.reset();
  return *this;
}

ConfigField& ConfigField::secret() {
  flags_ |= GH_CONFIG_SECRET;
  return *this;
}

ConfigField& ConfigField::flagProblem(const std::string& what) {
  addProblem(what);
  return *this;
}

ConfigField string(std::string key, std::string defaultValue) {
  return ConfigField(std::move(key), ConfigType::String, std::move(defaultValue));
}

ConfigField integer(std::string key, std::int64_t defaultValue) {
  ConfigField f(std::move(key), ConfigType::Int, std::to_string(defaultValue));
  f.defaultInt_ = defaultValue;
  return f;
}

ConfigField boolean(std::string key, bool defaultValue) {
  return ConfigField(std::move(key), ConfigType::Bool, std::string(defaultValue ? "true" : "false"));
}

ConfigField number(std::string key, double defaultValue) {
  ConfigField f(std::move(key), ConfigType::Double, formatDouble(defaultValue));
  f.defaultDouble_ = defaultValue;
  if (!std::isfinite(defaultValue)) f.addProblem("the default must be a finite number");
  return f;
}

ConfigField oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed) {
  ConfigField f(std::move(key), ConfigType::Enum, std::move(defaultValue));
  if (allowed.empty()) f.addProblem("oneOf() needs at least one allowed value");
  for (const auto& a : allowed) {
    if (a.empty() || a.find('|') != std::string::npos) {
      f.addProblem("allowed values must be non-empty and contain no '|', found \"" + a + "\"");
    }
    if (!f.allowedJoined_.empty()) f.allowedJoined_ += '|';
    f.allowedJoined_ += a;
  }
  f.allowed_ = std::move(allowed);
  return f;
}

ConfigField stringList(std::string key) {
  // Lists default to empty. A YAML sequence has no scalar text, but the host wants a default for
  // every field that is not required, so "" stands for the empty list.
  return ConfigField(std::move(key), ConfigType::StringList, std::string());
}

// --- ConfigSchema ---------------------------------------------------------------------------

ConfigSchema::ConfigSchema(std::initializer_list<ConfigField> fields) : fields_(fields) { build(); }
ConfigSchema::ConfigSchema(std::vector<ConfigField> fields) : fields_(std::move(fields)) { build(); }

void ConfigSchema::build() {
  std::string problems;
  auto report = [&problems](const std::string& key, const std::string& what) {
    if (!problems.empty()) problems += "; ";
    problems += "key \"" + key + "\": " + what;
  };
  std::set<std::string, std::less<>> seen;
  for (const auto& f : fields_) {
    if (!isSnakeCaseKey(f.key_)) report(f.key_, "keys are snake_case: [a-z][a-z0-9_]{0,63}");
    if (!seen.insert(f.key_).second) report(f.key_, "declared twice");
    if (!f.problem_.empty()) report(f.key_, f.problem_);
    if (f.default_) {
      if (f.type_ == ConfigType::Int && (f.defaultInt_ < f.minInt_ || f.defaultInt_ > f.maxInt_)) {
        report(f.key_, "the default " + *f.default_ + " is outside the range");
      }
      if (f.type_ == ConfigType::Double && (f.defaultDouble_ < f.minDouble_ || f.defaultDouble_ > f.maxDouble_)) {
        report(f.key_, "the default " + *f.default_ + " is outside the range");
      }
      if (f.type_ == ConfigType::Enum && std::find(f.allowed_.begin(), f.allowed_.end(), *f.default_) == f.allowed_.end()) {
        report(f.key_, "the default \"" + *f.default_ + "\" is not one of the allowed values");
      }
    }
  }
  if (!problems.empty()) check_ = Status::invalidArgument("the plugin's config schema is wrong: " + problems);

  // Pointers into fields_: stable because fields_ never changes after this (no copy, no move).
  table_.reserve(fields_.size());
  for (const auto& f : fields_) {
    gh_config_field c{};
    c.key = f.key_.c_str();
    c.type = static_cast<std::uint32_t>(f.type_);
    c.flags = f.flags_;
    c.default_value = f.default_ ? f.default_->c_str() : nullptr;
    c.min_int = f.minInt_;
    c.max_int = f.maxInt_;
    c.min_double = f.minDouble_;
    c.max_double = f.maxDouble_;
    c.allowed = f.type_ == ConfigType::Enum ? f.allowedJoined_.c_str() : nullptr;
    c.description = f.description_.c_str();
    table_.push_back(c);
  }
}

const ConfigField* ConfigSchema::find(std::string_view key) const noexcept {
  for (const auto& f : fields_) {
    if (f.key() == key) return &f;
  }
  return nullptr;
}

// --- Config ---------------------------------------------------------------------------------

std::optional<Config> Config::fromC(const gh_config_entry* entries, std::size_t count, std::string* why) {
  auto reject = [why](std::string reason) -> std::optional<Config> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (entries == nullptr && count != 0) return reject("config entries missing");
  Config config;
  for (std::size_t n = 0; n < count; ++n) {
    const gh_config_entry& e = entries[n];
    if (e.key == nullptr) return reject("config entry " + std::to_string(n) + " has no key");
    const std::string key = e.key;
    if (e.type < GH_CONFIG_STRING || e.type > GH_CONFIG_STRING_LIST) {
      return reject("config key \"" + key + "\": unknown type " + std::to_string(e.type));
    }
    Entry entry;
    entry.type = static_cast<ConfigType>(e.type);
    entry.fromFile = e.from_file != 0;
    if (entry.type == ConfigType::StringList) {
      if (e.items == nullptr && e.item_count != 0) return reject("config key \"" + key + "\": list items missing");
      for (std::size_t i = 0; i < e.item_count; ++i) {
        if (e.items[i] == nullptr) return reject("config key \"" + key + "\": list item " + std::to_string(i) + " is NULL");
        entry.items.emplace_back(e.items[i]);
      }
    } else {
      std::string bad;
      auto v = Value::fromC(e.value, &bad);
      if (!v) return reject("config key \"" + key + "\": " + bad);
      if (v->type() != carriedType(entry.type)) {
        return reject("config key \"" + key + "\": a " + std::string(toString(entry.type)) + " field carries a " +
                      std::string(toString(v->type())) + " value");
      }
      entry.value = std::move(*v);
    }
    if (!config.entries_.emplace(key, std::move(entry)).second) return reject("config key \"" + key + "\" given twice");
  }
  return config;
}

Config Config::defaults(const ConfigSchema& schema) {
  Config config;
  for (const auto& f : schema.fields()) {
    Entry entry;
    entry.type = f.type();
    if (f.type() != ConfigType::StringList) {
      if (!f.defaultText()) continue;   // required: the operator must write it
      const std::string& text = *f.defaultText();
      switch (f.type()) {
        case ConfigType::Int: {
          std::int64_t v = 0;
          std::from_chars(text.data(), text.data() + text.size(), v);
          entry.value = Value::ofLong(v);
          break;
        }
        case ConfigType::Bool: entry.value = Value::ofBool(text == "true"); break;
        case ConfigType::Double: entry.value = Value::ofDouble(std::strtod(text.c_str(), nullptr)); break;
        default: entry.value = Value::ofString(text); break;
      }
    }
    config.entries_[f.key()] = std::move(entry);
  }
  return config;
}

Config& Config::set(std::string key, ConfigType type, Value value) {
  if (type == ConfigType::StringList) throw std::invalid_argument("Config::set: use setList() for string lists");
  if (type == ConfigType::Int && value.type() == ValueType::Int && !value.isNull()) value = Value::ofLong(value.asInteger());
  if (value.type() != carriedType(type)) {
    throw std::invalid_argument("Config::set(\"" + key + "\"): a " + std::string(toString(type)) + " field carries a " +
                                std::string(toString(carriedType(type))) + ", not a " + std::string(toString(value.type())));
  }
  Entry entry;
  entry.type = type;
  entry.fromFile = true;
  entry.value = std::move(value);
  entries_[std::move(key)] = std::move(entry);
  return *this;
}

Config& Config::setList(std::string key, std::vector<std::string> items) {
  Entry entry;
  entry.type = ConfigType::StringList;
  entry.fromFile = true;
  entry.items = std::move(items);
  entries_[std::move(key)] = std::move(entry);
  return *this;
}

bool Config::has(std::string_view key) const noexcept { return entries_.find(key) != entries_.end(); }

const Config::Entry& Config::entry(std::string_view key, std::initializer_list<ConfigType> types, const char* getter) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    throw std::out_of_range("config key \"" + std::string(key) + "\" is not in the configuration (is it declared in the plugin's schema?)");
  }
  if (std::find(types.begin(), types.end(), it->second.type) == types.end()) {
    throw std::logic_error("config key \"" + std::string(key) + "\" is a " + std::string(toString(it->second.type)) +
                           ", it cannot be read with " + getter);
  }
  if (it->second.type != ConfigType::StringList && it->second.value.isNull()) {
    throw std::logic_error("config key \"" + std::string(key) + "\" has no value");
  }
  return it->second;
}

std::string Config::getString(std::string_view key) const {
  return entry(key, {ConfigType::String, ConfigType::Enum}, "getString()").value.asString();
}

std::int64_t Config::getInt(std::string_view key) const {
  return entry(key, {ConfigType::Int}, "getInt()").value.asInteger();
}

bool Config::getBool(std::string_view key) const { return entry(key, {ConfigType::Bool}, "getBool()").value.asBool(); }

double Config::getDouble(std::string_view key) const {
  return entry(key, {ConfigType::Double, ConfigType::Int}, "getDouble()").value.asDouble();
}

std::vector<std::string> Config::getStringList(std::string_view key) const {
  return entry(key, {ConfigType::StringList}, "getStringList()").items;
}

bool Config::fromFile(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) throw std::out_of_range("config key \"" + std::string(key) + "\" is not in the configuration");
  return it->second.fromFile;
}

}  // namespace gatehouse::sdk
