// Typed plugin settings (gatehouse/kit/settings.h) on the settings of an MQTT bridge: the table
// becomes the gh_config_field array the host validates against, bind() fills the struct from what
// configure() receives (through the C ABI's gh_config_entry array, as the host passes it), and
// mistakes in the table or in the values are named by key.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/settings.h"

namespace gatehouse::kit {
namespace {

using sdk::ConfigType;
using sdk::Value;

enum class Response { Mqtt5, Ack };

struct MqttSettings {
  std::vector<std::string> brokers;
  std::string clientId;
  std::string username;
  std::string password;
  std::string certFile;
  std::string keyFile;
  std::string mappingsFile;
  int keepAliveS = 0;
  std::chrono::seconds badPayloadLogInterval{0};
  std::uint16_t maxInflight = 0;
  double backoffFactor = 0;
  bool cleanStart = true;
  Response response = Response::Mqtt5;
  std::string notInTheTable = "kept";
};

std::string requireBrokerUris(const std::vector<std::string>& uris) {
  if (uris.empty()) return "give at least one broker URI, e.g. tcp://127.0.0.1:1883";
  for (const auto& uri : uris) {
    if (uri.rfind("tcp://", 0) != 0 && uri.rfind("ssl://", 0) != 0) return "\"" + uri + "\" is not a tcp:// or ssl:// URI";
  }
  return {};
}

std::string requireClientId(const std::string& id) {
  return isValidIdentifier(id) ? std::string() : "must be 1-128 of A-Z a-z 0-9 _ . : -";
}

const SettingsTable<MqttSettings> kMqttSettings =
    SettingsTable<MqttSettings>{
        setting("brokers", &MqttSettings::brokers).required().check(requireBrokerUris).doc("Broker URIs tried in order."),
        setting("client_id", &MqttSettings::clientId, "gatehouse-mqtt").check(requireClientId).doc("MQTT client id."),
        setting("username", &MqttSettings::username).doc("Broker user name; empty for none."),
        setting("password", &MqttSettings::password).secret().doc("Broker password; never logged."),
        setting("cert_file", &MqttSettings::certFile).doc("Mutual TLS: PEM client certificate."),
        setting("key_file", &MqttSettings::keyFile).doc("Mutual TLS: PEM private key."),
        setting("mappings_file", &MqttSettings::mappingsFile).required().doc("YAML file of topic mappings."),
        setting("keep_alive_s", &MqttSettings::keepAliveS, 30).range(5, 3600).doc("Keep-alive interval."),
        setting("bad_payload_log_interval_s", &MqttSettings::badPayloadLogInterval, std::chrono::seconds(10))
            .range(1, 86400)
            .doc("At most one bad-payload log line per mapping per this many seconds."),
        setting("max_inflight", &MqttSettings::maxInflight, 20).doc("QoS 1/2 messages in flight."),
        setting("backoff_factor", &MqttSettings::backoffFactor, 2.0).range(1.0, 10.0).doc("Reconnect back-off growth."),
        setting("clean_start", &MqttSettings::cleanStart, true).doc("Start without a persistent session."),
        choice("response", &MqttSettings::response, Response::Mqtt5, {{"mqtt5", Response::Mqtt5}, {"ack", Response::Ack}})
            .doc("How devices answer commands."),
    }.checkedWith([](const MqttSettings& s) {
      return s.certFile.empty() != s.keyFile.empty() ? "cert_file and key_file go together (mutual TLS needs both)"
                                                     : std::string();
    });

// What GATEHOUSE_PLUGIN(MyBridge, kMqttSchema, "...") publishes.
const sdk::ConfigSchema kMqttSchema = kMqttSettings.schema();

// GATEHOUSE_PLUGIN passes &schema as a template argument: the schema is an object of its own.
template <const sdk::ConfigSchema* Schema>
std::size_t publishedFieldCount() {
  return Schema->size();
}

const gh_config_field& fieldOf(std::string_view key) {
  for (std::size_t i = 0; i < kMqttSchema.size(); ++i) {
    if (kMqttSchema.data()[i].key == key) return kMqttSchema.data()[i];
  }
  static const gh_config_field none{};
  ADD_FAILURE() << "no field " << key;
  return none;
}

// Every key with a valid value, as the host would pass it when the operator wrote the required ones.
sdk::Config validConfig() {
  sdk::Config c = sdk::Config::defaults(kMqttSchema);
  c.setList("brokers", {"tcp://127.0.0.1:1883", "ssl://backup:8883"});
  c.set("mappings_file", ConfigType::String, Value::ofString("/etc/gatehouse/mqtt-mappings.yaml"));
  return c;
}

TEST(KitSettings, TheTableIsTheSchemaTheHostValidatesAgainst) {
  ASSERT_TRUE(kMqttSchema.check().isOk()) << kMqttSchema.check().message();
  EXPECT_EQ(publishedFieldCount<&kMqttSchema>(), 13u);

  const gh_config_field& brokers = fieldOf("brokers");
  EXPECT_EQ(brokers.type, static_cast<std::uint32_t>(GH_CONFIG_STRING_LIST));
  EXPECT_EQ(brokers.flags, static_cast<std::uint32_t>(GH_CONFIG_REQUIRED));
  EXPECT_STREQ(brokers.description, "Broker URIs tried in order.");
  EXPECT_EQ(fieldOf("password").flags, static_cast<std::uint32_t>(GH_CONFIG_SECRET));
  EXPECT_STREQ(fieldOf("client_id").default_value, "gatehouse-mqtt");
  EXPECT_EQ(fieldOf("mappings_file").default_value, nullptr);   // required: no default

  const gh_config_field& keepAlive = fieldOf("keep_alive_s");
  EXPECT_EQ(keepAlive.type, static_cast<std::uint32_t>(GH_CONFIG_INT));
  EXPECT_STREQ(keepAlive.default_value, "30");
  EXPECT_EQ(keepAlive.min_int, 5);
  EXPECT_EQ(keepAlive.max_int, 3600);
  // A duration counts its unit; a narrow integer type brings its own limits.
  EXPECT_STREQ(fieldOf("bad_payload_log_interval_s").default_value, "10");
  EXPECT_EQ(fieldOf("max_inflight").min_int, 0);
  EXPECT_EQ(fieldOf("max_inflight").max_int, 65535);

  EXPECT_EQ(fieldOf("backoff_factor").type, static_cast<std::uint32_t>(GH_CONFIG_DOUBLE));
  EXPECT_DOUBLE_EQ(fieldOf("backoff_factor").max_double, 10.0);
  EXPECT_STREQ(fieldOf("clean_start").default_value, "true");
  EXPECT_EQ(fieldOf("response").type, static_cast<std::uint32_t>(GH_CONFIG_ENUM));
  EXPECT_STREQ(fieldOf("response").allowed, "mqtt5|ack");
  EXPECT_STREQ(fieldOf("response").default_value, "mqtt5");
}

TEST(KitSettings, BindFillsTheStructFromWhatConfigureReceives) {
  auto bound = kMqttSettings.bind(validConfig()
                                      .set("keep_alive_s", ConfigType::Int, Value::ofLong(60))
                                      .set("max_inflight", ConfigType::Int, Value::ofLong(65535))
                                      .set("response", ConfigType::Enum, Value::ofString("ack"))
                                      .set("clean_start", ConfigType::Bool, Value::ofBool(false)));
  ASSERT_TRUE(bound) << bound.message();
  const MqttSettings& s = *bound;
  EXPECT_EQ(s.brokers, (std::vector<std::string>{"tcp://127.0.0.1:1883", "ssl://backup:8883"}));
  EXPECT_EQ(s.clientId, "gatehouse-mqtt");
  EXPECT_EQ(s.mappingsFile, "/etc/gatehouse/mqtt-mappings.yaml");
  EXPECT_EQ(s.keepAliveS, 60);
  EXPECT_EQ(s.badPayloadLogInterval, std::chrono::seconds(10));
  EXPECT_EQ(s.maxInflight, 65535);
  EXPECT_DOUBLE_EQ(s.backoffFactor, 2.0);
  EXPECT_FALSE(s.cleanStart);
  EXPECT_EQ(s.response, Response::Ack);
  EXPECT_EQ(s.notInTheTable, "kept");
}

TEST(KitSettings, BindReadsTheCAbiEntriesTheHostPasses) {
  // The host's gh_config_entry array for `brokers: [tcp://b:1883]`, `mappings_file: m.yaml`,
  // `bad_payload_log_interval_s: 5`, everything else defaulted.
  const char* const brokers[] = {"tcp://b:1883"};
  std::vector<gh_config_entry> entries;
  for (std::size_t i = 0; i < kMqttSchema.size(); ++i) {
    const gh_config_field& f = kMqttSchema.data()[i];
    gh_config_entry e{};
    e.key = f.key;
    e.type = f.type;
    const std::string key = f.key;
    const char* text = f.default_value;
    if (key == "mappings_file") text = "m.yaml";
    switch (f.type) {
      case GH_CONFIG_STRING_LIST:
        e.items = brokers;
        e.item_count = 1;
        e.from_file = 1;
        break;
      case GH_CONFIG_INT:
        e.value.type = GH_TYPE_LONG;
        e.value.i = key == "bad_payload_log_interval_s" ? 5 : std::stoll(text);
        break;
      case GH_CONFIG_BOOL:
        e.value.type = GH_TYPE_BOOLEAN;
        e.value.i = std::strcmp(text, "true") == 0 ? 1 : 0;
        break;
      case GH_CONFIG_DOUBLE:
        e.value.type = GH_TYPE_DOUBLE;
        e.value.d = std::stod(text);
        break;
      default:
        e.value.type = GH_TYPE_STRING;
        e.value.data = text;
        e.value.size = std::strlen(text);
        break;
    }
    entries.push_back(e);
  }
  std::string why;
  const auto config = sdk::Config::fromC(entries.data(), entries.size(), &why);
  ASSERT_TRUE(config.has_value()) << why;
  auto bound = kMqttSettings.bind(*config);
  ASSERT_TRUE(bound) << bound.message();
  EXPECT_EQ(bound->brokers, std::vector<std::string>{"tcp://b:1883"});
  EXPECT_EQ(bound->mappingsFile, "m.yaml");
  EXPECT_EQ(bound->badPayloadLogInterval, std::chrono::seconds(5));
  EXPECT_EQ(bound->keepAliveS, 30);
  EXPECT_EQ(bound->response, Response::Mqtt5);
}

TEST(KitSettings, ChecksNameTheKeyAndEveryProblemIsListed) {
  auto bad = kMqttSettings.bind(validConfig()
                                    .setList("brokers", {"http://x"})
                                    .set("client_id", ConfigType::String, Value::ofString("a b")));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(bad.error().message,
            "brokers: \"http://x\" is not a tcp:// or ssl:// URI; client_id: must be 1-128 of A-Z a-z 0-9 _ . : -");

  // The rule between keys runs once every key is right.
  auto halfTls = kMqttSettings.bind(validConfig().set("cert_file", ConfigType::String, Value::ofString("c.pem")));
  ASSERT_FALSE(halfTls);
  EXPECT_EQ(halfTls.message(), "cert_file and key_file go together (mutual TLS needs both)");
  EXPECT_TRUE(kMqttSettings.bind(validConfig()
                                     .set("cert_file", ConfigType::String, Value::ofString("c.pem"))
                                     .set("key_file", ConfigType::String, Value::ofString("k.pem"))));
}

TEST(KitSettings, AConfigThatDoesNotMatchTheTableIsAnInternalError) {
  // Config::defaults() leaves required keys out, as a test that forgets them would (lists are
  // always there, empty).
  auto missing = kMqttSettings.bind(sdk::Config::defaults(kMqttSchema));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(missing.message(),
            "brokers: give at least one broker URI, e.g. tcp://127.0.0.1:1883; mappings_file: missing required key");

  auto wrongType = kMqttSettings.bind(validConfig().set("keep_alive_s", ConfigType::String, Value::ofString("60")));
  ASSERT_FALSE(wrongType);
  EXPECT_EQ(wrongType.error().code, ErrorCode::Internal);
  EXPECT_NE(wrongType.message().find("keep_alive_s: "), std::string::npos) << wrongType.message();

  // A value the member cannot hold never narrows silently (a host outside the schema's range).
  auto tooBig = kMqttSettings.bind(validConfig().set("max_inflight", ConfigType::Int, Value::ofLong(70000)));
  ASSERT_FALSE(tooBig);
  EXPECT_EQ(tooBig.message(), "max_inflight: 70000 does not fit the setting's type");
}

struct Narrow {
  std::int8_t level = 0;
  std::uint64_t big = 0;
  Response response = Response::Mqtt5;
  std::vector<std::string> tags;
  int a = 0;
};

TEST(KitSettings, MistakesInTheTableRefuseThePlugin) {
  const SettingsTable<Narrow> table{
      setting("level", &Narrow::level).range(0, 1000),
      setting("big", &Narrow::big, std::numeric_limits<std::uint64_t>::max()),
      choice("response", &Narrow::response, static_cast<Response>(7), {{"mqtt5", Response::Mqtt5}}),
      setting("tags", &Narrow::tags, std::vector<std::string>{"x"}),
      setting("a", &Narrow::a, 50).range(1, 10),
      setting("a", &Narrow::a),
  };
  const sdk::ConfigSchema schema = table.schema();
  ASSERT_FALSE(schema.check().isOk());
  const std::string& m = schema.check().message();
  EXPECT_NE(m.find("key \"level\": range() goes beyond what the member's type holds"), std::string::npos) << m;
  EXPECT_NE(m.find("key \"big\": the default does not fit in a 64-bit integer"), std::string::npos) << m;
  EXPECT_NE(m.find("key \"response\": the default is not one of the choices"), std::string::npos) << m;
  EXPECT_NE(m.find("key \"tags\": a list setting defaults to empty; give no default"), std::string::npos) << m;
  EXPECT_NE(m.find("key \"a\": the default 50 is outside the range"), std::string::npos) << m;
  EXPECT_NE(m.find("key \"a\": declared twice"), std::string::npos) << m;

  // Without range(), a narrow member's own limits apply.
  const SettingsTable<Narrow> fine{setting("level", &Narrow::level, 3)};
  const sdk::ConfigSchema fineSchema = fine.schema();
  ASSERT_TRUE(fineSchema.check().isOk()) << fineSchema.check().message();
  EXPECT_EQ(fineSchema.data()[0].min_int, -128);
  EXPECT_EQ(fineSchema.data()[0].max_int, 127);
}

TEST(KitSettings, AThrowingCheckIsReportedNotThrown) {
  struct S {
    std::string path;
  };
  const SettingsTable<S> table{setting("path", &S::path, "x").check([](const std::string&) -> std::string {
    throw std::runtime_error("disk on fire");
  })};
  const sdk::ConfigSchema schema = table.schema();
  auto r = table.bind(sdk::Config::defaults(schema));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "path: cannot check this value: disk on fire");
}

}  // namespace
}  // namespace gatehouse::kit
