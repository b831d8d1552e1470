#pragma once
// Typed values held by resources, and the enums of the sensiNact model (docs/architecture.md).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::core::model {

enum class ValueType : std::uint8_t { Int, Long, Double, Boolean, String, Json, Bytes };
enum class ResourceKind : std::uint8_t { Sensor, StateVariable, Property, Action };
enum class Mutability : std::uint8_t { Modifiable, Updatable, Fixed };

std::string_view toString(ValueType t) noexcept;      // "int", "long", "double", "boolean", "string", "json", "bytes"
std::string_view toString(ResourceKind k) noexcept;   // "SENSOR", "STATE_VARIABLE", "PROPERTY", "ACTION"
std::string_view toString(Mutability m) noexcept;     // "MODIFIABLE", "UPDATABLE", "FIXED"
// Accepts our names and the common aliases sensiNact clients send ("integer", "float", "bool",
// "java.lang.Double", ...). nullopt when unknown.
std::optional<ValueType> parseValueType(std::string_view name) noexcept;
std::optional<ResourceKind> parseResourceKind(std::string_view name) noexcept;
std::optional<Mutability> parseMutability(std::string_view name) noexcept;

// A value and its type. Json holds serialized JSON text; Bytes holds raw bytes (base64 on the wire).
// A default-constructed Value is null (no value yet).
class Value {
 public:
  using Storage = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

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
  const Storage& storage() const noexcept { return data_; }

  std::int64_t asInteger() const { return std::get<std::int64_t>(data_); }
  double asDouble() const { return std::get<double>(data_); }
  bool asBool() const { return std::get<bool>(data_); }
  const std::string& asString() const { return std::get<std::string>(data_); }

  // Appends the value as JSON (null, number, true/false, string, the raw JSON, base64 for bytes).
  void appendJson(std::string& out) const;
  std::string toJson() const { std::string s; appendJson(s); return s; }

  bool operator==(const Value& o) const noexcept { return type_ == o.type_ && data_ == o.data_; }

 private:
  Value(ValueType type, Storage data) : type_(type), data_(std::move(data)) {}
  ValueType type_ = ValueType::String;
  Storage data_;
};

// Converts `in` to `target` when that loses nothing (int -> double, integral double -> long,
// long within range -> int, any -> json). BadRequest with a clear message otherwise.
Result<Value> coerce(const Value& in, ValueType target);

// The identifier rule and the clock are the kit's (gatehouse/kit/codec.h): one rule for the model,
// topics and every bridge.
using kit::checkIdentifier;
using kit::isValidIdentifier;
using kit::nowMillis;

}  // namespace gatehouse::core::model
