#pragma once
// gatehouse::sdk::Value: the C++ form of a gh_value (abi.h), owned and typed.
//
// Threads: a Value is a plain value type (no shared state); distinct objects may be used from any
// threads at once, one object from one thread at a time (like std::string).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "gatehouse/sdk/abi.h"

namespace gatehouse::sdk {

// The model's resource types; the numbers are the ABI's GH_TYPE_* so conversion is a cast.
enum class ValueType : std::uint32_t {
  Int = GH_TYPE_INT,          // 32-bit integer
  Long = GH_TYPE_LONG,        // 64-bit integer
  Double = GH_TYPE_DOUBLE,
  Boolean = GH_TYPE_BOOLEAN,
  String = GH_TYPE_STRING,    // UTF-8 text
  Json = GH_TYPE_JSON,        // one JSON value as text
  Bytes = GH_TYPE_BYTES,      // raw bytes (held in a std::string)
};

// "int", "long", "double", "boolean", "string", "json", "bytes"; "unknown" otherwise.
std::string_view toString(ValueType type) noexcept;
// True for the seven GH_TYPE_* values above.
bool isValidType(std::uint32_t ghType) noexcept;

// A value and its type. A default-constructed Value is a null String ("no value").
class Value {
 public:
  Value() = default;
  static Value null(ValueType type) { Value v; v.type_ = type; return v; }
  static Value ofInt(std::int32_t v) { return Value(ValueType::Int, std::int64_t{v}); }
  static Value ofLong(std::int64_t v) { return Value(ValueType::Long, v); }
  static Value ofDouble(double v) { return Value(ValueType::Double, v); }
  static Value ofBool(bool v) { return Value(ValueType::Boolean, v); }
  static Value ofString(std::string v) { return Value(ValueType::String, std::move(v)); }
  static Value ofJson(std::string jsonText) { return Value(ValueType::Json, std::move(jsonText)); }
  static Value ofBytes(std::string bytes) { return Value(ValueType::Bytes, std::move(bytes)); }

  ValueType type() const noexcept { return type_; }
  bool isNull() const noexcept { return data_.index() == 0; }

  // Typed access. Each throws std::logic_error naming both types when the value is null or of
  // another type (inside Bridge callbacks the adapter turns that into a failed call, so a plugin
  // bug shows up as a message, not a crash). Check type()/isNull() first for untrusted input.
  std::int64_t asInteger() const;            // Int, Long
  double asDouble() const;                   // Double, and Int/Long converted
  bool asBool() const;                       // Boolean
  const std::string& asString() const;       // String, Json, Bytes

  // The value as a gh_value that BORROWS this object's bytes: valid while *this lives unchanged.
  gh_value toC() const noexcept;

  // Copies a gh_value received from the host. nullopt (and *why set, when given) if it is not a
  // well-formed value: unknown type, INT outside 32 bits, BOOLEAN not 0/1, data NULL with size > 0.
  static std::optional<Value> fromC(const gh_value& v, std::string* why = nullptr);

  bool operator==(const Value& o) const noexcept { return type_ == o.type_ && data_ == o.data_; }

 private:
  using Storage = std::variant<std::monostate, std::int64_t, double, bool, std::string>;
  Value(ValueType type, Storage data) : type_(type), data_(std::move(data)) {}
  [[noreturn]] void wrongType(const char* wanted) const;

  ValueType type_ = ValueType::String;
  Storage data_;
};

}  // namespace gatehouse::sdk
