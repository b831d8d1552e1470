#pragma once
// Typed plugin settings: a plugin declares a struct and one table that names each key once; the
// table gives the sdk::ConfigSchema the host validates the operator's block against (through the
// unchanged C ABI), and bind() fills the struct from the validated sdk::Config, so configure()
// never looks a key up by string.
//
//   struct Settings {
//     std::vector<std::string> brokers;
//     std::string clientId;
//     std::chrono::seconds keepAlive{30};
//     Response response = Response::Mqtt5;
//   };
//   const kit::SettingsTable<Settings> kSettings{
//       kit::setting("brokers", &Settings::brokers).required().doc("Broker URIs, tried in order."),
//       kit::setting("client_id", &Settings::clientId, "gatehouse").check(requireIdentifier).doc("MQTT client id."),
//       kit::setting("keep_alive_s", &Settings::keepAlive, std::chrono::seconds(30)).range(5, 3600).doc("Keep-alive."),
//       kit::choice("response", &Settings::response, Response::Mqtt5,
//                   {{"mqtt5", Response::Mqtt5}, {"ack", Response::Ack}}).doc("How devices answer."),
//   };
//   // GATEHOUSE_PLUGIN needs a ConfigSchema object of its own (a template argument cannot name a
//   // member of another object on every compiler), made from the table in one line:
//   const sdk::ConfigSchema kSchema = kSettings.schema();
//
//   sdk::Status MyBridge::configure(const sdk::Config& config) {
//     auto settings = kSettings.bind(config);
//     if (!settings) return kit::toStatus(settings.error());
//     settings_ = std::move(*settings);
//     return sdk::Status::ok();
//   }
//
// Member types: std::string (with oneOf() an enum key), bool, any integer type (its limits become
// the key's range unless range() gives a narrower one), float/double, std::vector<std::string>,
// std::chrono::duration (an integer key counting the duration's unit: name it "_ms", "_s"), and
// enums through choice(). Mistakes in the table itself (a range the member cannot hold, a default
// outside the choices, a list with a default) are reported by schema().check(), which the SDK
// adapter checks before the plugin is created.
//
// Threads: a SettingsTable is immutable after construction; schema() and bind() may be called
// from any thread at once (bind() runs the table's checks, which must not keep state either).

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/config.h"

namespace gatehouse::kit {

namespace settings_detail {

template <typename T>
struct IsDuration : std::false_type {};
template <typename Rep, typename Period>
struct IsDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

template <typename T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// The integer type a key of member type T counts in (T itself, or a duration's Rep).
template <typename T, typename = void>
struct CountOf {
  using type = T;
};
template <typename T>
struct CountOf<T, std::enable_if_t<IsDuration<T>::value>> {
  using type = typename T::rep;
};

template <typename T>
inline constexpr bool kIsCounted = kIsInteger<typename CountOf<T>::type> && (kIsInteger<T> || IsDuration<T>::value);

template <typename I>
constexpr bool fitsInt64(I v) {
  if constexpr (std::is_unsigned_v<I>) {
    return static_cast<std::uintmax_t>(v) <= static_cast<std::uintmax_t>(std::numeric_limits<std::int64_t>::max());
  } else {
    return true;   // at most 64 bits
  }
}
template <typename I>
constexpr std::int64_t clampInt64(I v) {
  return fitsInt64(v) ? static_cast<std::int64_t>(v) : std::numeric_limits<std::int64_t>::max();
}

template <typename T>
inline constexpr bool kSupported = std::is_same_v<T, std::string> || std::is_same_v<T, bool> || kIsCounted<T> ||
                                   std::is_floating_point_v<T> || std::is_same_v<T, std::vector<std::string>> ||
                                   std::is_enum_v<T>;

}  // namespace settings_detail

template <typename S>
class SettingRow;

// One key of a SettingsTable: made by setting() or choice(), refined with the chainable setters.
template <typename S, typename T>
class Setting {
  static_assert(settings_detail::kSupported<T>,
                "kit::setting(): the member must be std::string, bool, an integer, a floating-point number, "
                "std::vector<std::string>, a std::chrono::duration or an enum (with kit::choice())");

