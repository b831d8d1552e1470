#include "gatehouse/bridge/coap/devices.h"

#include <algorithm>
#include <exception>
#include <set>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/net.h"
#include "gatehouse/kit/config/diagnostics.h"
#include "gatehouse/kit/config/file.h"
#include "gatehouse/kit/config/schema.h"
#include "gatehouse/kit/config/yaml_document.h"

namespace gatehouse::bridge::coap {

namespace {

using kit::config::Diagnostics;
using kit::config::Field;
using kit::config::Problems;
using kit::config::Schema;
using kit::config::Values;

const std::vector<std::string> kTypes{"double", "int", "long", "boolean", "string", "json", "bytes"};

sdk::ValueType typeNamed(std::string_view name) {
  return kit::parseValueType(name).value();   // the schema allows only kTypes
}

std::string checkName(std::string_view v) {
  return kit::isValidIdentifier(v) ? std::string() : std::string("a name");
}

struct ParsedUri {
  kit::SocketAddress address;
  bool secure = false;
  std::string host;
  std::uint16_t port = 0;
};

// coap://HOST[:PORT] or coaps://HOST[:PORT]; HOST an IPv4 address, [IPv6] or localhost; no path.
Result<ParsedUri> parseUri(std::string_view text) {
  ParsedUri u;
  std::string_view rest;
  if (text.rfind("coap://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("coaps://", 0) == 0) {
    u.secure = true;
    rest = text.substr(8);
  } else {
    return kit::badRequest("must start with coap:// or coaps://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return kit::badRequest("must not have a path (resources are listed under resources)");
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return kit::badRequest("an IPv6 address must be closed by ]");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return kit::badRequest("expected :PORT after ]");
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  std::string portText = u.secure ? "5684" : "5683";
  if (!port.empty() || (rest.find(':') != std::string_view::npos && rest[0] != '[')) {
    if (port.empty()) return kit::badRequest("the port must be 1-65535");
    portText = std::string(port);
  }
  if (host.find(':') != std::string_view::npos || host.find(']') != std::string_view::npos) {
    u.host = "[" + std::string(host) + "]";
  } else {
    u.host = std::string(host);
  }
  auto address = kit::parseSocketAddress(u.host + ":" + portText, false);
  if (!address) {
    const std::string& m = address.message();
    if (m.find("port") != std::string::npos) return kit::badRequest("the port must be 1-65535");
    return kit::badRequest("the host must be an IPv4 address, [IPv6] or localhost (names are not resolved)");
  }
  u.address = *address;
  u.port = address->port();
  u.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  return u;
}

std::string checkUri(std::string_view v) {
  auto u = parseUri(v);
  return u ? std::string() : u.message() + ": " + kit::quoteForMessage(v);
}

std::string checkPath(std::string_view v) {
  if (!v.empty() && v[0] == '/') v.remove_prefix(1);
  if (v.empty()) return "a resource path such as sensors/temperature";
  if (v.size() > 255) return "at most 255 bytes";
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x21 || c == '?' || c == '#') return "a path without spaces, ? or #";
  }
  return {};
}

std::string checkPskKey(std::string_view v) {
  auto k = parsePskKey(v);
  return k ? std::string() : k.message();
}

void checkResource(const Values& r, Problems& problems) {
  const std::string& access = r.getString("access");
  if (access == "write" && !r.isSet("type")) problems.add("access", "access: write needs type (the type of SET values)");
  if (access != "action" && !r.list("params").empty()) problems.add("params", "params are for access: action");
  if (access == "action" && r.getString("format") == "text" && !r.list("params").empty()) {
    problems.add("format", "an action with params is written as json (an object of the parameters), not text");
  }
  if (access == "action" && r.getBool("e2e")) problems.add("e2e", "e2e is for readable resources");
  if (access == "action" && r.getString("observe") == "true") problems.add("observe", "an action is not observed");
}

void checkDevice(const Values& d, Problems& problems) {
  const bool secure = d.getString("uri").rfind("coaps://", 0) == 0;
  const bool hasIdentity = !d.getString("psk_identity").empty();
  const bool hasKey = !d.getString("psk_key").empty();
  if (hasIdentity != hasKey) problems.add(hasIdentity ? "psk_identity" : "psk_key", "psk_identity and psk_key go together");
  if (!secure && hasIdentity) problems.add("psk_identity", "a pre-shared key needs a coaps:// uri");
  if (!d.getBool("discover") && d.list("resources").empty()) {
    problems.add("discover", "with discover: false the device needs resources");
  }
  std::set<std::string> paths;
  std::set<std::string> names;
  const auto& resources = d.list("resources");
  for (std::size_t i = 0; i < resources.size(); ++i) {
    std::string path = resources[i].getString("path");
    if (!path.empty() && path[0] == '/') path.erase(0, 1);
    if (!paths.insert(path).second) {
      problems.add("resources[" + std::to_string(i) + "].path", resources[i].line(), resources[i].column(),
                   "path " + kit::quoteForMessage(path) + " is listed twice");
    }
    auto [service, resource] = resourceNamesFor(path);
    if (!resources[i].getString("service").empty()) service = resources[i].getString("service");
    if (!resources[i].getString("resource").empty()) resource = resources[i].getString("resource");
    if (!names.insert(service + "/" + resource).second) {
      problems.add("resources[" + std::to_string(i) + "]", resources[i].line(), resources[i].column(),
                   "two resources are named " + kit::quoteForMessage(service + "/" + resource));
    }
  }
}

Schema buildSchema(const DevicesLimits& limits) {
  const auto name = [](std::string key) {
    return Field::string(std::move(key), "").validatedBy(checkName, "1-128 of `A-Z a-z 0-9 _ . : -`");
  };
  return Schema{{
      Field::list("devices", {
          name("provider").require("the provider the device becomes").doc("Provider name of the device."),
          Field::string("uri", "").require("coap://HOST:PORT or coaps://HOST:PORT").checkedBy(checkUri, "coap:// or coaps://, numeric host")
              .doc("Where the device listens: coap://HOST[:PORT] (UDP) or coaps:// (DTLS); IPv6 as [::1]."),
          Field::string("psk_identity", "").doc("coaps with a pre-shared key: the identity the gateway presents."),
          Field::string("psk_key", "").checkedBy(checkPskKey, "hex:KEY or text:KEY, 8-64 bytes")
              .doc("coaps with a pre-shared key: hex:KEY or text:KEY; never logged. Without it, coaps uses the plugin's certificates."),
          Field::boolean("discover", true).doc("Read /.well-known/core and take every resource it lists."),
          Field::integer("timeout_ms", 5000).range(100, 120000).doc("How long one request may take (discovery, poll, SET/ACT, ping)."),
          Field::integer("poll_interval_s", 10).range(1, 86400).doc("How often resources that are not observed are read."),
          Field::integer("ping_interval_s", 10).range(1, 86400)
              .doc("A CoAP ping when nothing was heard from the device for this long; no answer within timeout_ms makes it INACTIVE."),
          Field::list("resources", {
              Field::string("path", "").require("the device's resource path").checkedBy(checkPath, "a path such as sensors/temperature")
                  .doc("The device's resource path."),
              name("service").doc("Service name; default from the path."),
              name("resource").doc("Resource name; default from the path."),
              Field::oneOf("observe", "auto", {"auto", "true", "false"})
                  .doc("auto: observe when the device offers it; true: always try; false: poll."),
              Field::oneOf("access", "read", {"read", "write", "action"}).doc("write: SET becomes PUT; action: ACT becomes POST."),
              Field::oneOf("type", "string", kTypes).noDefault().doc("write: the type of SET values (required)."),
              Field::oneOf("format", "text", {"text", "json"}).doc("How SET values and ACT parameters are written: text/plain or application/json."),
              Field::string("unit", "").doc("Unit of the value."),
              Field::integer("content_format", 0).range(0, 65535).noDefault()
                  .doc("Content-Format of answers that carry none (0 text/plain, 50 JSON, 60 CBOR, 110/112 SenML); default: the ct of /.well-known/core."),
              Field::list("params", {
                  name("name").require().doc("Parameter name."),
                  Field::oneOf("type", "long", kTypes).doc("Parameter type."),
                  Field::boolean("optional", false).doc("May be left out."),
              }).itemCount(0, 32).doc("action: its parameters, in order (written as one JSON object)."),
              Field::boolean("e2e", false).doc("The payload is an end-to-end envelope (docs/e2e-protocol.md): stored as bytes, never parsed."),
          }).itemCount(0, limits.maxResourcesPerDevice).itemsCalled("resources").checkedWith(checkResource)
            .doc("Resources taken from config; they also rename or refine discovered ones with the same path."),
      }).require("a list of devices").itemCount(1, limits.maxDevices).itemsCalled("devices").checkedWith(checkDevice)
        .doc("The CoAP devices the gateway observes or polls."),
  }, [](const Values& v, Problems& problems) {
    std::set<std::string> providers;
    const auto& devices = v.list("devices");
    for (std::size_t i = 0; i < devices.size(); ++i) {
      if (!providers.insert(devices[i].getString("provider")).second) {
        problems.add("devices[" + std::to_string(i) + "].provider", devices[i].line(), devices[i].column(),
                     "provider " + kit::quoteForMessage(devices[i].getString("provider")) + " is listed twice");
      }
    }
  }};
}

ResourceConfig toResource(const Values& r) {
  ResourceConfig out;
  out.path = r.getString("path");
  if (!out.path.empty() && out.path[0] == '/') out.path.erase(0, 1);
  out.service = r.getString("service");
  out.resource = r.getString("resource");
  const std::string& observe = r.getString("observe");
  out.observe = observe == "true" ? ObserveMode::Always : observe == "false" ? ObserveMode::Never : ObserveMode::Auto;
  const std::string& access = r.getString("access");
  out.access = access == "write" ? Access::Write : access == "action" ? Access::Action : Access::Read;
  if (r.isSet("type")) {
    out.type = typeNamed(r.getString("type"));
    out.typeGiven = true;
  }
  const std::string& format = r.getString("format");
  out.format = format == "json" ? WriteFormat::Json : WriteFormat::Text;
  out.unit = r.getString("unit");
  if (r.isSet("content_format")) out.contentFormat = static_cast<std::uint16_t>(r.getInt("content_format"));
  for (const Values& p : r.list("params")) {
    sdk::ActionParam param;
    param.name = p.getString("name");
    param.type = typeNamed(p.getString("type"));
    param.optional = p.getBool("optional");
    out.params.push_back(std::move(param));
  }
  out.e2e = r.getBool("e2e");
  if (out.e2e) out.type = sdk::ValueType::Bytes;
  return out;
}

DeviceConfig toDevice(const Values& d) {
  DeviceConfig out;
  out.provider = d.getString("provider");
  out.uri = d.getString("uri");
  auto u = parseUri(out.uri).value();
  out.secure = u.secure;
  out.host = u.host;
  out.port = u.port;
  out.address = u.address;
  out.pskIdentity = d.getString("psk_identity");
  if (!d.getString("psk_key").empty()) out.pskKey = parsePskKey(d.getString("psk_key")).value();
  out.discover = d.getBool("discover");
  out.timeout = std::chrono::milliseconds(d.getInt("timeout_ms"));
  out.pollInterval = std::chrono::seconds(d.getInt("poll_interval_s"));
  out.pingInterval = std::chrono::seconds(d.getInt("ping_interval_s"));
  for (const Values& r : d.list("resources")) out.resources.push_back(toResource(r));
  return out;
}

}  // namespace

std::pair<std::string, std::string> resourceNamesFor(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    std::string s(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (!s.empty()) {
      for (char& c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                        c == ':' || c == '-';
        if (!ok) c = '_';
      }
      if (s == "." || s == "..") s = "_";
      segments.push_back(std::move(s));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (segments.empty()) return {"data", "root"};
  if (segments.size() == 1) return {"data", segments[0].substr(0, 128)};
  std::string resource = segments[1];
  for (std::size_t i = 2; i < segments.size(); ++i) resource += "." + segments[i];
  return {segments[0].substr(0, 128), resource.substr(0, 128)};
}

Result<std::string> parsePskKey(std::string_view text) {
  std::string key;
  if (text.rfind("hex:", 0) == 0) {
    auto k = kit::hexDecode(text.substr(4));
    if (!k) return kit::badRequest("the key after hex: is not hex (the key is not shown)");
    key = std::move(*k);
  } else if (text.rfind("text:", 0) == 0) {
    key = std::string(text.substr(5));
  } else {
    return kit::badRequest("a key is hex:KEY or text:KEY (the key is not shown)");
  }
  if (key.size() < 8 || key.size() > 64) return kit::badRequest("a key must be 8 to 64 bytes (the key is not shown)");
  return key;
}

std::vector<std::string> devicesFileKeyPaths() { return buildSchema(DevicesLimits{}).keyPaths(); }

Result<std::vector<DeviceConfig>> loadDevices(std::string_view yaml, const std::string& displayName, const DevicesLimits& limits) {
  try {
    Diagnostics diagnostics;
    const auto root = kit::config::parseYamlDocument(yaml, kit::config::YamlLimits{limits.maxFileBytes, 64}, diagnostics);
    if (!root) return kit::badRequest(diagnostics.format(displayName));
    if (!root->IsDefined() || root->IsNull()) {
      return kit::badRequest(displayName + ": the file is empty; it needs a top-level key devices (a list)");
    }
    const Schema schema = buildSchema(limits);
    const Values values = kit::config::validate(*root, schema, {}, diagnostics);
    if (!diagnostics.empty()) return kit::badRequest(diagnostics.format(displayName));
    std::vector<DeviceConfig> out;
    for (const Values& d : values.list("devices")) out.push_back(toDevice(d));
    return out;
  } catch (const std::exception& e) {
    return kit::badRequest(displayName + ": cannot read: " + e.what());
  }
}

Result<std::vector<DeviceConfig>> loadDevicesFile(const std::string& path, const DevicesLimits& limits) {
  auto text = kit::config::readConfigFile(path, limits.maxFileBytes, "the devices file");
  if (!text) return text.error();
  return loadDevices(*text, path, limits);
}

}  // namespace gatehouse::bridge::coap
