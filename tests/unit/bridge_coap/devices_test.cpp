// The CoAP bridge's devices file (payload/devices.h): what a valid file gives, and that every
// mistake an operator makes is named with file, line, column and key path, keys never echoed.
#include "gatehouse/bridge/coap/devices.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace gatehouse::bridge::coap {
namespace {

std::string problem(const std::string& yaml) {
  auto r = loadDevices(yaml, "devices.yaml");
  EXPECT_FALSE(r) << yaml;
  return r ? std::string() : r.message();
}

TEST(CoapDevices, FullDevice) {
  auto r = loadDevices(R"(devices:
  - provider: demo
    uri: coaps://127.0.0.1:5686
    psk_identity: demo-id
    psk_key: hex:00112233445566778899aabbccddeeff
    discover: false
    timeout_ms: 1500
    poll_interval_s: 3
    ping_interval_s: 4
    resources:
      - {path: /sensors/temperature, service: environment, resource: temperature, unit: Cel, observe: "true"}
      - {path: settings/interval, access: write, type: long}
      - {path: actions/blink, access: action, format: json, params: [{name: times, type: long}, {name: color, type: string, optional: true}]}
      - {path: secret/data, e2e: true}
)", "d.yaml");
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 1u);
  const DeviceConfig& d = (*r)[0];
  EXPECT_EQ(d.provider, "demo");
  EXPECT_TRUE(d.secure);
  EXPECT_EQ(d.host, "127.0.0.1");
  EXPECT_EQ(d.port, 5686);
  EXPECT_EQ(d.pskIdentity, "demo-id");
  EXPECT_EQ(d.pskKey, std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16));
  EXPECT_FALSE(d.discover);
  EXPECT_EQ(d.timeout.count(), 1500);
  EXPECT_EQ(d.pollInterval.count(), 3);
  EXPECT_EQ(d.pingInterval.count(), 4);
  ASSERT_EQ(d.resources.size(), 4u);
  EXPECT_EQ(d.resources[0].path, "sensors/temperature");
  EXPECT_EQ(d.resources[0].service, "environment");
  EXPECT_EQ(d.resources[0].observe, ObserveMode::Always);
  EXPECT_EQ(d.resources[0].unit, "Cel");
  EXPECT_EQ(d.resources[1].access, Access::Write);
  EXPECT_EQ(d.resources[1].type, sdk::ValueType::Long);
  EXPECT_EQ(d.resources[1].format, WriteFormat::Text);
  EXPECT_EQ(d.resources[2].access, Access::Action);
  EXPECT_EQ(d.resources[2].format, WriteFormat::Json);
  ASSERT_EQ(d.resources[2].params.size(), 2u);
  EXPECT_EQ(d.resources[2].params[1].name, "color");
  EXPECT_EQ(d.resources[2].params[1].type, sdk::ValueType::String);
  EXPECT_TRUE(d.resources[2].params[1].optional);
  EXPECT_TRUE(d.resources[3].e2e);
  EXPECT_EQ(d.resources[3].type, sdk::ValueType::Bytes);
}

TEST(CoapDevices, Defaults) {
  auto r = loadDevices("devices:\n  - {provider: a, uri: \"coap://[::1]\"}\n  - {provider: b, uri: coap://localhost:7000/}\n", "d.yaml");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ((*r)[0].host, "::1");
  EXPECT_EQ((*r)[0].port, 5683);
  EXPECT_FALSE((*r)[0].secure);
  EXPECT_TRUE((*r)[0].discover);
  EXPECT_EQ((*r)[0].timeout.count(), 5000);
  EXPECT_EQ((*r)[1].host, "127.0.0.1");
  EXPECT_EQ((*r)[1].port, 7000);
  auto s = loadDevices("devices:\n  - {provider: a, uri: \"coaps://127.0.0.1\"}\n", "d.yaml");
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ((*s)[0].port, 5684);
}