 public:
  // A check of the bound value: "" when fine, else what is wrong, shown as "key: <message>".
  using Check = std::function<std::string(const T& value)>;

  Setting(std::string key, T S::*member, T defaultValue) : key_(std::move(key)), member_(member), default_(std::move(defaultValue)) {}

  Setting& required() {
    required_ = true;
    return *this;
  }
  Setting& secret() {
    secret_ = true;
    return *this;
  }
  Setting& doc(std::string description) {
    description_ = std::move(description);
    return *this;
  }
  // Inclusive bounds: integers and durations (in the duration's unit) take integers, floating-point
  // members any numbers.
  template <typename A, typename B>
  Setting& range(A min, B max) {
    static_assert(std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, "range() takes numbers");
    if constexpr (settings_detail::kIsCounted<T>) {
      static_assert(std::is_integral_v<A> && std::is_integral_v<B>, "an integer or duration setting takes integer bounds");
      intRange_ = IntRange{settings_detail::clampInt64(min), settings_detail::clampInt64(max),
                           settings_detail::fitsInt64(min) && settings_detail::fitsInt64(max)};
    } else if constexpr (std::is_floating_point_v<T>) {
      doubleRange_ = {static_cast<double>(min), static_cast<double>(max)};
    } else {
      static_assert(settings_detail::kIsCounted<T>, "range() applies to integer, duration and number settings");
    }
    return *this;
  }
  // The allowed values of a std::string setting (an enum key).
  Setting& oneOf(std::vector<std::string> allowed) {
    static_assert(std::is_same_v<T, std::string>, "oneOf() applies to std::string settings; use kit::choice() for enums");
    allowed_ = std::move(allowed);
    return *this;
  }
  Setting& check(Check fn) {
    checks_.push_back(std::move(fn));
    return *this;
  }

 private:
  template <typename>
  friend class SettingRow;
  template <typename S2, typename E>
  friend Setting<S2, E> choice(std::string key, E S2::*member, E defaultValue,
                               std::vector<std::pair<std::string, E>> choices);

  std::string key_;
  T S::*member_;
  T default_;
  bool required_ = false;
  bool secret_ = false;
  std::string description_;
  struct IntRange {
    std::int64_t min;
    std::int64_t max;
    bool fits;   // both bounds fit in int64
  };
  std::optional<IntRange> intRange_;
  std::optional<std::pair<double, double>> doubleRange_;
  std::vector<std::string> allowed_;
  std::vector<std::pair<std::string, T>> choices_;   // enums
  std::vector<Check> checks_;
};

// A key bound to member `member`; without a default the member type's zero ("", 0, false, {}).
template <typename S, typename T>
Setting<S, T> setting(std::string key, T S::*member) {
  static_assert(!std::is_enum_v<T>, "kit::setting(): an enum member needs kit::choice() with its names");
  return Setting<S, T>(std::move(key), member, T{});
}
template <typename S, typename T, typename D>
Setting<S, T> setting(std::string key, T S::*member, D&& defaultValue) {
  static_assert(!std::is_enum_v<T>, "kit::setting(): an enum member needs kit::choice() with its names");
  return Setting<S, T>(std::move(key), member, T(std::forward<D>(defaultValue)));
}

// An enum member written as one of `choices`' names (an enum key).
template <typename S, typename E>
Setting<S, E> choice(std::string key, E S::*member, E defaultValue, std::vector<std::pair<std::string, E>> choices) {
  static_assert(std::is_enum_v<E>, "kit::choice() binds enum members");
  Setting<S, E> s(std::move(key), member, defaultValue);
  s.choices_ = std::move(choices);
  return s;
}

// What a SettingsTable holds per key: the ConfigField the host sees and how to fill the member.
template <typename S>
class SettingRow {
 public:
  template <typename T>
  SettingRow(const Setting<S, T>& s)   // NOLINT: implicit, so a table is a braced list of setting()s
      : key_(s.key_), required_(s.required_), field_(makeField(s)), bind_(makeBinder(s)) {}

  const sdk::ConfigField& field() const noexcept { return field_; }

