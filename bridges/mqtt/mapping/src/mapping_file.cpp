// Reading the mappings file with the kit's config engine (gatehouse/kit/config): the file's schema
// in one table, the rules between keys as checks of that table, then a short conversion into the
// MappingSet data. Strict, every problem reported at once as "FILE:LINE:COL: key.path: message",
// exactly like the gateway's own config.
#include <algorithm>
#include <set>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"
#include "gatehouse/kit/config/file.h"
#include "gatehouse/kit/config/schema.h"
#include "gatehouse/kit/config/yaml_document.h"
#include "mapping_data.h"

namespace gatehouse::bridge::mqtt {

namespace {

using kit::config::Diagnostics;
using kit::config::Field;
using kit::config::Problems;
using kit::config::Schema;
using kit::config::Values;

constexpr std::size_t kMaxFileBytes = kit::config::YamlLimits{}.maxBytes;
constexpr std::size_t kMaxMappings = 10000;
constexpr std::size_t kMaxPayloadTemplate = 64 * 1024;

const std::vector<std::string> kFormats = {"json", "text", "number", "boolean", "hex", "base64"};
const std::vector<std::string> kTypes = {"double", "int", "long", "boolean", "string", "json", "bytes"};
const std::vector<std::string> kTimestampFormats = {"seconds", "millis", "iso8601"};
const std::vector<std::string> kResponses = {"mqtt5", "ack"};

// --- checks of single values ---------------------------------------------------------------------

// A name that becomes part of the model (D5 applies to the file too).
std::string checkName(std::string_view v) {
  return kit::isValidIdentifier(v) ? std::string() : "must be a name of 1 to 128 characters A-Z a-z 0-9 _ . : - (no \"..\")";
}

std::string checkMetadataKey(std::string_view v) {
  return kit::isValidIdentifier(v) ? std::string() : "metadata keys must be names (A-Z a-z 0-9 _ . : -)";
}

std::string checkTopic(std::string_view v) {
  auto t = TopicTemplate::parse(v);
  return t ? std::string() : t.message();
}

// A command topic: fully determined at SET/ACT time, so no '+'/'#' and only the names known then.
std::string checkCommandTopic(std::string_view v) {
  auto t = TopicTemplate::parse(v);
  if (!t) return t.message();
  std::string stripped = t->text();
  for (const auto& name : t->names()) {
    const std::string token = "{" + name + "}";
    for (std::size_t at = stripped.find(token); at != std::string::npos; at = stripped.find(token)) stripped.erase(at, token.size());
  }
  if (stripped.find_first_of("+#") != std::string::npos) {
    return "a command topic cannot contain '+' or '#' (messages are published to it)";
  }
  for (const auto& name : t->names()) {
    if (name != "provider" && name != "service" && name != "resource") {
      return "a command topic may only use {provider}, {service} and {resource} (known at SET/ACT time), found {" + name + "}";
    }
  }
  return {};
}

std::string checkPointer(std::string_view v) {
  auto p = kit::parsePointer(v);
  return p ? std::string() : p.message();
}

// "/..." is a JSON pointer into the payload, anything else a literal.
std::string checkMetadataValue(std::string_view v) { return !v.empty() && v[0] == '/' ? checkPointer(v) : std::string(); }

std::string checkPayload(std::string_view v) {
  return v.size() <= kMaxPayloadTemplate ? std::string() : "payload template larger than 64 KiB";
}

// --- rules between keys ----------------------------------------------------------------------------

// response: ack needs ack_topic, and only it uses one.
void checkCommand(const Values& command, Problems& problems) {
  const bool ack = command.getString("response") == "ack";
  if (command.isSet("ack_topic") && !ack) problems.add("ack_topic", "only used with response: ack");
  if (!command.isSet("ack_topic") && ack) {
    problems.add("", "missing required key ack_topic (response: ack reads the reply there)");
  }
}

void checkAction(const Values& action, Problems& problems) {
  std::set<std::string> names;
  const auto& params = action.list("params");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].getString("name");
    if (!names.insert(name).second) {
      const Values::Entry* at = params[i].find("name");
      problems.add("params[" + std::to_string(i) + "].name", at->line, at->column,
                   "parameter " + kit::quoteForMessage(name) + " is listed twice");
    }
  }
}

