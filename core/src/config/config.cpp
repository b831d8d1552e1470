#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gatehouse/kit/config/file.h"
#include "gatehouse/kit/config/yaml_document.h"
#include "model/value.h"

namespace gatehouse::core::config {

// The YAML reader and the schema engine are the kit's.
using kit::config::Diagnostic;
using kit::config::Diagnostics;
using kit::config::Field;
using kit::config::Schema;
using kit::config::Values;
using kit::config::YamlLimits;
using kit::config::parseYamlDocument;
using kit::config::validate;

namespace {

constexpr std::int64_t kMinTimeoutMs = 100;
constexpr std::int64_t kMaxTimeoutMs = 3600000;

std::string requireIdentifier(std::string_view value) {
  return model::isValidIdentifier(value) ? std::string() : "must be 1 to 128 characters from A-Z a-z 0-9 _ . : -";
}

std::string requirePluginName(std::string_view value) {
  return isPluginName(value) ? std::string() : "must be 1 to 64 characters from a-z 0-9 _ -";
}

std::string requireListenAddress(std::string_view value) {
  return isListenAddress(value) ? std::string()
                                : "must be an IPv4 or IPv6 address literal (without brackets) or \"localhost\"";
}

// Paho's schemes; anything else would only fail later, at the first connection attempt.
std::string requireBrokerUri(std::string_view value) {
  static constexpr std::string_view kSchemes[] = {"tcp://", "mqtt://", "ssl://", "mqtts://", "ws://", "wss://"};
  for (std::string_view scheme : kSchemes) {
    if (value.size() > scheme.size() && value.substr(0, scheme.size()) == scheme) return std::string();
  }
  return "must be a broker URI such as tcp://host:1883 or ssl://host:8883 (schemes: tcp, mqtt, ssl, mqtts, ws, wss)";
}

// MQTT wildcards or an empty level would make the topics unsubscribable or ambiguous.
std::string requireTopicPrefix(std::string_view value) {
  if (value.empty()) return std::string();
  if (value.size() > 512 || value.find_first_of("+#") != std::string_view::npos ||
      value.find('\0') != std::string_view::npos || value.front() == '/' || value.back() == '/' ||
      value.find("//") != std::string_view::npos) {
    return "must be up to 512 characters of topic levels separated by single '/', without + # or a leading or trailing '/'";
  }
  return std::string();
}

// The asymmetric JWS algorithms security/oauth2 verifies; HS* and none never.
std::string requireJwsAlgorithm(std::string_view value) {
  for (std::string_view alg : {"RS256", "PS256", "ES256", "EdDSA"}) {
    if (value == alg) return std::string();
  }
  return "must be RS256, PS256, ES256 or EdDSA (symmetric HS* and none are never accepted)";
}

bool isTlsBroker(std::string_view uri) {
  return uri.substr(0, 6) == "ssl://" || uri.substr(0, 8) == "mqtts://" || uri.substr(0, 6) == "wss://";
}

// Every timeout and interval of the HTTP server shares one sane range.
Field durationMs(std::string key, int defaultValue) {
  Field f = Field::integer(std::move(key), defaultValue);
  f.range(kMinTimeoutMs, kMaxTimeoutMs);
  return f;
}

Schema buildGatewaySchema() {
  const Config d{};
  const std::string identifierDoc = "1-128 of `A-Z a-z 0-9 _ . : -`";
  return Schema{{
      Field::section("gateway", {
          Field::string("id", d.gateway.id)
              .validatedBy(requireIdentifier, identifierDoc)
              .doc("Name of this gateway, shown in logs and in the REST API."),
          Field::oneOf("log_level", d.gateway.logLevel, {"trace", "debug", "info", "warn", "error"})
              .doc("Least severe log level written."),
      }).doc("Identity and logging."),
      Field::section("http", {
          Field::string("listen", d.http.listen)
              .validatedBy(requireListenAddress, "IPv4 or IPv6 literal, or `localhost`; loopback unless auth is configured")
              .doc("Address the REST/SSE server binds to."),
          Field::integer("port", d.http.port).range(0, 65535).doc("TCP port; 0 picks a free port (tests)."),
          Field::integer("threads", d.http.threads).range(1, 64).doc("HTTP event-loop threads. More loops than cores keeps tail latency low when the box is busy (see bench/RESULTS.md)."),
          Field::integer("max_connections", static_cast<std::int64_t>(d.http.maxConnections))
              .range(1, 1000000)
              .doc("Open connections at most; further ones are refused."),
          Field::integer("max_body_bytes", static_cast<std::int64_t>(d.http.maxBodyBytes))
              .range(1024, 67108864)
              .doc("Largest request body accepted (413 beyond)."),
          Field::integer("max_header_bytes", static_cast<std::int64_t>(d.http.maxHeaderBytes))
              .range(1024, 1048576)
              .doc("Largest request line plus headers accepted (431 beyond)."),
          durationMs("header_timeout_ms", d.http.headerTimeoutMs).doc("Time a client has to send the complete request headers."),
          durationMs("body_timeout_ms", d.http.bodyTimeoutMs).doc("Time a client has to send the complete request body."),
          durationMs("idle_timeout_ms", d.http.idleTimeoutMs).doc("Idle keep-alive connections are closed after this time."),
          Field::integer("sse_queue", static_cast<std::int64_t>(d.http.sseQueue))
              .range(1, 1000000)
              .doc("Notifications queued per SSE subscriber before it counts as too slow."),
          durationMs("sse_heartbeat_ms", d.http.sseHeartbeatMs).doc("Interval of SSE keep-alive comments on quiet streams."),
          durationMs("sse_stall_timeout_ms", d.http.sseStallTimeoutMs)
              .doc("An SSE client that has accepted nothing for this long (its socket stays full) is disconnected."),
          Field::integer("sse_max_clients", static_cast<std::int64_t>(d.http.sseMaxClients))
              .range(1, 100000)
              .doc("Concurrent SSE streams at most."),
          durationMs("command_timeout_ms", d.http.commandTimeoutMs)
              .doc("A REST SET/ACT that its plugin has not answered by then gets 504. Raise it above a plugin's own command timeout (e.g. the nbiot plugin's downlink_expiry_ms) so that callers get the plugin's outcome."),
      }).doc("The northbound REST and SSE server."),
      Field::section("auth", {
          Field::oneOf("mode", d.auth.mode, {"none", "oauth2"})
              .doc("How REST clients authenticate: `none` (http.listen must then be a loopback address) or `oauth2` (bearer tokens from an OpenID Connect IdP, see `auth.oauth2`)."),
          Field::section("oauth2", {
              Field::string("issuer", d.auth.oauth2.issuer)
                  .doc("The IdP's issuer URL, exactly as its discovery document says it (e.g. `https://sso.example/realms/site`); required with mode oauth2."),
              Field::string("audience", d.auth.oauth2.audience)
                  .doc("What the tokens' `aud` must name (string or array member); required with mode oauth2."),
              Field::stringList("algorithms", d.auth.oauth2.algorithms)
                  .validatedBy(requireJwsAlgorithm, "RS256, PS256, ES256 or EdDSA (never HS*, never none)")
                  .doc("Signature algorithms accepted; each IdP key is pinned to one of them."),
              Field::integer("leeway_s", d.auth.oauth2.leewayS).range(0, 60)
                  .doc("Clock skew allowed on exp, nbf and iat, in seconds."),
              Field::string("ca_file", d.auth.oauth2.caFile)
                  .doc("PEM file of the CAs that may sign the IdP's TLS certificate; empty: the system's CAs."),
              Field::boolean("allow_insecure_loopback", d.auth.oauth2.allowInsecureLoopback)
                  .doc("Allow a plain-http issuer when its host is a loopback address (tests, an IdP on the same box); never for other hosts."),
              Field::stringList("role_claims", d.auth.oauth2.roleClaims)
                  .doc("Claim paths holding the caller's roles: arrays of strings or space-separated strings (`realm_access.roles`, `resource_access.<client>.roles`, `scope`, `groups`)."),
              Field::stringList("rules", d.auth.oauth2.rules)
                  .doc("Authorization rules, sensiNact style `role:VERB:path-pattern` (VERB: DESCRIBE, READ, UPDATE, ACT or *); anything no rule allows is denied."),
              Field::string("rules_file", d.auth.oauth2.rulesFile)
                  .doc("YAML file of structured rules (role, provider, service, resource, verbs, effect allow|deny, priority; docs/security.md), added to `rules`; relative to the config file's folder. Empty: none."),
              Field::stringList("admin_roles", d.auth.oauth2.adminRoles)
                  .doc("Roles that may use /sensinact/runtime/* and /metrics."),
              Field::string("introspection_client_id", d.auth.oauth2.introspectionClientId)
                  .doc("Client id the gateway authenticates with at the IdP's introspection endpoint (RFC 7662), for tokens that are not JWTs; empty: such tokens are refused."),
              Field::string("introspection_client_secret", d.auth.oauth2.introspectionClientSecret)
                  .doc("That client's secret (never logged); required with introspection_client_id."),
              Field::integer("refresh_cooldown_s", d.auth.oauth2.refreshCooldownS).range(1, 3600)
                  .doc("A token naming an unknown key id fetches the JWKS again at most once per this many seconds."),
              Field::integer("stale_keys_max_age_s", d.auth.oauth2.staleKeysMaxAgeS).range(60, 604800)
                  .doc("While the IdP is unreachable the last good keys are used for at most this long after they were fetched; then every token is refused."),
          }).doc("The OpenID Connect resource server (docs/security.md)."),
      }).doc("Northbound authentication."),
      Field::section("plugin_host", {
          Field::string("directory", d.pluginHost.directory)
              .doc("Folder holding the signed plugins (`gh-<name>.so` + `gh-<name>.so.sig`); empty: the build's `plugins-signed/`. Relative paths are taken from the config file's folder."),
          Field::string("trust_store", d.pluginHost.trustStore)
              .doc("Folder of trusted Ed25519 public keys (`*.pub`, PEM); empty: `<directory>/trust`."),
          Field::string("revocation_list", d.pluginHost.revocationList)
              .doc("File of revoked signing key ids, one per line; empty: `<directory>/revoked.txt` (may be absent)."),
          Field::string("state_dir", d.pluginHost.stateDir)
              .doc("Folder where the highest version loaded per plugin is kept (no rollback); empty: the build's `state/`."),
          Field::integer("max_file_bytes", static_cast<std::int64_t>(d.pluginHost.maxFileBytes))
              .range(4096, 1073741824)
              .doc("Plugin files larger than this are refused before being read."),
          Field::boolean("check_owner", d.pluginHost.checkOwner)
              .doc("Refuse plugin files and folders not owned by root or the gateway's user."),
      }).doc("Where plugins come from and how they are trusted (plugins-signed/README.md)."),
      Field::section("mqtt_northbound", {
          Field::boolean("enabled", d.mqttNorthbound.enabled)
              .doc("Publish every DATA notification to an MQTT broker (`<prefix>/<provider>/<service>/<resource>`)."),
          Field::stringList("brokers", d.mqttNorthbound.brokers)
              .validatedBy(requireBrokerUri, "URIs with scheme `tcp`, `mqtt`, `ssl`, `mqtts`, `ws` or `wss`")
              .doc("Brokers tried in order at each (re)connection; may differ from the brokers of the MQTT bridge."),
          Field::string("client_id", d.mqttNorthbound.clientId)
              .doc("MQTT client id; empty: `gatehouse-<gateway.id>`."),
          Field::string("username", d.mqttNorthbound.username).doc("User name for the broker; empty: none."),
          Field::string("password", d.mqttNorthbound.password).doc("Password for the broker (never logged); empty: none."),
          Field::string("ca_file", d.mqttNorthbound.caFile)
              .doc("PEM file of the CAs that may sign the broker's certificate (TLS brokers); empty: the system's CAs."),
          Field::string("cert_file", d.mqttNorthbound.certFile).doc("Client certificate (PEM) for mutual TLS; needs `key_file`."),
          Field::string("key_file", d.mqttNorthbound.keyFile).doc("Private key (PEM) of `cert_file`."),
          Field::string("prefix", d.mqttNorthbound.prefix)
              .validatedBy(requireTopicPrefix, "topic levels without `+`, `#` or a leading/trailing `/`")
              .doc("First topic levels of everything published; empty: `gatehouse/<gateway.id>`. Status: `<prefix>/$status`."),
          Field::integer("qos", d.mqttNorthbound.qos).range(0, 2).doc("QoS of the published values."),
          Field::boolean("retain", d.mqttNorthbound.retain).doc("Publish values retained, so new subscribers get the last one at once."),
          Field::integer("queue", static_cast<std::int64_t>(d.mqttNorthbound.queue))
              .range(1, 10000000)
              .doc("Messages kept while the broker is unreachable (the oldest are kept, later ones dropped and counted); also the bound of the notification queue."),
          Field::integer("keep_alive_s", d.mqttNorthbound.keepAliveS).range(5, 3600).doc("MQTT keep-alive interval in seconds."),
      }).doc("Northbound MQTT publishing of the model's values (docs/mqtt-topics.md)."),
      Field::map("plugins")
          .validatedBy(requirePluginName, "plugin names: 1-64 of `a-z 0-9 _ -`")
          .doc("The plugins to load: each key names a plugin, its value is that plugin's settings, checked against the schema the plugin declares."),
  }};
}

// True for "http://127.x.y.z[:port]/...", "http://[::1]...", "http://localhost...".
bool isLoopbackUrlHost(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || isLoopbackAddress(std::string(host));
}

// The rule that keeps a default install from exposing an unauthenticated API to the network.
void checkCrossFieldRules(const Values& values, Diagnostics& diagnostics) {
  const std::string& listen = values.getString("http.listen");
  if (values.getString("auth.mode") == "none" && !isLoopbackAddress(listen)) {
    const Values::Entry* where = values.find("http.listen");
    diagnostics.add(Diagnostic{where->line, where->column, "http.listen",
                               "auth.mode is none, so http.listen must be a loopback address (127.0.0.0/8 or ::1); "
                               "configure authentication before listening on " + listen});
  }
  // oauth2 needs an IdP and an audience; the issuer must be https, or plain http to a loopback
  // IdP only when allowed (the JWKS is fetched from it: plain http to a remote host could be
  // answered by anyone on the path).
  if (values.getString("auth.mode") == "oauth2") {
    for (const char* key : {"auth.oauth2.issuer", "auth.oauth2.audience"}) {
      if (!values.getString(key).empty()) continue;
      const Values::Entry* where = values.find("auth.mode");
      diagnostics.add(Diagnostic{where->line, where->column, key, std::string("auth.mode is oauth2, so ") + key + " is required"});
    }
    const std::string& issuer = values.getString("auth.oauth2.issuer");
    if (!issuer.empty() && issuer.rfind("https://", 0) != 0) {
      const Values::Entry* where = values.find("auth.oauth2.issuer");
      const bool loopbackHttp = issuer.rfind("http://", 0) == 0 && isLoopbackUrlHost(issuer);
      if (!loopbackHttp) {
        diagnostics.add(Diagnostic{where->line, where->column, "auth.oauth2.issuer",
                                   "the issuer must be an https:// URL (plain http only to a loopback IdP with allow_insecure_loopback)"});
      } else if (!values.getBool("auth.oauth2.allow_insecure_loopback")) {
        diagnostics.add(Diagnostic{where->line, where->column, "auth.oauth2.issuer",
                                   "a plain-http issuer needs auth.oauth2.allow_insecure_loopback: true"});
      }
    }
    if (values.getStringList("auth.oauth2.algorithms").empty()) {
      const Values::Entry* where = values.find("auth.oauth2.algorithms");
      diagnostics.add(Diagnostic{where->line, where->column, "auth.oauth2.algorithms", "at least one algorithm is needed"});
    }
  }
  // Introspection credentials come in pairs (whatever the mode: half a setting is a mistake).
  if (values.getString("auth.oauth2.introspection_client_id").empty() !=
      values.getString("auth.oauth2.introspection_client_secret").empty()) {
    const bool hasId = !values.getString("auth.oauth2.introspection_client_id").empty();
    const char* given = hasId ? "auth.oauth2.introspection_client_id" : "auth.oauth2.introspection_client_secret";
    const Values::Entry* where = values.find(given);
    diagnostics.add(Diagnostic{where->line, where->column, given,
                               "introspection needs both auth.oauth2.introspection_client_id and introspection_client_secret"});
  }
  // A certificate without its key (or the reverse) cannot authenticate; TLS files with only
  // plain brokers would be silently ignored.
  const bool hasCert = !values.getString("mqtt_northbound.cert_file").empty();
  const bool hasKey = !values.getString("mqtt_northbound.key_file").empty();
  if (hasCert != hasKey) {
    const char* given = hasCert ? "mqtt_northbound.cert_file" : "mqtt_northbound.key_file";
    const Values::Entry* where = values.find(given);
    diagnostics.add(Diagnostic{where->line, where->column, given,
                               "mutual TLS needs both mqtt_northbound.cert_file and mqtt_northbound.key_file"});
  }
  const auto& brokers = values.getStringList("mqtt_northbound.brokers");
  bool anyTls = false;
  for (const auto& uri : brokers) anyTls = anyTls || isTlsBroker(uri);
  for (const char* key : {"mqtt_northbound.ca_file", "mqtt_northbound.cert_file", "mqtt_northbound.key_file"}) {
    if (anyTls || values.getString(key).empty()) continue;
    const Values::Entry* where = values.find(key);
    diagnostics.add(Diagnostic{where->line, where->column, key,
                               "is set but no broker in mqtt_northbound.brokers uses TLS (ssl://, mqtts:// or wss://)"});
  }
  if (values.getBool("mqtt_northbound.enabled") && brokers.empty()) {
    const Values::Entry* where = values.find("mqtt_northbound.brokers");
    diagnostics.add(Diagnostic{where->line, where->column, "mqtt_northbound.brokers",
                               "mqtt_northbound.enabled is true, so at least one broker is needed"});
  }
}

Config bind(const Values& v) {
  // Ranges were enforced by the schema, so the narrowing casts below cannot lose anything.
  Config c;
  c.gateway.id = v.getString("gateway.id");
  c.gateway.logLevel = v.getString("gateway.log_level");
  c.http.listen = v.getString("http.listen");
  c.http.port = static_cast<std::uint16_t>(v.getInt("http.port"));
  c.http.threads = static_cast<int>(v.getInt("http.threads"));
  c.http.maxConnections = static_cast<std::size_t>(v.getInt("http.max_connections"));
  c.http.maxBodyBytes = static_cast<std::size_t>(v.getInt("http.max_body_bytes"));
  c.http.maxHeaderBytes = static_cast<std::size_t>(v.getInt("http.max_header_bytes"));
  c.http.headerTimeoutMs = static_cast<int>(v.getInt("http.header_timeout_ms"));
  c.http.bodyTimeoutMs = static_cast<int>(v.getInt("http.body_timeout_ms"));
  c.http.idleTimeoutMs = static_cast<int>(v.getInt("http.idle_timeout_ms"));
  c.http.sseQueue = static_cast<std::size_t>(v.getInt("http.sse_queue"));
  c.http.sseHeartbeatMs = static_cast<int>(v.getInt("http.sse_heartbeat_ms"));
  c.http.sseStallTimeoutMs = static_cast<int>(v.getInt("http.sse_stall_timeout_ms"));
  c.http.commandTimeoutMs = static_cast<int>(v.getInt("http.command_timeout_ms"));
  c.http.sseMaxClients = static_cast<std::size_t>(v.getInt("http.sse_max_clients"));
  c.auth.mode = v.getString("auth.mode");
  c.auth.oauth2.issuer = v.getString("auth.oauth2.issuer");
  c.auth.oauth2.audience = v.getString("auth.oauth2.audience");
  c.auth.oauth2.algorithms = v.getStringList("auth.oauth2.algorithms");
  c.auth.oauth2.leewayS = v.getInt("auth.oauth2.leeway_s");
  c.auth.oauth2.caFile = v.getString("auth.oauth2.ca_file");
  c.auth.oauth2.allowInsecureLoopback = v.getBool("auth.oauth2.allow_insecure_loopback");
  c.auth.oauth2.roleClaims = v.getStringList("auth.oauth2.role_claims");
  c.auth.oauth2.rules = v.getStringList("auth.oauth2.rules");
  c.auth.oauth2.rulesFile = v.getString("auth.oauth2.rules_file");
  c.auth.oauth2.adminRoles = v.getStringList("auth.oauth2.admin_roles");
  c.auth.oauth2.introspectionClientId = v.getString("auth.oauth2.introspection_client_id");
  c.auth.oauth2.introspectionClientSecret = v.getString("auth.oauth2.introspection_client_secret");
  c.auth.oauth2.refreshCooldownS = v.getInt("auth.oauth2.refresh_cooldown_s");
  c.auth.oauth2.staleKeysMaxAgeS = v.getInt("auth.oauth2.stale_keys_max_age_s");
  c.pluginHost.directory = v.getString("plugin_host.directory");
  c.pluginHost.trustStore = v.getString("plugin_host.trust_store");
  c.pluginHost.revocationList = v.getString("plugin_host.revocation_list");
  c.pluginHost.stateDir = v.getString("plugin_host.state_dir");
  c.pluginHost.maxFileBytes = static_cast<std::uint64_t>(v.getInt("plugin_host.max_file_bytes"));
  c.pluginHost.checkOwner = v.getBool("plugin_host.check_owner");
  c.mqttNorthbound.enabled = v.getBool("mqtt_northbound.enabled");
  c.mqttNorthbound.brokers = v.getStringList("mqtt_northbound.brokers");
  c.mqttNorthbound.clientId = v.getString("mqtt_northbound.client_id");
  c.mqttNorthbound.username = v.getString("mqtt_northbound.username");
  c.mqttNorthbound.password = v.getString("mqtt_northbound.password");
  c.mqttNorthbound.caFile = v.getString("mqtt_northbound.ca_file");
  c.mqttNorthbound.certFile = v.getString("mqtt_northbound.cert_file");
  c.mqttNorthbound.keyFile = v.getString("mqtt_northbound.key_file");
  c.mqttNorthbound.prefix = v.getString("mqtt_northbound.prefix");
  c.mqttNorthbound.qos = static_cast<int>(v.getInt("mqtt_northbound.qos"));
  c.mqttNorthbound.retain = v.getBool("mqtt_northbound.retain");
  c.mqttNorthbound.queue = static_cast<std::size_t>(v.getInt("mqtt_northbound.queue"));
  c.mqttNorthbound.keepAliveS = static_cast<int>(v.getInt("mqtt_northbound.keep_alive_s"));
  return c;
}

}  // namespace

const Schema& gatewaySchema() {
  static const Schema schema = buildGatewaySchema();
  return schema;
}

bool isPluginName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')) return false;
  }
  return true;
}

