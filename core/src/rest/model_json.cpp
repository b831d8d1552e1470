#include "rest/model_json.h"

#include "common/json_writer.h"

namespace gatehouse::core::rest {

using json::appendInt;
using json::appendString;
using model::NotificationKind;

namespace {
void appendTimestamp(std::string& out, std::int64_t ts) {
  if (ts == 0) out += "null";
  else appendInt(out, ts);
}
}  // namespace

void appendNotificationJson(std::string& out, const model::Notification& n) {
  out += "{\"provider\":";
  appendString(out, n.provider);
  if (!n.service.empty()) {
    out += ",\"service\":";
    appendString(out, n.service);
  }
  if (!n.resource.empty()) {
    out += ",\"resource\":";
    appendString(out, n.resource);
  }
  out += ",\"timestamp\":";
  appendInt(out, n.timestamp);
  switch (n.kind) {
    case NotificationKind::Data:
      out += ",\"oldValue\":";
      n.oldValue.appendJson(out);
      out += ",\"newValue\":";
      n.newValue.appendJson(out);
      out += ",\"type\":";
      appendString(out, model::toString(n.newValue.type()));
      break;
    case NotificationKind::Metadata:
      out += ",\"key\":";
      appendString(out, n.metadataKey);
      out += ",\"oldValue\":";
      n.oldValue.appendJson(out);
      out += ",\"newValue\":";
      n.newValue.appendJson(out);
      break;
    case NotificationKind::Lifecycle:
      out += ",\"event\":";
      appendString(out, model::toString(n.lifecycle));
      break;
    case NotificationKind::Action:
      out += ",\"result\":";
      n.newValue.appendJson(out);
      break;
  }
  out += '}';
}

void appendReadingJson(std::string& out, std::string_view name, const model::Value& value, std::int64_t timestamp) {
  out += "{\"name\":";
  appendString(out, name);
  out += ",\"timestamp\":";
  appendTimestamp(out, timestamp);
  out += ",\"type\":";
  appendString(out, model::toString(value.type()));
  out += ",\"value\":";
  value.appendJson(out);
  out += '}';
}

std::string_view rws(const model::ResourceInfo& r) noexcept {
  if (r.kind == model::ResourceKind::Action) return "RO";
  return r.mutability == model::Mutability::Modifiable ? "RW" : "RO";
}

namespace {
void appendParam(std::string& out, std::string_view name, std::string_view type, bool fixed = false) {
  out += "{\"name\":";
  appendString(out, name);
  out += ",\"type\":";
  appendString(out, type);
  out += ",\"fixed\":";
  out += fixed ? "true" : "false";
  out += ",\"constraints\":[]}";
}

void appendConstraints(std::string& out, const model::ActionParam& p) {
  out += '[';
  bool first = true;
  if (p.min) {
    out += "{\"type\":\"min\",\"value\":";
    json::appendDouble(out, *p.min);
    out += '}';
    first = false;
  }
  if (p.max) {
    if (!first) out += ',';
    out += "{\"type\":\"max\",\"value\":";
    json::appendDouble(out, *p.max);
    out += '}';
  }
  out += ']';
}
}  // namespace

void appendDescribeResourceJson(std::string& out, const model::ResourceInfo& r) {
  out += "{\"name\":";
  appendString(out, r.name);
  out += ",\"type\":";
  appendString(out, model::toString(r.kind));
  out += ",\"valueType\":";
  appendString(out, model::toString(r.value.type()));
  out += ",\"mutability\":";
  appendString(out, model::toString(r.mutability));
  out += ",\"attributes\":[";
  bool first = true;
  for (const auto& m : r.metadata) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    appendString(out, m.key);
    out += ",\"value\":";
    m.value.appendJson(out);
    out += ",\"timestamp\":";
    appendTimestamp(out, m.timestamp);
    out += '}';
  }
  out += "],\"accessMethods\":[";
  if (r.kind == model::ResourceKind::Action) {
    out += "{\"name\":\"ACT\",\"parameters\":[";
    for (std::size_t i = 0; i < r.params.size(); ++i) {
      const auto& p = r.params[i];
      if (i) out += ',';
      out += "{\"name\":";
      appendString(out, p.name);
      out += ",\"type\":";
      appendString(out, model::toString(p.type));
      out += ",\"fixed\":false,\"optional\":";
      out += p.optional ? "true" : "false";
      out += ",\"constraints\":";
      appendConstraints(out, p);
      out += '}';
    }
    out += "]}";
  } else {
    out += "{\"name\":\"GET\",\"parameters\":[";
    appendParam(out, "attributeName", "string");
    out += "]}";
    if (r.mutability == model::Mutability::Modifiable) {
      out += ",{\"name\":\"SET\",\"parameters\":[";
      appendParam(out, "value", model::toString(r.value.type()));
      out += "]}";
    }
    out += ",{\"name\":\"SUBSCRIBE\",\"parameters\":[]},{\"name\":\"UNSUBSCRIBE\",\"parameters\":[]}";
  }
  out += "]}";
}

filter::Scalar toScalar(const model::Value& v) {
  const auto& s = v.storage();
  switch (s.index()) {
    case 0: return std::monostate{};
    case 1: return std::get<std::int64_t>(s);
    case 2: return std::get<double>(s);
    case 3: return std::get<bool>(s);
    default: break;
  }
  if (v.type() == model::ValueType::Bytes) return kit::base64Encode(v.asString());
  return v.asString();
}

filter::Lookup providerLookup(const model::ProviderInfo& provider) {
  return [&provider](std::string_view key) -> std::vector<filter::Scalar> {
    if (key == "PROVIDER") return {provider.name};
    if (key == "MODEL") return {provider.model};
    const auto dot = key.find('.');
    if (dot == std::string_view::npos) return {};
    const auto service = key.substr(0, dot);
    const auto resource = key.substr(dot + 1);
    for (const auto& s : provider.services) {
      if (s.name != service) continue;
      for (const auto& r : s.resources) {
        if (r.name != resource) continue;
        // An end-to-end encrypted value (metadata e2e: true) is ciphertext: a comparison on it would
        // only leak bits of it, so it is seen as null and every item on it is false (docs/filters.md).
        if (model::isEndToEnd(r)) return {std::monostate{}};
        return {toScalar(r.value)};
      }
    }
    return {};
  };
}

}  // namespace gatehouse::core::rest