TEST(CoapDevices, NamesFromPaths) {
  EXPECT_EQ(resourceNamesFor("/sensors/temperature"), (std::pair<std::string, std::string>{"sensors", "temperature"}));
  EXPECT_EQ(resourceNamesFor("time"), (std::pair<std::string, std::string>{"data", "time"}));
  EXPECT_EQ(resourceNamesFor("a/b/c"), (std::pair<std::string, std::string>{"a", "b.c"}));
  EXPECT_EQ(resourceNamesFor("3303/0/5700"), (std::pair<std::string, std::string>{"3303", "0.5700"}));
  EXPECT_EQ(resourceNamesFor("a b/c%d"), (std::pair<std::string, std::string>{"a_b", "c_d"}));
  EXPECT_EQ(resourceNamesFor("/"), (std::pair<std::string, std::string>{"data", "root"}));
  EXPECT_EQ(resourceNamesFor("x/.."), (std::pair<std::string, std::string>{"x", "_"}));
}

TEST(CoapDevices, Mistakes) {
  EXPECT_NE(problem("devices: []\n").find("devices"), std::string::npos);
  EXPECT_NE(problem("").find("the file is empty"), std::string::npos);
  const std::string badUri = problem("devices:\n  - {provider: a, uri: http://127.0.0.1}\n");
  EXPECT_NE(badUri.find("devices.yaml:2:"), std::string::npos) << badUri;
  EXPECT_NE(badUri.find("devices[0].uri"), std::string::npos) << badUri;
  EXPECT_NE(badUri.find("coap:// or coaps://"), std::string::npos) << badUri;
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://example.com}\n").find("names are not resolved"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1:70000}\n").find("1-65535"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1/x}\n").find("must not have a path"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: \"a b\", uri: coap://127.0.0.1}\n").find("devices[0].provider"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1}\n  - {provider: a, uri: coap://127.0.0.2}\n").find("listed twice"),
            std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, psk_identity: x, psk_key: \"text:12345678\"}\n")
                .find("needs a coaps:// uri"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coaps://127.0.0.1, psk_identity: x}\n").find("go together"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, discover: false}\n").find("needs resources"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, resources: [{path: x, access: write}]}\n").find("needs type"),
            std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, resources: [{path: x}, {path: /x}]}\n").find("listed twice"),
            std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, resources: [{path: a/b}, {path: c, service: a, resource: b}]}\n")
                .find("two resources are named"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, resources: [{path: x, params: [{name: n}]}]}\n")
                .find("params are for access: action"), std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, resources: [{path: \"x?y\"}]}\n").find("resources[0].path"),
            std::string::npos);
  EXPECT_NE(problem("devices:\n  - {provider: a, uri: coap://127.0.0.1, tiemout_ms: 5}\n").find("timeout_ms"), std::string::npos);
}

TEST(CoapDevices, KeysAreNeverEchoed) {
  for (const char* key : {"hex:zz112233445566778899", "text:short", "plain-secret-value", "hex:0011"}) {
    const std::string message =
        problem(std::string("devices:\n  - {provider: a, uri: coaps://127.0.0.1, psk_identity: x, psk_key: \"") + key + "\"}\n");
    EXPECT_NE(message.find("devices[0].psk_key"), std::string::npos) << message;
    const std::string secret = std::string(key).substr(std::string(key).find(':') + 1);
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
  }
  auto ok = parsePskKey("text:12345678");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "12345678");
  EXPECT_FALSE(parsePskKey(std::string("text:") + std::string(65, 'k')));
}

TEST(CoapDevices, File) {
  const std::string path = ::testing::TempDir() + "/coap-devices-test.yaml";
  {
    std::ofstream out(path);
    out << "devices:\n  - {provider: a, uri: coap://127.0.0.1:5685}\n";
  }
  auto r = loadDevicesFile(path);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ((*r)[0].port, 5685);
  std::remove(path.c_str());
  auto missing = loadDevicesFile(path);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("cannot open the devices file"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::bridge::coap