  // Fills the member from `config`; problems are appended as "key: what".
  void bind(const sdk::Config& config, S& out, std::vector<std::string>& problems, bool& internal) const {
    if (!config.has(key_)) {
      // The host always passes every declared key; only a test's hand-made Config lacks one.
      if (required_) problems.push_back(key_ + ": missing required key");
      return;
    }
    try {
      if (std::string why = bind_(config, out); !why.empty()) problems.push_back(key_ + ": " + why);
    } catch (const std::exception& e) {
      // The Config does not match the table (another type): a bug, not the operator's mistake.
      problems.push_back(key_ + ": " + e.what());
      internal = true;
    }
  }

 private:
  using Binder = std::function<std::string(const sdk::Config&, S&)>;

  template <typename T>
  static std::string runChecks(const Setting<S, T>& s, const T& value) {
    for (const auto& check : s.checks_) {
      try {
        if (std::string why = check(value); !why.empty()) return why;
      } catch (const std::exception& e) {
        return std::string("cannot check this value: ") + e.what();
      }
    }
    return {};
  }

  template <typename T>
  static sdk::ConfigField makeField(const Setting<S, T>& s) {
    using namespace settings_detail;
    sdk::ConfigField f = [&] {
      if constexpr (std::is_same_v<T, std::string>) {
        return s.allowed_.empty() ? sdk::string(s.key_, s.default_) : sdk::oneOf(s.key_, s.default_, s.allowed_);
      } else if constexpr (std::is_same_v<T, bool>) {
        return sdk::boolean(s.key_, s.default_);
      } else if constexpr (std::is_floating_point_v<T>) {
        sdk::ConfigField number = sdk::number(s.key_, static_cast<double>(s.default_));
        if (s.doubleRange_) {
          number.range(s.doubleRange_->first, s.doubleRange_->second);
        } else if (std::numeric_limits<T>::max() < std::numeric_limits<double>::max()) {
          number.range(-static_cast<double>(std::numeric_limits<T>::max()), static_cast<double>(std::numeric_limits<T>::max()));
        }
        return number;
      } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        sdk::ConfigField list = sdk::stringList(s.key_);
        if (!s.default_.empty()) list.flagProblem("a list setting defaults to empty; give no default");
        return list;
      } else if constexpr (std::is_enum_v<T>) {
        std::vector<std::string> names;
        std::string defaultName;
        for (const auto& [name, value] : s.choices_) {
          names.push_back(name);
          if (value == s.default_ && defaultName.empty()) defaultName = name;
        }
        sdk::ConfigField oneOf = sdk::oneOf(s.key_, defaultName, names);
        if (defaultName.empty()) oneOf.flagProblem("the default is not one of the choices");
        return oneOf;
      } else {
        return countedField(s);
      }
    }();
    if (s.required_) f.required();
    if (s.secret_) f.secret();
    if (!s.description_.empty()) f.doc(s.description_);
    return f;
  }

  // An integer key: the member type's limits (within int64) unless range() narrows them, and the
  // default as a count.
  template <typename T>
  static sdk::ConfigField countedField(const Setting<S, T>& s) {
    using Count = typename settings_detail::CountOf<T>::type;
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t typeMin = std::is_signed_v<Count> ? static_cast<std::int64_t>(std::numeric_limits<Count>::min()) : 0;
    constexpr std::int64_t typeMax =
        static_cast<std::uintmax_t>(std::numeric_limits<Count>::max()) > static_cast<std::uintmax_t>(kMax)
            ? kMax
            : static_cast<std::int64_t>(std::numeric_limits<Count>::max());
    Count count{};
    if constexpr (settings_detail::IsDuration<T>::value) {
      count = s.default_.count();
    } else {
      count = s.default_;
    }
    std::string problem;
    if (!settings_detail::fitsInt64(count)) {
      problem = "the default does not fit in a 64-bit integer";
      count = 0;
    }
    sdk::ConfigField f = sdk::integer(s.key_, static_cast<std::int64_t>(count));
    std::int64_t min = typeMin;
    std::int64_t max = typeMax;
    if (s.intRange_) {
      if (!s.intRange_->fits || s.intRange_->min < typeMin || s.intRange_->max > typeMax) {
        problem = "range() goes beyond what the member's type holds";
      } else {
        min = s.intRange_->min;
        max = s.intRange_->max;
      }
    }
    if (min != kMin || max != kMax) f.range(min, max);
    if (!problem.empty()) f.flagProblem(problem);
    return f;
  }