void checkMapping(const Values& m, Problems& problems) {
  const TopicTemplate topic = TopicTemplate::parse(m.getString("topic")).value();   // checkTopic passed
  const auto named = [&](const std::string& name) {
    return std::find(topic.names().begin(), topic.names().end(), name) != topic.names().end();
  };
  const bool e2e = m.getBool("e2e");
  const bool json = m.getString("format") == "json";
  const char* const kPointerNeedsJson = "a JSON pointer needs format: json (other formats use the whole payload)";

  // provider, service (and resource without resources:): a literal key or a named wildcard, exactly one.
  const auto literalOrWildcard = [&](const std::string& key) {
    if (m.isSet(key) && named(key)) problems.add(key, "the topic already names {" + key + "}; remove one of them");
    if (!m.isSet(key) && !named(key)) problems.add("topic", "no " + key + ": add {" + key + "} to the topic or a `" + key + ":` key");
  };
  literalOrWildcard("provider");
  literalOrWildcard("service");

  // metadata e2e marks the resources of e2e mappings (filters skip them): only e2e: true sets it.
  for (const auto& item : m.map("metadata")) {
    if (item.key == kE2eMetadataKey) {
      problems.add("metadata." + item.key, item.value.line, item.value.column,
                   "the metadata key e2e is reserved: it is set (to true) by `e2e: true`");
    }
  }

  std::set<std::string> resourceNames;
  const auto& resources = m.list("resources");
  if (e2e) {
    // The payload is ciphertext (docs/e2e-protocol.md): it is stored whole and never parsed, so
    // nothing may be read out of it and nothing may be sent back through this mapping.
    const char* const kWhole = "e2e: true stores the whole payload unparsed (it is ciphertext); ";
    if (!m.getString("value").empty()) problems.add("value", std::string(kWhole) + "remove value");
    if (m.isSet("type") && m.getString("type") != "bytes") {
      problems.add("type", std::string(kWhole) + "its type is bytes, found " + kit::quoteForMessage(m.getString("type")));
    }
    if (m.isSet("format") && m.getString("format") != "text") {
      problems.add("format", std::string(kWhole) + "leave format out (or text), found " + kit::quoteForMessage(m.getString("format")));
    }
    if (m.isSet("timestamp")) problems.add("timestamp", std::string(kWhole) + "a timestamp cannot be read from it; remove timestamp");
    if (m.isSet("command")) {
      problems.add("command", "an e2e mapping cannot have a command (a SET would have to send ciphertext only a publisher can make)");
    }
    if (!resources.empty()) {
      problems.add("resources", resources[0].line(), resources[0].column(),
                   std::string(kWhole) + "it is one resource; use resource or {resource}");
    }
    for (const auto& item : m.map("metadata")) {
      const std::string& text = std::get<std::string>(item.value.value);
      if (!text.empty() && text[0] == '/') {
        problems.add("metadata." + item.key, item.value.line, item.value.column,
                     std::string(kWhole) + "write a literal without a leading '/'");
      }
    }
    if (resources.empty()) {
      literalOrWildcard("resource");
      if (m.isSet("resource")) resourceNames.insert(m.getString("resource"));
    }
    if (m.isSet("service") && m.isSet("resource") && m.getString("service") == kE2eService &&
        m.getString("resource") == kKeyRequestAction) {
      problems.add("resource", "e2e/keyRequest is the key request action of e2e mappings; choose another resource name");
    }
  } else if (!resources.empty()) {
    for (const char* single : {"resource", "value", "type", "unit", "command"}) {
      if (m.isSet(single)) problems.add(single, "with resources: give this inside each item of resources");
    }
    if (named("resource")) problems.add("topic", "with resources: the topic cannot also name {resource}");
    for (std::size_t i = 0; i < resources.size(); ++i) {
      const std::string item = "resources[" + std::to_string(i) + "]";
      const std::string& name = resources[i].getString("resource");
      if (!resourceNames.insert(name).second) {
        problems.add(item + ".resource", resources[i].line(), resources[i].column(),
                     "resource " + kit::quoteForMessage(name) + " is listed twice");
      }
      if (!json && !resources[i].getString("value").empty()) {
        const Values::Entry* at = resources[i].find("value");
        problems.add(item + ".value", at->line, at->column, kPointerNeedsJson);
      }
    }
  } else {
    literalOrWildcard("resource");
    if (m.isSet("resource")) resourceNames.insert(m.getString("resource"));
    if (!json && !m.getString("value").empty()) problems.add("value", kPointerNeedsJson);
  }

  if (m.isSet("key_request_timeout_ms") && !e2e) problems.add("key_request_timeout_ms", "only used with e2e: true");
  if (m.isSet("timestamp") && !json && !e2e) problems.add("timestamp", "a timestamp is read by JSON pointer, so it needs format: json");
  if (!json && !e2e) {
    for (const auto& item : m.map("metadata")) {
      const std::string& text = std::get<std::string>(item.value.value);
      if (!text.empty() && text[0] == '/') {
        problems.add("metadata." + item.key, item.value.line, item.value.column,
                     "a JSON pointer needs format: json; write a literal without a leading '/'");
      }
    }
  }

  std::set<std::string> actionNames;
  const auto& actions = m.list("actions");
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const std::string path = "actions[" + std::to_string(i) + "].resource";
    const std::string& name = actions[i].getString("resource");
    if (!actionNames.insert(name).second) {
      problems.add(path, actions[i].line(), actions[i].column(), "action " + kit::quoteForMessage(name) + " is listed twice");
    }
    if (resourceNames.count(name) != 0) {
      problems.add(path, actions[i].line(), actions[i].column(),
                   "action " + kit::quoteForMessage(name) + " has the name of a resource of this mapping");
    }
  }
}

