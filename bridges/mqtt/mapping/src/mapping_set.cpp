#include <algorithm>

#include "mapping_data.h"

namespace gatehouse::bridge::mqtt {

namespace {

constexpr std::size_t kMaxErrorText = 1024;

bool isAdminResource(const std::string& key) {
  return key == "friendlyName" || key == "description" || key == "location";
}

std::string quoted(std::string_view s) { return kit::quoteForMessage(s, 64); }

// The name for one of provider/service/resource: the literal from the file, else the topic's
// capture, which must pass D5.
Result<std::string> resolveName(const std::string& literal, const char* key, const std::map<std::string, std::string>& captured) {
  if (!literal.empty()) return Result<std::string>(literal);
  const auto it = captured.find(key);
  const std::string value = it == captured.end() ? std::string() : it->second;
  if (!kit::isValidIdentifier(value)) {
    return kit::badRequest(std::string("the topic level for {") + key + "} is not a safe name: " + quoted(value) +
                                     " (allowed: 1-128 of A-Z a-z 0-9 _ . : -, no \"..\")");
  }
  return Result<std::string>(value);
}

sdk::ResourceSpec specFor(const Mapping& m, const ResourceRule& r, const std::string& provider, const std::string& service,
                          const std::string& resource) {
  sdk::ResourceSpec s;
  s.provider = provider;
  s.service = service;
  s.resource = resource;
  s.type = r.type;
  s.unit = r.unit;
  if (m.command) {
    s.kind = sdk::ResourceKind::StateVariable;
    s.mutability = sdk::Mutability::Modifiable;
  }
  return s;
}

sdk::ResourceSpec actionSpec(const ActionRule& a, const std::string& provider, const std::string& service) {
  sdk::ResourceSpec s;
  s.provider = provider;
  s.service = service;
  s.resource = a.name;
  s.kind = sdk::ResourceKind::Action;
  s.mutability = sdk::Mutability::Fixed;
  s.params = a.params;
  s.resultType = a.resultType;
  return s;
}


// The protocol's companion topics <t>/_e2e/req and <t>/_e2e/wrap/<id> (docs/e2e-protocol.md
// section 8) are not data: an e2e mapping whose filter also matches them (a '#') leaves them alone.
bool isE2eCompanionTopic(std::string_view topic) {
  if (topic.ends_with("/_e2e/req")) return true;
  const std::size_t last = topic.rfind('/');
  if (last == std::string_view::npos) return false;
  return topic.substr(0, last).ends_with("/_e2e/wrap");
}

void addDeclaration(std::vector<sdk::ResourceSpec>& out, sdk::ResourceSpec spec) {
  for (const auto& d : out) {
    if (d.provider == spec.provider && d.service == spec.service && d.resource == spec.resource) return;
  }
  out.push_back(std::move(spec));
}

// Replaces the placeholders {value}, {params}, {provider}, {service}, {resource}; other text
// (including JSON braces) is copied unchanged.
std::string expandPayload(const std::string& tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      const std::size_t close = tmpl.find('}', i);
      if (close != std::string::npos) {
        const auto it = values.find(tmpl.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

bool nameMatches(const std::string& literal, const std::string& wanted) { return literal.empty() || literal == wanted; }

CommandRoute makeRoute(const CommandRule& c, const std::map<std::string, std::string>& names, std::string payload,
                       sdk::ValueType resultType) {
  CommandRoute route;
  route.topic = c.topic.expand(names);
  route.qos = c.qos;
  route.payload = std::move(payload);
  route.response = c.response;
  if (c.ackTopic) route.ackTopic = c.ackTopic->expand(names);
  route.timeoutMs = c.timeoutMs;
  route.resultType = resultType;
  return route;
}

Result<void> checkNames(const std::string& provider, const std::string& service, const std::string& resource) {
  for (const auto* n : {&provider, &service, &resource}) {
    if (!kit::isValidIdentifier(*n)) return kit::badRequest("not a valid name: " + quoted(*n));
  }
  return {};
}

}  // namespace

// e2e/keyRequest(topic: string, request: bytes) -> bytes: the relay of docs/e2e-protocol.md section 8.
sdk::ResourceSpec keyRequestSpec(const std::string& provider) {
  sdk::ResourceSpec s;
  s.provider = provider;
  s.service = kE2eService;
  s.resource = kKeyRequestAction;
  s.kind = sdk::ResourceKind::Action;
  s.mutability = sdk::Mutability::Fixed;
  sdk::ActionParam topic;
  topic.name = "topic";
  topic.type = sdk::ValueType::String;
  sdk::ActionParam request;
  request.name = "request";
  request.type = sdk::ValueType::Bytes;
  s.params = {topic, request};
  s.resultType = sdk::ValueType::Bytes;
  s.description = "Relays an end-to-end key request for a data topic and answers with the publisher's key wrap";
  return s;
}

MappingSet::MappingSet() : data_(std::make_shared<const Data>()) {}

std::size_t MappingSet::size() const { return data_->mappings.size(); }

bool MappingSet::hasCommands() const {
  for (const auto& m : data_->mappings) {
    if (m.command || !m.actions.empty() || m.e2e) return true;
  }
  return false;
}

const std::string& MappingSet::description(std::size_t mappingIndex) const {
  static const std::string kNone;
  return mappingIndex < data_->mappings.size() ? data_->mappings[mappingIndex].description : kNone;
}

std::vector<Subscription> MappingSet::subscriptions() const {
  std::vector<Subscription> out;
  for (const auto& m : data_->mappings) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Subscription& s) { return s.filter == m.topic.filter(); });
    if (it == out.end()) out.push_back(Subscription{m.topic.filter(), m.qos});
    else it->qos = std::max(it->qos, m.qos);
  }
  return out;
}

Extracted MappingSet::apply(std::string_view topic, std::string_view payload) const {
  Extracted out;
  std::optional<Result<kit::Json>> doc;   // parsed on first need, once per message
  for (std::size_t index = 0; index < data_->mappings.size(); ++index) {
    const Mapping& m = data_->mappings[index];
    const auto captured = m.topic.match(topic);
    if (!captured) continue;
    if (m.e2e && isE2eCompanionTopic(topic)) continue;
    const auto fail = [&](const std::string& reason) { out.errors.emplace_back(index, reason.substr(0, kMaxErrorText)); };

    const auto provider = resolveName(m.provider, "provider", *captured);
    if (!provider) { fail(provider.message()); continue; }
    const auto service = resolveName(m.service, "service", *captured);
    if (!service) { fail(service.message()); continue; }
    if (payload.size() > kMaxPayloadBytes) {
      fail("payload of " + std::to_string(payload.size()) + " bytes is larger than the limit of " + std::to_string(kMaxPayloadBytes) + " bytes");
      continue;
    }
    const kit::Json* root = nullptr;
    if (m.format == PayloadFormat::Json) {
      if (!doc) doc = kit::parseJson(payload, kPayloadJsonLimits);
      if (!*doc) { fail(doc->message()); continue; }
      root = &doc->value();
    }
    std::int64_t timestampMs = 0;
    if (m.timestamp) {
      auto at = kit::resolvePointer(*root, m.timestamp->pointer);
      if (!at) { fail("timestamp: " + at.message()); continue; }
      auto ts = timestampFromJson(**at, m.timestamp->format);
      if (!ts) { fail(ts.message()); continue; }
      timestampMs = *ts;
    }

    std::string problems;
    std::vector<std::string> extractedResources;
    for (const auto& rule : m.resources) {
      const auto resource = resolveName(rule.name, "resource", *captured);
      if (!resource) { problems += (problems.empty() ? "" : "; ") + resource.message(); continue; }
      if (m.e2e && *service == kE2eService && *resource == kKeyRequestAction) {
        problems += (problems.empty() ? "" : "; ") + std::string("e2e/keyRequest is the key request action; it cannot hold data");
        continue;
      }
      Result<sdk::Value> value = kit::internal("not extracted");
      if (m.e2e) {
        value = sdk::Value::ofBytes(std::string(payload));   // ciphertext: stored as it came, never parsed
      } else if (root != nullptr) {
        auto at = kit::resolvePointer(*root, rule.pointer);
        value = at ? valueFromJson(**at, rule.type) : Result<sdk::Value>(at.error());
      } else {
        value = valueFromPayload(payload, m.format, rule.type);
      }
      if (!value) {
        if (problems.size() < kMaxErrorText) problems += (problems.empty() ? "" : "; ") + ("resource " + *resource + ": " + value.message());
        continue;
      }
      ResourceUpdate u;
      u.provider = *provider;
      u.service = *service;
      u.resource = *resource;
      u.value = std::move(*value);
      u.timestampMs = timestampMs;
      u.mapping = index;
      u.e2e = m.e2e;
      out.updates.push_back(std::move(u));
      addDeclaration(out.declarations, specFor(m, rule, *provider, *service, *resource));
      extractedResources.push_back(*resource);
    }
    if (extractedResources.empty()) {   // nothing usable: create nothing (no provider from metadata alone)
      fail(problems);
      continue;
    }
    for (const auto& a : m.actions) addDeclaration(out.declarations, actionSpec(a, *provider, *service));

    // Metadata: a pointer that names nothing in this message is skipped (devices often send names
    // only now and then); admin keys become values of the provider's admin resources.
    for (const auto& rule : m.metadata) {
      sdk::Value value;
      if (rule.fromPayload) {
        auto at = kit::resolvePointer(*root, rule.pointer);
        if (!at) continue;
        const kit::Json& v = **at;
        value = v.isString() ? sdk::Value::ofString(v.text) : sdk::Value::ofJson(kit::toJsonText(v));
      } else {
        value = sdk::Value::ofString(rule.literal);
      }
      if (isAdminResource(rule.key)) {
        ResourceUpdate u;
        u.provider = *provider;
        u.service = "admin";
        u.resource = rule.key;
        u.value = std::move(value);
        u.timestampMs = timestampMs;
        u.mapping = index;
        u.admin = true;
        out.updates.push_back(std::move(u));
      } else {
        for (const auto& r : extractedResources) {
          out.metadata.push_back(MetadataUpdate{*provider, *service, r, rule.key, value});
        }
      }
    }
    if (!problems.empty()) fail(problems);
  }
  return out;
}

std::vector<sdk::ResourceSpec> MappingSet::declarationsFor(std::size_t mappingIndex, const std::string& provider,
                                                           const std::string& service) const {
  std::vector<sdk::ResourceSpec> out;
  if (mappingIndex >= data_->mappings.size()) return out;
  const Mapping& m = data_->mappings[mappingIndex];
  for (const auto& r : m.resources) {
    if (!r.name.empty()) out.push_back(specFor(m, r, provider, service, r.name));
  }
  for (const auto& a : m.actions) out.push_back(actionSpec(a, provider, service));
  if (m.e2e) out.push_back(keyRequestSpec(provider));
  return out;
}

bool MappingSet::hasE2e() const {
  return std::any_of(data_->mappings.begin(), data_->mappings.end(), [](const Mapping& m) { return m.e2e; });
}

Result<E2eRelay> MappingSet::e2eRelayFor(const std::string& provider, std::string_view topic) const {
  if (!isE2eCompanionTopic(topic)) {
    for (std::size_t index = 0; index < data_->mappings.size(); ++index) {
      const Mapping& m = data_->mappings[index];
      if (!m.e2e) continue;
      const auto captured = m.topic.match(topic);
      if (!captured) continue;
      const auto p = resolveName(m.provider, "provider", *captured);
      if (p && *p == provider) return Result<E2eRelay>(E2eRelay{index, m.keyRequestTimeoutMs});
    }
  }
  return kit::notFound("no e2e mapping maps the topic " + quoted(topic) + " to the provider " + quoted(provider));
}

Result<CommandRoute> MappingSet::routeForSet(const std::string& provider, const std::string& service,
                                             const std::string& resource, const sdk::Value& value) const {
  using R = Result<CommandRoute>;
  if (auto names = checkNames(provider, service, resource); !names) return std::move(names).error();
  for (const auto& m : data_->mappings) {
    if (!m.command || !nameMatches(m.provider, provider) || !nameMatches(m.service, service)) continue;
    const ResourceRule& rule = m.resources.front();
    if (!nameMatches(rule.name, resource)) continue;
    if (value.type() != rule.type) {
      return kit::badRequest("the value for " + resource + " must be of type " + std::string(sdk::toString(rule.type)) + ", not " +
                     std::string(sdk::toString(value.type())));
    }
    auto json = kit::toJsonText(value);
    if (!json) return kit::badRequest(json.message());
    const std::map<std::string, std::string> names{{"provider", provider}, {"service", service}, {"resource", resource}};
    auto values = names;
    values["value"] = *json;
    return R(makeRoute(*m.command, names, expandPayload(m.command->payload, values), rule.type));
  }
  return kit::notFound("no mapping gives " + provider + "/" + service + "/" + resource + " a command; it cannot be SET");
}

Result<CommandRoute> MappingSet::routeForAct(const std::string& provider, const std::string& service,
                                             const std::string& resource,
                                             const std::vector<std::pair<std::string, sdk::Value>>& params) const {
  using R = Result<CommandRoute>;
  if (auto names = checkNames(provider, service, resource); !names) return std::move(names).error();
  for (const auto& m : data_->mappings) {
    if (!nameMatches(m.provider, provider) || !nameMatches(m.service, service)) continue;
    for (const auto& a : m.actions) {
      if (a.name != resource) continue;
      std::string object = "{";
      for (const auto& [name, value] : params) {
        auto json = kit::toJsonText(value);
        if (!json) return kit::badRequest("parameter " + quoted(name) + ": " + json.message());
        if (object.size() > 1) object += ',';
        kit::json::appendString(object, name);
        object += ':' + *json;
      }
      object += '}';
      const std::map<std::string, std::string> names{{"provider", provider}, {"service", service}, {"resource", resource}};
      auto values = names;
      values["params"] = object;
      return R(makeRoute(a.command, names, expandPayload(a.command.payload, values), a.resultType));
    }
  }
  return kit::notFound("no mapping declares the action " + provider + "/" + service + "/" + resource);
}

std::optional<CommandRoute> MappingSet::commandForSet(const std::string& provider, const std::string& service,
                                                      const std::string& resource, const sdk::Value& value) const {
  auto route = routeForSet(provider, service, resource, value);
  if (!route) return std::nullopt;
  return std::move(route).value();
}

std::optional<CommandRoute> MappingSet::commandForAct(const std::string& provider, const std::string& service,
                                                      const std::string& resource,
                                                      const std::vector<std::pair<std::string, sdk::Value>>& params) const {
  auto route = routeForAct(provider, service, resource, params);
  if (!route) return std::nullopt;
  return std::move(route).value();
}

Result<sdk::Value> parseAck(std::string_view payload, std::uint32_t type) {
  using R = Result<sdk::Value>;
  if (!sdk::isValidType(type)) return kit::badRequest("unknown value type " + std::to_string(type));
  auto doc = kit::parseJson(payload, kPayloadJsonLimits);
  if (!doc) return kit::badRequest("the reply is not JSON: " + doc.message());
  const kit::Json& root = *doc;
  if (!root.isObject()) return kit::badRequest("the reply must be a JSON object with \"ok\", found a " + std::string(kit::kindName(root.kind)));
  const kit::Json* ok = root.find("ok");
  if (ok == nullptr || !ok->isBoolean()) return kit::badRequest("the reply has no boolean \"ok\"");
  if (!ok->boolean) {
    const kit::Json* error = root.find("error");
    if (error != nullptr && error->isString() && !error->text.empty()) {
      return kit::makeError(kit::ErrorCode::Conflict, "the device refused: " + error->text.substr(0, 256));
    }
    return kit::makeError(kit::ErrorCode::Conflict, "the device refused the command (no reason given)");
  }
  const auto t = static_cast<sdk::ValueType>(type);
  const kit::Json* value = root.find("value");
  if (value == nullptr || value->isNull()) return R(sdk::Value::null(t));
  auto v = valueFromJson(*value, t);
  if (!v) return kit::badRequest("the reply's value: " + v.message());
  return v;
}

}  // namespace gatehouse::bridge::mqtt
