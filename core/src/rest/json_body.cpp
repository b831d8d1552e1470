#include "rest/json_body.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "gatehouse/kit/json.h"

namespace gatehouse::core::rest {

namespace {

using kit::Json;

// The HTTP layer answers 413 to bodies over http.max_body_bytes (at most 64 MiB) before they
// get here; this bound only keeps the reader's own limit explicit.
constexpr kit::JsonLimits kBodyLimits{64u << 20, static_cast<int>(kMaxJsonDepth)};

Error bad(std::string msg) { return makeError(ErrorCode::BadRequest, std::move(msg)); }

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// The kit's reader refuses duplicate member names (Poco, which REST used before, kept the last
// one), nesting deeper than kMaxJsonDepth (checked while reading: no recursion beyond it), invalid
// UTF-8, lone surrogates and numbers outside the range of a double.
Result<Json> parseJson(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) {
    return bad("body must be a JSON object or array");
  }
  auto parsed = kit::parseJson(body, kBodyLimits);
  if (!parsed) {
    std::string_view why = parsed.message();
    if (why.rfind("invalid JSON: ", 0) == 0) why.remove_prefix(14);
    return bad("body is not valid JSON: " + std::string(why));
  }
  return std::move(*parsed);
}

// Members of an object by name: the order Poco's JSON objects (std::map) iterated in, which REST
// clients saw for ACT parameters given as an object and for json values.
std::vector<const kit::JsonMember*> byName(const Json& obj) {
  std::vector<const kit::JsonMember*> out;
  out.reserve(obj.members.size());
  for (const auto& m : obj.members) out.push_back(&m);
  std::sort(out.begin(), out.end(), [](const kit::JsonMember* a, const kit::JsonMember* b) { return a->name < b->name; });
  return out;
}

// Numbers become long when written as an integer that fits 64 bits, double otherwise (as Poco
// read them); an integer literal between 2^63 and 2^64 - 1 is refused rather than rounded.
Result<model::Value> toNumber(const Json& v) {
  if (v.isInteger()) return model::Value::ofLong(v.asInt());
  if (v.text.find_first_of("-.eE") == std::string::npos) {
    std::uint64_t u = 0;
    const auto [ptr, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), u);
    if (ec == std::errc() && ptr == v.text.data() + v.text.size()) return bad("integer " + v.text + " is too large");
  }
  return model::Value::ofDouble(v.number);
}

// A missing member (nullptr) is a null value, like an explicit null.
Result<model::Value> toValue(const Json* v) {
  if (v == nullptr) return model::Value();
  switch (v->kind) {
    case Json::Kind::Null: return model::Value();
    case Json::Kind::Boolean: return model::Value::ofBool(v->boolean);
    case Json::Kind::String: return model::Value::ofString(v->text);
    case Json::Kind::Number: return toNumber(*v);
    case Json::Kind::Array:
    case Json::Kind::Object:
      // Members by name, as Poco wrote them, so a json value reads back the same as before the
      // kit's reader replaced Poco; numbers stay as the client wrote them.
      return model::Value::ofJson(kit::toJsonText(*v, kit::MemberOrder::ByName));
  }
  return bad("unsupported JSON value");
}

// Reads {"name": .., "value": ..} parameter objects.
Result<model::NamedValue> toParam(const Json& item, std::size_t index) {
  if (!item.isObject()) return bad("parameter #" + std::to_string(index) + " must be an object with name and value");
  const Json* name = item.find("name");
  if (name == nullptr || !name->isString()) return bad("parameter #" + std::to_string(index) + " has no string 'name'");
  model::NamedValue nv;
  nv.name = name->text;
  auto value = toValue(item.find("value"));
  if (!value) return std::move(value).error();
  nv.value = std::move(*value);
  return nv;
}

Result<std::vector<model::NamedValue>> paramsFromArray(const Json& arr) {
  std::vector<model::NamedValue> out;
  for (std::size_t i = 0; i < arr.items.size(); ++i) {
    auto p = toParam(arr.items[i], i);
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
  const Json& root = *parsed;
  if (root.isObject()) {
    const Json* value = root.find("value");
    if (value == nullptr) return bad("SET body must have a 'value' member");
    return toValue(value);
  }
  if (root.isArray()) {
    auto params = paramsFromArray(root);
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
  const Json& root = *parsed;
  if (root.isArray()) return paramsFromArray(root);
  if (!root.isObject()) return bad("ACT body must be a JSON object or array");
  if (const Json* params = root.find("parameters")) {
    if (params->isNull()) return std::vector<model::NamedValue>{};
    if (!params->isArray()) return bad("'parameters' must be an array");
    return paramsFromArray(*params);
  }
  std::vector<model::NamedValue> out;
  for (const kit::JsonMember* m : byName(root)) {
    auto v = toValue(&m->value);
    if (!v) return bad("parameter '" + m->name + "': " + v.error().message);
    out.push_back(model::NamedValue{m->name, std::move(*v)});
  }
  return out;
}

Result<SnapshotRequest> parseSnapshotBody(std::string_view body) {
  SnapshotRequest req;
  if (blank(body)) return req;
  auto parsed = parseJson(body);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->isObject()) return bad("snapshot body must be a JSON object");
  for (const kit::JsonMember* m : byName(*parsed)) {
    const Json& value = m->value;
    if (m->name == "filter") {
      if (value.isNull()) continue;
      if (!value.isString()) return bad("'filter' must be a string");
      req.filter = value.text;
    } else if (m->name == "includeMetadata") {
      if (!value.isBoolean()) return bad("'includeMetadata' must be true or false");
      req.includeMetadata = value.boolean;
    } else {
      return bad("unknown snapshot option '" + m->name + "' (expected: filter, includeMetadata)");
    }
  }
  return req;
}

}  // namespace gatehouse::core::rest