bool PluginBlock::operator==(const PluginBlock& o) const {
  return name == o.name && line == o.line && column == o.column && YAML::Dump(settings) == YAML::Dump(o.settings);
}

bool isListenAddress(std::string_view address) {
  if (address == "localhost") return true;
  if (address.empty() || address.size() > 64 || address.find('\0') != std::string_view::npos) return false;
  const std::string text(address);
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool isLoopbackAddress(std::string_view address) {
  if (address == "localhost") return true;
  if (address.empty() || address.size() > 64 || address.find('\0') != std::string_view::npos) return false;
  const std::string text(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Result<Config> loadString(std::string_view yaml, const std::string& displayName) {
  try {
    Diagnostics diagnostics;
    const auto root = parseYamlDocument(yaml, YamlLimits{}, diagnostics);
    if (!root) return makeError(ErrorCode::BadRequest, diagnostics.format(displayName));
    const Values values = validate(*root, gatewaySchema(), {}, diagnostics);
    checkCrossFieldRules(values, diagnostics);
    if (!diagnostics.empty()) return makeError(ErrorCode::BadRequest, diagnostics.format(displayName));
    Config config = bind(values);
    config.sourcePath = displayName;
    // The schema checked the names and that each block is a mapping; the blocks themselves are
    // validated by the plugin host against the schema each plugin declares.
    if (const YAML::Node plugins = (*root)["plugins"]; plugins && plugins.IsMap()) {
      for (auto it = plugins.begin(); it != plugins.end(); ++it) {
        PluginBlock block;
        block.name = it->first.Scalar();
        block.settings = it->second;
        block.line = it->first.Mark().line + 1;
        block.column = it->first.Mark().column + 1;
        config.plugins.push_back(std::move(block));
      }
    }
    return config;
  } catch (const std::exception& e) {
    return makeError(ErrorCode::Internal, displayName + ": cannot load the configuration: " + e.what());
  } catch (...) {
    return makeError(ErrorCode::Internal, displayName + ": cannot load the configuration");
  }
}

Result<Config> loadFile(const std::string& path) {
  try {
    // The kit's bounded reader: a FIFO is refused without hanging, the size is capped.
    auto text = kit::config::readConfigFile(path, YamlLimits{}.maxBytes, "the configuration file");
    if (!text) return makeError(text.error().code, text.error().message);
    return loadString(*text, path);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::Internal, path + ": cannot load the configuration: " + e.what());
  }
}

}  // namespace gatehouse::core::config