  template <typename T>
  static Binder makeBinder(const Setting<S, T>& s) {
    using namespace settings_detail;
    return [s](const sdk::Config& config, S& out) -> std::string {
      const std::string& key = s.key_;
      T value{};
      if constexpr (std::is_same_v<T, std::string>) {
        value = config.getString(key);
      } else if constexpr (std::is_same_v<T, bool>) {
        value = config.getBool(key);
      } else if constexpr (std::is_floating_point_v<T>) {
        value = static_cast<T>(config.getDouble(key));
      } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        value = config.getStringList(key);
      } else if constexpr (std::is_enum_v<T>) {
        const std::string name = config.getString(key);
        bool found = false;
        for (const auto& [choiceName, choiceValue] : s.choices_) {
          if (choiceName == name) {
            value = choiceValue;
            found = true;
            break;
          }
        }
        if (!found) return "\"" + name + "\" is not one of the choices";
      } else {
        using Count = typename CountOf<T>::type;
        const std::int64_t n = config.getInt(key);
        // The schema's range keeps n within Count; checked again, since a narrowing here would
        // silently change the value.
        if (!std::in_range<Count>(n)) return std::to_string(n) + " does not fit the setting's type";
        if constexpr (IsDuration<T>::value) {
          value = T(static_cast<Count>(n));
        } else {
          value = static_cast<T>(n);
        }
      }
      if (std::string why = runChecks(s, value); !why.empty()) return why;
      out.*(s.member_) = std::move(value);
      return {};
    };
  }

  std::string key_;
  bool required_;
  sdk::ConfigField field_;
  Binder bind_;
};

// A plugin's settings struct S and its one table.
template <typename S>
class SettingsTable {
 public:
  // A check of the whole bound struct, for rules between keys ("cert_file and key_file go
  // together"): "" when fine, else the message.
  using Check = std::function<std::string(const S& settings)>;

  SettingsTable(std::initializer_list<SettingRow<S>> rows) : rows_(rows) {}

  // Runs after every key bound without a problem.
  SettingsTable& checkedWith(Check fn) & {
    checks_.push_back(std::move(fn));
    return *this;
  }
  SettingsTable&& checkedWith(Check fn) && {
    checks_.push_back(std::move(fn));
    return std::move(*this);
  }

  // The table as the SDK's schema (what GATEHOUSE_PLUGIN publishes and the host validates):
  //   const sdk::ConfigSchema kSchema = kSettings.schema();
  sdk::ConfigSchema schema() const { return sdk::ConfigSchema(fields()); }
  std::vector<sdk::ConfigField> fields() const {
    std::vector<sdk::ConfigField> out;
    out.reserve(rows_.size());
    for (const auto& row : rows_) out.push_back(row.field());
    return out;
  }

  // The struct filled from the validated values configure() receives. The host has checked types,
  // ranges, allowed values and required keys already; bind() adds the table's own checks. Errors:
  // BadRequest "key: what; key: what" for failed checks (and required keys a test's Config lacks),
  // Internal when the Config does not match the table. Members the table does not name keep S{}'s
  // values. Never throws (a throwing check is reported as its key's problem).
  Result<S> bind(const sdk::Config& config) const {
    S out{};
    std::vector<std::string> problems;
    bool internal = false;
    for (const auto& row : rows_) row.bind(config, out, problems, internal);
    if (problems.empty()) {
      for (const auto& check : checks_) {
        try {
          if (std::string why = check(out); !why.empty()) problems.push_back(std::move(why));
        } catch (const std::exception& e) {
          problems.push_back(std::string("cannot check the settings: ") + e.what());
        }
      }
    }
    if (problems.empty()) return out;
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
    return Error{internal ? ErrorCode::Internal : ErrorCode::BadRequest, std::move(message)};
  }

 private:
  std::vector<SettingRow<S>> rows_;
  std::vector<Check> checks_;
};

}  // namespace gatehouse::kit