// --- the table -------------------------------------------------------------------------------------

Field valueType(std::string key, std::string defaultType) {
  return Field::oneOf(std::move(key), std::move(defaultType), kTypes);
}

Field pointer(std::string key) {
  return Field::string(std::move(key), "").checkedBy(checkPointer, "an RFC 6901 JSON pointer (`/a/0`) or empty");
}

Field name(std::string key) {
  return Field::string(std::move(key), "").validatedBy(checkName, "1-128 of `A-Z a-z 0-9 _ . : -`, not `.` or `..`");
}

// SET publishes a mapping's command; ACT publishes an action's (`defaultPayload` differs).
Field command(std::string defaultPayload) {
  return Field::section("command", {
      Field::string("topic", "").require("where the command is published")
          .checkedBy(checkCommandTopic, "a topic template using only `{provider}` `{service}` `{resource}`; no `+` `#`")
          .doc("Where the command is published."),
      Field::string("payload", std::move(defaultPayload)).checkedBy(checkPayload, "up to 64 KiB")
          .doc("Template: `{value}` (SET), `{params}` (ACT), `{provider}` `{service}` `{resource}`."),
      Field::integer("qos", 1).range(0, 2).noDefault().doc("QoS of the command; default: the mapping's qos."),
      Field::oneOf("response", "mqtt5", kResponses).doc("How the device answers: an MQTT 5 response, or `ack` on ack_topic."),
      Field::string("ack_topic", "").noDefault()
          .checkedBy(checkCommandTopic, "like `topic`")
          .doc("Where the device acknowledges; required with response ack, refused otherwise."),
      Field::integer("timeout_ms", 5000).range(100, 600000).doc("How long the device has to answer."),
  }).checkedWith(checkCommand);
}

