// The CoAP bridge's settings and its answer-code table, against the SDK's fake host (no libcoap
// peer: the exchanges with real devices are in tests/integration/test_coap.py).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "coap_bridge.h"
#include "fake_host.h"

namespace gatehouse::bridge::coap {
namespace {

using sdk::Value;
using sdk::testing::FakeHost;

class Harness {
 public:
  Harness() {
    config = sdk::Config::defaults(kCoapConfigSchema);
    sdk::detail::Access::attach(bridge, fake.host());
  }
  std::string refusal() {
    auto s = bridge.configure(config);
    EXPECT_FALSE(s);
    return s.message();
  }
  FakeHost fake;
  CoapBridge bridge;
  sdk::Config config;
};

TEST(CoapBridge, AnswerCodesMapToRestErrors) {
  EXPECT_EQ(errorCodeForCoap(4, 0), kit::ErrorCode::BadRequest);
  EXPECT_EQ(errorCodeForCoap(4, 2), kit::ErrorCode::BadRequest);
  EXPECT_EQ(errorCodeForCoap(4, 15), kit::ErrorCode::BadRequest);
  EXPECT_EQ(errorCodeForCoap(4, 1), kit::ErrorCode::NotAllowed);
  EXPECT_EQ(errorCodeForCoap(4, 3), kit::ErrorCode::NotAllowed);
  EXPECT_EQ(errorCodeForCoap(4, 4), kit::ErrorCode::NotFound);
  EXPECT_EQ(errorCodeForCoap(4, 5), kit::ErrorCode::NotAllowed);
  EXPECT_EQ(errorCodeForCoap(4, 9), kit::ErrorCode::Conflict);
  EXPECT_EQ(errorCodeForCoap(4, 12), kit::ErrorCode::Conflict);
  EXPECT_EQ(errorCodeForCoap(4, 13), kit::ErrorCode::TooLarge);
  EXPECT_EQ(errorCodeForCoap(5, 0), kit::ErrorCode::Unavailable);
  EXPECT_EQ(errorCodeForCoap(5, 3), kit::ErrorCode::Unavailable);
  EXPECT_EQ(errorCodeForCoap(5, 4), kit::ErrorCode::Timeout);
  EXPECT_EQ(kit::httpStatus(errorCodeForCoap(4, 4)), 404);
  EXPECT_EQ(kit::httpStatus(errorCodeForCoap(5, 4)), 504);
}

TEST(CoapBridge, SettingsMistakesAreRefusedWithTheKey) {
  {
    Harness h;
    h.config.setList("dtls_listen", {"127.0.0.1:5684"});
    EXPECT_NE(h.refusal().find("dtls_listen needs psk_keys"), std::string::npos);
  }
  {
    Harness h;
    h.config.setList("psk_keys", {"dev=plain-secret-123"});
    const std::string m = h.refusal();
    EXPECT_NE(m.find("hex:KEY or text:KEY"), std::string::npos) << m;
    EXPECT_EQ(m.find("plain-secret-123"), std::string::npos) << m;
  }
  {
    Harness h;
    h.config.setList("psk_keys", {"dev=text:secret-key-1", "dev=text:secret-key-2"});
    EXPECT_NE(h.refusal().find("given twice"), std::string::npos);
  }
  {
    Harness h;
    h.config.set("cert_file", sdk::ConfigType::String, Value::ofString("/etc/gw.pem"));
    EXPECT_NE(h.refusal().find("cert_file and key_file go together"), std::string::npos);
  }
  {
    Harness h;
    h.config.setList("listen", {"coap.example:5683"});
    EXPECT_NE(h.refusal().find("IPv4 or IPv6 address"), std::string::npos);
  }
  {
    Harness h;
    h.config.setList("push_paths", {"t=only/two"});
    EXPECT_NE(h.refusal().find("PATH=provider/service/resource"), std::string::npos);
  }
  {
    Harness h;
    const std::string path = ::testing::TempDir() + "/coap-bridge-devices.yaml";
    {
      std::ofstream out(path);
      out << "devices:\n  - {provider: a, uri: coaps://127.0.0.1:5684}\n";
    }
    h.config.set("devices_file", sdk::ConfigType::String, Value::ofString(path));
    EXPECT_NE(h.refusal().find("uses coaps without psk_key"), std::string::npos);
    std::remove(path.c_str());
  }
}

// bridges/coap/README.md lists every key of the plugin block and of the devices file.
TEST(CoapBridge, ReadmeListsEveryKey) {
  std::ifstream in(std::string(GATEHOUSE_SOURCE_DIR) + "/bridges/coap/README.md");
  ASSERT_TRUE(in) << "bridges/coap/README.md";
  const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(kCoapConfigSchema.fields().size(), 10u);
  for (const auto& field : kCoapConfigSchema.fields()) {
    EXPECT_NE(readme.find("    " + field.key() + ":"), std::string::npos) << "plugin key " << field.key();
  }
  const auto keys = devicesFileKeyPaths();
  ASSERT_GT(keys.size(), 20u);
  for (const auto& path : keys) {
    const std::string key = path.substr(path.find_last_of(".]") == std::string::npos ? 0 : path.find_last_of(".]") + 1);
    if (key.empty()) continue;
    EXPECT_NE(readme.find(key + ":"), std::string::npos) << "devices file key " << path;
  }
}

}  // namespace
}  // namespace gatehouse::bridge::coap
