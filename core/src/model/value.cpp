#include "model/value.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "common/json_writer.h"

namespace gatehouse::core::model {

std::string_view toString(ValueType t) noexcept {
  switch (t) {
    case ValueType::Int: return "int";
    case ValueType::Long: return "long";
    case ValueType::Double: return "double";
    case ValueType::Boolean: return "boolean";
    case ValueType::String: return "string";
    case ValueType::Json: return "json";
    case ValueType::Bytes: return "bytes";
  }
  return "string";
}

std::string_view toString(ResourceKind k) noexcept {
  switch (k) {
    case ResourceKind::Sensor: return "SENSOR";
    case ResourceKind::StateVariable: return "STATE_VARIABLE";
    case ResourceKind::Property: return "PROPERTY";
    case ResourceKind::Action: return "ACTION";
  }
  return "SENSOR";
}

std::string_view toString(Mutability m) noexcept {
  switch (m) {
    case Mutability::Modifiable: return "MODIFIABLE";
    case Mutability::Updatable: return "UPDATABLE";
    case Mutability::Fixed: return "FIXED";
  }
  return "UPDATABLE";
}

std::optional<ValueType> parseValueType(std::string_view n) noexcept {
  if (n == "int" || n == "integer" || n == "java.lang.Integer" || n == "short" || n == "byte") return ValueType::Int;
  if (n == "long" || n == "java.lang.Long") return ValueType::Long;
  if (n == "double" || n == "float" || n == "number" || n == "java.lang.Double" || n == "java.lang.Float") return ValueType::Double;
  if (n == "boolean" || n == "bool" || n == "java.lang.Boolean") return ValueType::Boolean;
  if (n == "string" || n == "java.lang.String") return ValueType::String;
  if (n == "json" || n == "object" || n == "array" || n == "geojson") return ValueType::Json;
  if (n == "bytes" || n == "byte[]") return ValueType::Bytes;
  return std::nullopt;
}

std::optional<ResourceKind> parseResourceKind(std::string_view n) noexcept {
  if (n == "SENSOR") return ResourceKind::Sensor;
  if (n == "STATE_VARIABLE") return ResourceKind::StateVariable;
  if (n == "PROPERTY") return ResourceKind::Property;
  if (n == "ACTION") return ResourceKind::Action;
  return std::nullopt;
}

std::optional<Mutability> parseMutability(std::string_view n) noexcept {
  if (n == "MODIFIABLE") return Mutability::Modifiable;
  if (n == "UPDATABLE") return Mutability::Updatable;
  if (n == "FIXED") return Mutability::Fixed;
  return std::nullopt;
}

void Value::appendJson(std::string& out) const {
  switch (data_.index()) {
    case 0: out += "null"; return;
    case 1: json::appendInt(out, std::get<std::int64_t>(data_)); return;
    case 2: json::appendDouble(out, std::get<double>(data_)); return;
    case 3: json::appendBool(out, std::get<bool>(data_)); return;
    default: break;
  }
  const std::string& s = std::get<std::string>(data_);
  if (type_ == ValueType::Json) {
    out += s.empty() ? std::string_view("null") : std::string_view(s);
  } else if (type_ == ValueType::Bytes) {
    // Base64 text needs no JSON escaping (end-to-end envelopes take this path for every message).
    out += '"';
    out += kit::base64Encode(s);
    out += '"';
  } else {
    json::appendString(out, s);
  }
}

namespace {
Error typeError(const Value& in, ValueType target) {
  std::string msg = "expected a value of type ";
  msg += toString(target);
  msg += ", got ";
  msg += toString(in.type());
  msg += ' ';
  // Bytes may be end-to-end ciphertext (docs/e2e-protocol.md): never quoted in a message, only sized.
  if (in.type() == ValueType::Bytes && !in.isNull()) msg += "(" + std::to_string(in.asString().size()) + " bytes)";
  else msg += in.toJson().substr(0, 64);
  return makeError(ErrorCode::BadRequest, std::move(msg));
}
}  // namespace

Result<Value> coerce(const Value& in, ValueType target) {
  if (in.type() == target) return in;
  if (in.isNull()) return Value::null(target);
  const auto& s = in.storage();
  switch (target) {
    case ValueType::Int:
    case ValueType::Long: {
      std::int64_t v = 0;
      if (std::holds_alternative<std::int64_t>(s)) {
        v = std::get<std::int64_t>(s);
      } else if (std::holds_alternative<double>(s)) {
        const double d = std::get<double>(s);
        if (!std::isfinite(d) || std::trunc(d) != d || d < -9.2e18 || d > 9.2e18) return typeError(in, target);
        v = static_cast<std::int64_t>(d);
      } else {
        return typeError(in, target);
      }
      if (target == ValueType::Int &&
          (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())) {
        return makeError(ErrorCode::BadRequest, "value " + std::to_string(v) + " is out of range for type int");
      }
      return target == ValueType::Int ? Value::ofInt(static_cast<std::int32_t>(v)) : Value::ofLong(v);
    }
    case ValueType::Double:
      if (std::holds_alternative<std::int64_t>(s)) return Value::ofDouble(static_cast<double>(std::get<std::int64_t>(s)));
      return typeError(in, target);
    case ValueType::Json:
      return Value::ofJson(in.toJson());
    case ValueType::Boolean:
    case ValueType::String:
    case ValueType::Bytes:
      if ((target == ValueType::String || target == ValueType::Bytes) &&
          (in.type() == ValueType::String || in.type() == ValueType::Bytes)) {
        return target == ValueType::String ? Value::ofString(in.asString()) : Value::ofBytes(in.asString());
      }
      return typeError(in, target);
  }
  return typeError(in, target);
}


}  // namespace gatehouse::core::model