Schema buildSchema() {
  return Schema{{
      Field::list("mappings", {
          Field::string("topic", "").require("the topic template to subscribe to")
              .checkedBy(checkTopic, "an MQTT topic with `{provider}` `{service}` `{resource}` wildcards, `+`, `#`")
              .doc("Topic template; `{x}` is one level, captured."),
          Field::integer("qos", 1).range(0, 2).doc("QoS of the subscription."),
          Field::oneOf("format", "json", kFormats).doc("How the payload is read."),
          name("provider").noDefault().doc("Literal provider name, when the topic has no `{provider}`."),
          name("service").noDefault().doc("Literal service name, when the topic has no `{service}`."),
          name("resource").noDefault().doc("Literal resource name, when the topic has no `{resource}`."),
          pointer("value").doc("Where the value is (format json); empty: the whole payload."),
          valueType("type", "double").doc("Type of the value."),
          Field::string("unit", "").doc("Unit of the value."),
          Field::section("timestamp", {
              pointer("pointer").require().doc("Where the timestamp is."),
              Field::oneOf("format", "seconds", kTimestampFormats).require("seconds, millis or iso8601").doc("How it is written."),
          }).doc("Where the timestamp is (format json); absent: the time of arrival."),
          Field::mapOf("metadata", Field::string("value", "").checkedBy(checkMetadataValue, "`/...`: a JSON pointer; else a literal"))
              .validatedBy(checkMetadataKey, "names")
              .itemsCalled("metadata keys to a JSON pointer (/x) or a literal text")
              .doc("Metadata of the resources; `friendlyName`, `description`, `location` set the provider's admin resources."),
          Field::list("resources", {
              name("resource").require().doc("Resource name."),
              pointer("value").doc("Where its value is; empty: the whole payload."),
              valueType("type", "double").doc("Type of the value."),
              Field::string("unit", "").doc("Unit of the value."),
          }).itemCount(1, kMaxMappings).doc("Several resources from one payload, instead of resource/value/type/unit/command."),
          command("{value}").doc("Makes the resource modifiable: SET publishes here."),
          Field::list("actions", {
              name("resource").require("the action's name").doc("Action name."),
              Field::list("params", {
                  name("name").require().doc("Parameter name."),
                  valueType("type", "int").require().doc("Parameter type."),
                  Field::boolean("optional", false).doc("May be left out."),
              }).itemCount(0, 64).doc("Parameters in order."),
              valueType("result", "string").doc("Type of the reply value."),
              command("{params}").require("where the action is published").doc("ACT publishes here."),
          }).itemCount(0, 256).itemsCalled("actions").checkedWith(checkAction).doc("Actions of the mapping's provider and service."),
          Field::boolean("e2e", false)
              .doc("End-to-end encrypted data (docs/e2e-protocol.md): the whole payload, unparsed, is the value (type bytes), "
                   "metadata e2e: true; adds the action e2e/keyRequest to the provider."),
          Field::integer("key_request_timeout_ms", 5000).range(100, 9000)
              .doc("e2e only: how long the keyRequest action waits for the publisher's key wrap."),
      }).require("a list of topic mappings").itemCount(1, kMaxMappings).itemsCalled("mappings").checkedWith(checkMapping)
        .doc("Topic mappings, tried in order."),
  }};
}

// --- the conversion --------------------------------------------------------------------------------
// Runs only on a file without problems: every parse below was done by a check already.

ResourceRule resourceRule(const Values& v, std::string name) {
  ResourceRule r;
  r.name = std::move(name);
  r.pointerText = v.getString("value");
  r.pointer = kit::parsePointer(r.pointerText).value();
  r.type = parseValueType(v.getString("type")).value();
  r.unit = v.getString("unit");
  return r;
}

CommandRule commandRule(const Values& c, int defaultQos) {
  CommandRule rule;
  rule.topic = TopicTemplate::parse(c.getString("topic")).value();
  rule.qos = c.isSet("qos") ? static_cast<int>(c.getInt("qos")) : defaultQos;
  rule.payload = c.getString("payload");
  rule.response = c.getString("response") == "ack" ? CommandRoute::Response::Ack : CommandRoute::Response::Mqtt5;
  if (rule.response == CommandRoute::Response::Ack) rule.ackTopic = TopicTemplate::parse(c.getString("ack_topic")).value();
  rule.timeoutMs = static_cast<int>(c.getInt("timeout_ms"));
  return rule;
}

