#include "gatehouse/sdk/value.h"

#include <limits>
#include <stdexcept>

namespace gatehouse::sdk {

std::string_view toString(ValueType type) noexcept {
  switch (type) {
    case ValueType::Int: return "int";
    case ValueType::Long: return "long";
    case ValueType::Double: return "double";
    case ValueType::Boolean: return "boolean";
    case ValueType::String: return "string";
    case ValueType::Json: return "json";
    case ValueType::Bytes: return "bytes";
  }
  return "unknown";
}

bool isValidType(std::uint32_t ghType) noexcept { return ghType >= GH_TYPE_INT && ghType <= GH_TYPE_BYTES; }

void Value::wrongType(const char* wanted) const {
  throw std::logic_error(std::string("Value: asked for ") + wanted + " but the value is " +
                         (isNull() ? "a null " : "a ") + std::string(toString(type_)));
}

std::int64_t Value::asInteger() const {
  if (const auto* i = std::get_if<std::int64_t>(&data_); i && (type_ == ValueType::Int || type_ == ValueType::Long)) return *i;
  wrongType("an integer");
}

double Value::asDouble() const {
  if (const auto* d = std::get_if<double>(&data_)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&data_)) return static_cast<double>(*i);
  wrongType("a number");
}

bool Value::asBool() const {
  if (const auto* b = std::get_if<bool>(&data_)) return *b;
  wrongType("a boolean");
}

const std::string& Value::asString() const {
  if (const auto* s = std::get_if<std::string>(&data_)) return *s;
  wrongType("a string");
}

gh_value Value::toC() const noexcept {
  gh_value v{};
  v.type = static_cast<std::uint32_t>(type_);
  v.is_null = isNull() ? 1 : 0;
  if (const auto* i = std::get_if<std::int64_t>(&data_)) v.i = *i;
  else if (const auto* d = std::get_if<double>(&data_)) v.d = *d;
  else if (const auto* b = std::get_if<bool>(&data_)) v.i = *b ? 1 : 0;
  else if (const auto* s = std::get_if<std::string>(&data_)) {
    v.data = s->data();
    v.size = s->size();
  }
  return v;
}

std::optional<Value> Value::fromC(const gh_value& v, std::string* why) {
  auto reject = [why](std::string reason) -> std::optional<Value> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (!isValidType(v.type)) return reject("unknown value type " + std::to_string(v.type));
  const auto type = static_cast<ValueType>(v.type);
  if (v.is_null > 1) return reject("is_null must be 0 or 1, found " + std::to_string(v.is_null));
  if (v.is_null) return Value::null(type);
  switch (type) {
    case ValueType::Int:
      if (v.i < std::numeric_limits<std::int32_t>::min() || v.i > std::numeric_limits<std::int32_t>::max()) {
        return reject("int value " + std::to_string(v.i) + " does not fit in 32 bits");
      }
      return Value::ofInt(static_cast<std::int32_t>(v.i));
    case ValueType::Long: return Value::ofLong(v.i);
    case ValueType::Double: return Value::ofDouble(v.d);
    case ValueType::Boolean:
      if (v.i != 0 && v.i != 1) return reject("boolean value must be 0 or 1, found " + std::to_string(v.i));
      return Value::ofBool(v.i == 1);
    case ValueType::String:
    case ValueType::Json:
    case ValueType::Bytes: {
      if (v.data == nullptr && v.size != 0) return reject(std::string(toString(type)) + " value has no data but size " + std::to_string(v.size));
      std::string bytes = v.size == 0 ? std::string() : std::string(v.data, v.size);
      if (type == ValueType::String) return Value::ofString(std::move(bytes));
      if (type == ValueType::Json) return Value::ofJson(std::move(bytes));
      return Value::ofBytes(std::move(bytes));
    }
  }
  return reject("unknown value type " + std::to_string(v.type));
}

}  // namespace gatehouse::sdk
