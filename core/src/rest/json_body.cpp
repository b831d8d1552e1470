#include "rest/json_body.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace gatehouse::core::rest {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

Error bad(std::string msg) { return makeError(ErrorCode::BadRequest, std::move(msg)); }

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// Poco's parser recurses; refuse deep nesting before handing it the text.
bool tooDeep(std::string_view s) {
  std::size_t depth = 0;
  bool inString = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (inString) {
      if (c == '\\') ++i;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

Result<Var> parseJson(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) {
    return bad("body must be a JSON object or array");
  }
  if (tooDeep(body)) return bad("JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  try {
    Poco::JSON::Parser parser;
    parser.setDepth(kMaxJsonDepth + 1);
    return parser.parse(std::string(body));
  } catch (const Poco::Exception& e) {
    return bad("body is not valid JSON: " + e.message());
  } catch (const std::exception& e) {
    return bad(std::string("body is not valid JSON: ") + e.what());
  }
}

std::string stringify(const Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(v, out);
  return out.str();
}

Result<model::Value> toValue(const Var& v) {
  try {
    if (v.isEmpty()) return model::Value();
    if (v.type() == typeid(Object::Ptr) || v.type() == typeid(Array::Ptr)) {
      return model::Value::ofJson(stringify(v));
    }
    if (v.isBoolean()) return model::Value::ofBool(v.extract<bool>());
    if (v.isString()) return model::Value::ofString(v.extract<std::string>());
    if (v.isInteger()) {
      if (v.isSigned()) return model::Value::ofLong(v.convert<Poco::Int64>());
      const auto u = v.convert<Poco::UInt64>();
      if (u > static_cast<Poco::UInt64>(std::numeric_limits<std::int64_t>::max())) {
        return bad("integer " + std::to_string(u) + " is too large");
      }
      return model::Value::ofLong(static_cast<std::int64_t>(u));
    }
    if (v.isNumeric()) {
      const double d = v.convert<double>();
      if (!std::isfinite(d)) return bad("number is out of range");
      return model::Value::ofDouble(d);
    }
  } catch (const Poco::Exception& e) {
    return bad("unsupported value: " + e.message());
  }
  return bad("unsupported JSON value");
}

// Reads {"name": .., "value": ..} parameter objects.
Result<model::NamedValue> toParam(const Var& item, std::size_t index) {
  if (item.type() != typeid(Object::Ptr)) {
    return bad("parameter #" + std::to_string(index) + " must be an object with name and value");
  }
  auto obj = item.extract<Object::Ptr>();
  if (!obj || !obj->has("name") || !obj->get("name").isString()) {
    return bad("parameter #" + std::to_string(index) + " has no string 'name'");
  }
  model::NamedValue nv;
  nv.name = obj->get("name").extract<std::string>();
  auto value = toValue(obj->get("value"));
  if (!value) return std::move(value).error();
  nv.value = std::move(*value);
  return nv;
}

Result<std::vector<model::NamedValue>> paramsFromArray(const Array::Ptr& arr) {
  std::vector<model::NamedValue> out;
  if (!arr) return out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto p = toParam(arr->get(static_cast<unsigned>(i)), i);
    if (!p) return std::move(p).error();
    for (const auto& existing : out)
      if (existing.name == p->name) return bad("parameter '" + p->name + "' is given twice");
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

Result<model::Value> parseSetBody(std::string_view body) {
  if (blank(body)) return bad("SET needs a body: {\"value\": ...}");
  auto parsed = parseJson(body);
  if (!parsed) return std::move(parsed).error();
  const Var& root = *parsed;
  if (root.type() == typeid(Object::Ptr)) {
    auto obj = root.extract<Object::Ptr>();
    if (!obj || !obj->has("value")) return bad("SET body must have a 'value' member");
    return toValue(obj->get("value"));
  }
  if (root.type() == typeid(Array::Ptr)) {
    auto params = paramsFromArray(root.extract<Array::Ptr>());
    if (!params) return std::move(params).error();
    for (auto& p : *params)
      if (p.name == "value") return std::move(p.value);
    return bad("SET parameter list has no parameter named 'value'");
  }
  return bad("SET body must be {\"value\": ...} or [{\"name\":\"value\",\"value\":...}]");
}

Result<std::vector<model::NamedValue>> parseActBody(std::string_view body) {
  if (blank(body)) return std::vector<model::NamedValue>{};
  auto parsed = parseJson(body);
  if (!parsed) return std::move(parsed).error();
  const Var& root = *parsed;
  if (root.type() == typeid(Array::Ptr)) return paramsFromArray(root.extract<Array::Ptr>());
  if (root.type() != typeid(Object::Ptr)) return bad("ACT body must be a JSON object or array");
  auto obj = root.extract<Object::Ptr>();
  if (!obj) return std::vector<model::NamedValue>{};
  if (obj->has("parameters")) {
    const Var params = obj->get("parameters");
    if (params.isEmpty()) return std::vector<model::NamedValue>{};
    if (params.type() != typeid(Array::Ptr)) return bad("'parameters' must be an array");
    return paramsFromArray(params.extract<Array::Ptr>());
  }
  std::vector<model::NamedValue> out;
  for (const auto& [name, value] : *obj) {
    auto v = toValue(value);
    if (!v) return bad("parameter '" + name + "': " + v.error().message);
    out.push_back(model::NamedValue{name, std::move(*v)});
  }
  return out;
}

Result<SnapshotRequest> parseSnapshotBody(std::string_view body) {
  SnapshotRequest req;
  if (blank(body)) return req;
  auto parsed = parseJson(body);
  if (!parsed) return std::move(parsed).error();
  if (parsed->type() != typeid(Object::Ptr)) return bad("snapshot body must be a JSON object");
  auto obj = parsed->extract<Object::Ptr>();
  if (!obj) return req;
  for (const auto& [name, value] : *obj) {
    if (name == "filter") {
      if (value.isEmpty()) continue;
      if (!value.isString()) return bad("'filter' must be a string");
      req.filter = value.extract<std::string>();
    } else if (name == "includeMetadata") {
      if (!value.isBoolean()) return bad("'includeMetadata' must be true or false");
      req.includeMetadata = value.extract<bool>();
    } else {
      return bad("unknown snapshot option '" + name + "' (expected: filter, includeMetadata)");
    }
  }
  return req;
}

}  // namespace gatehouse::core::rest