Mapping toMapping(const Values& m, std::size_t index) {
  Mapping out;
  out.topic = TopicTemplate::parse(m.getString("topic")).value();
  out.description = "mappings[" + std::to_string(index) + "] " + out.topic.text();
  out.qos = static_cast<int>(m.getInt("qos"));
  out.format = parsePayloadFormat(m.getString("format")).value();
  if (m.isSet("provider")) out.provider = m.getString("provider");
  if (m.isSet("service")) out.service = m.getString("service");
  if (const auto& items = m.list("resources"); !items.empty()) {
    for (const Values& item : items) out.resources.push_back(resourceRule(item, item.getString("resource")));
  } else {
    out.resources.push_back(resourceRule(m, m.isSet("resource") ? m.getString("resource") : std::string()));
  }
  if (m.isSet("timestamp")) {
    TimestampRule ts;
    ts.pointer = kit::parsePointer(m.getString("timestamp.pointer")).value();
    ts.format = parseTimestampFormat(m.getString("timestamp.format")).value();
    out.timestamp = std::move(ts);
  }
  for (const auto& item : m.map("metadata")) {
    MetadataRule rule;
    rule.key = item.key;
    const std::string& text = std::get<std::string>(item.value.value);
    if (!text.empty() && text[0] == '/') {
      rule.fromPayload = true;
      rule.pointer = kit::parsePointer(text).value();
    } else {
      rule.literal = text;
    }
    out.metadata.push_back(std::move(rule));
  }
  if (m.getBool("e2e")) {
    out.e2e = true;
    out.format = PayloadFormat::Text;   // never parsed: apply() takes the bytes as they are
    for (auto& r : out.resources) r.type = sdk::ValueType::Bytes;
    out.keyRequestTimeoutMs = static_cast<int>(m.getInt("key_request_timeout_ms"));
  }
  if (m.isSet("command")) out.command = commandRule(m.section("command"), out.qos);
  for (const Values& a : m.list("actions")) {
    ActionRule action;
    action.name = a.getString("resource");
    for (const Values& p : a.list("params")) {
      sdk::ActionParam param;
      param.name = p.getString("name");
      param.type = parseValueType(p.getString("type")).value();
      param.optional = p.getBool("optional");
      action.params.push_back(std::move(param));
    }
    action.resultType = parseValueType(a.getString("result")).value();
    action.command = commandRule(a.section("command"), out.qos);
    out.actions.push_back(std::move(action));
  }
  return out;
}

const Schema& mappingsFileSchema() {
  static const Schema schema = buildSchema();
  return schema;
}

}  // namespace

Result<MappingSet> loadMappings(std::string_view yaml, const std::string& displayName) {
  try {
    Diagnostics diagnostics;
    const auto root = kit::config::parseYamlDocument(yaml, kit::config::YamlLimits{}, diagnostics);
    if (!root) return kit::badRequest(diagnostics.format(displayName));
    if (!root->IsDefined() || root->IsNull()) {
      return kit::badRequest(displayName + ": the file is empty; it needs a top-level key mappings (a list)");
    }
    const Values values = kit::config::validate(*root, mappingsFileSchema(), {}, diagnostics);
    if (!diagnostics.empty()) return kit::badRequest(diagnostics.format(displayName));

    auto data = std::make_shared<MappingSet::Data>();
    const auto& mappings = values.list("mappings");
    data->mappings.reserve(mappings.size());
    for (std::size_t i = 0; i < mappings.size(); ++i) data->mappings.push_back(toMapping(mappings[i], i));
    return Result<MappingSet>(MappingSet(std::move(data)));
  } catch (const std::exception& e) {
    // Not expected (the engine never throws, the conversion reads what the checks passed); never
    // let it escape to the plugin.
    return kit::badRequest(displayName + ": cannot read: " + e.what());
  }
}

Result<MappingSet> MappingSet::loadString(std::string_view yaml, const std::string& displayName) {
  return loadMappings(yaml, displayName);
}

Result<MappingSet> MappingSet::loadFile(const std::string& path) {
  auto text = kit::config::readConfigFile(path, kMaxFileBytes, "the mappings file");
  if (!text) return std::move(text).error();
  return loadMappings(*text, path);
}

}  // namespace gatehouse::bridge::mqtt
