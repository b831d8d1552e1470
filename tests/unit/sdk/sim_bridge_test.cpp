// The sim bridge's logic (gatehouse_bridge_sim_lib, linked statically) against a fake host.
#include "sim_bridge.h"
#include "simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::bridge::sim {
namespace {

using sdk::Request;
using sdk::Value;
using sdk::ValueType;
using sdk::testing::FakeHost;

SimulatorOptions options(int sensors, int lights, std::uint32_t seed = 7) {
  SimulatorOptions o;
  o.temperatureSensors = sensors;
  o.lights = lights;
  o.intervalMs = 3600000;   // the timer never fires in these tests unless asked
  o.providerPrefix = "lab";
  o.seed = seed;
  return o;
}

const sdk::testing::RecordedDecl* findDecl(const std::vector<sdk::testing::RecordedDecl>& all, const std::string& p,
                                           const std::string& s, const std::string& r) {
  for (const auto& d : all) {
    if (d.provider == p && d.service == s && d.resource == r) return &d;
  }
  return nullptr;
}

TEST(SimSimulator, DeclaresTheSameDevicesAsTheBuiltInSimulator) {
  FakeHost fake;
  Simulator sim(fake.host(), options(2, 1));
  ASSERT_TRUE(sim.start().isOk());
  const auto decls = fake.declarations();
  ASSERT_EQ(decls.size(), 2u + 5u);   // a temperature per sensor; status, brightness, 3 actions per light

  for (const char* p : {"lab-temperature-1", "lab-temperature-2"}) {
    const auto* t = findDecl(decls, p, "sensor", "temperature");
    ASSERT_NE(t, nullptr) << p;
    EXPECT_EQ(t->kind, GH_KIND_SENSOR);
    EXPECT_EQ(t->mutability, GH_MUTABILITY_UPDATABLE);
    EXPECT_EQ(t->type, GH_TYPE_DOUBLE);
    EXPECT_EQ(t->unit, "°C");
    EXPECT_EQ(t->providerModel, "simulated-temperature-sensor");
  }
  const auto* status = findDecl(decls, "lab-light-1", "light", "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->kind, GH_KIND_STATE_VARIABLE);
  EXPECT_EQ(status->mutability, GH_MUTABILITY_UPDATABLE);
  EXPECT_EQ(status->type, GH_TYPE_STRING);
  EXPECT_EQ(status->providerModel, "simulated-light");
  const auto* brightness = findDecl(decls, "lab-light-1", "light", "brightness");
  ASSERT_NE(brightness, nullptr);
  EXPECT_EQ(brightness->mutability, GH_MUTABILITY_MODIFIABLE);
  EXPECT_EQ(brightness->type, GH_TYPE_INT);
  EXPECT_EQ(brightness->unit, "%");
  for (const char* a : {"turn_on", "turn_off", "dim"}) {
    const auto* act = findDecl(decls, "lab-light-1", "light", a);
    ASSERT_NE(act, nullptr) << a;
    EXPECT_EQ(act->kind, GH_KIND_ACTION);
    EXPECT_EQ(act->resultType, GH_TYPE_STRING);
  }
  const auto* dim = findDecl(decls, "lab-light-1", "light", "dim");
  ASSERT_EQ(dim->params.size(), 1u);
  EXPECT_EQ(dim->params[0].name, "brightness");
  EXPECT_EQ(dim->params[0].type, GH_TYPE_INT);
  EXPECT_FALSE(dim->params[0].optional);
  EXPECT_TRUE(dim->params[0].hasMin && dim->params[0].hasMax);
  EXPECT_DOUBLE_EQ(dim->params[0].min, 0.0);
  EXPECT_DOUBLE_EQ(dim->params[0].max, 100.0);
  EXPECT_TRUE(findDecl(decls, "lab-light-1", "light", "turn_on")->params.empty());

  // First values: friendly names, a plausible temperature, lights off.
  const auto names = fake.pushesTo("lab-light-1", "admin", "friendlyName");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].value, Value::ofString("Light 1"));
  EXPECT_EQ(fake.pushesTo("lab-temperature-2", "admin", "friendlyName")[0].value, Value::ofString("Temperature sensor 2"));
  const auto first = fake.pushesTo("lab-temperature-1", "sensor", "temperature");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_GE(first[0].value.asDouble(), 18.0);
  EXPECT_LE(first[0].value.asDouble(), 24.0);
  EXPECT_EQ(fake.pushesTo("lab-light-1", "light", "status")[0].value, Value::ofString("OFF"));
  EXPECT_EQ(fake.pushesTo("lab-light-1", "light", "brightness")[0].value, Value::ofInt(0));
  sim.stop();
}

TEST(SimSimulator, TemperaturesDriftPlausiblyAndReproduciblyWithASeed) {
  FakeHost a, b, c;
  Simulator simA(a.host(), options(3, 0, 1234));
  Simulator simB(b.host(), options(3, 0, 1234));
  Simulator simC(c.host(), options(3, 0, 999));
  ASSERT_TRUE(simA.start().isOk());
  ASSERT_TRUE(simB.start().isOk());
  ASSERT_TRUE(simC.start().isOk());
  std::set<double> seen;
  for (int i = 0; i < 200; ++i) {
    simA.tick();
    simB.tick();
    simC.tick();
    for (double t : simA.temperatures()) {
      seen.insert(t);
      EXPECT_GT(t, 10.0);
      EXPECT_LT(t, 32.0);
      EXPECT_DOUBLE_EQ(t, std::round(t * 100.0) / 100.0);   // two decimals, as before
    }
  }
  EXPECT_GT(seen.size(), 50u) << "the temperature should move";
  EXPECT_EQ(simA.temperatures(), simB.temperatures()) << "same seed, same readings";
  EXPECT_NE(simA.temperatures(), simC.temperatures());
  const auto pushed = a.pushesTo("lab-temperature-3", "sensor", "temperature");
  ASSERT_EQ(pushed.size(), 201u);   // the first value and one per tick
  EXPECT_EQ(pushed.back().value, Value::ofDouble(simA.temperatures()[2]));
}

TEST(SimSimulator, TheTimerThreadPushesEveryInterval) {
  FakeHost fake;
  auto o = options(1, 0);
  o.intervalMs = 10;
  Simulator sim(fake.host(), o);
  ASSERT_TRUE(sim.start().isOk());
  EXPECT_TRUE(fake.waitForPushes("lab-temperature-1", "sensor", "temperature", 4, std::chrono::seconds(5)));
  sim.stop();
  const auto n = fake.pushesTo("lab-temperature-1", "sensor", "temperature").size();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fake.pushesTo("lab-temperature-1", "sensor", "temperature").size(), n) << "no push after stop";
}

class SimLights : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sim_.start().isOk()); }
  void TearDown() override { sim_.stop(); }

  sdk::testing::RecordedCompletion set(const std::string& provider, const std::string& resource, const Value& v) {
    sim_.onSet(Request(fake_.host(), ++id_), provider, "light", resource, v);
    return last();
  }
  sdk::testing::RecordedCompletion act(const std::string& resource, const sdk::ActParams& params = {},
                                       const std::string& provider = "lab-light-1") {
    sim_.onAct(Request(fake_.host(), ++id_), provider, "light", resource, params);
    return last();
  }
  sdk::testing::RecordedCompletion last() {
    const auto c = fake_.completions();
    EXPECT_FALSE(c.empty());
    EXPECT_EQ(c.back().id, id_);
    return c.empty() ? sdk::testing::RecordedCompletion{} : c.back();
  }
  Value lastPushed(const std::string& resource, const std::string& provider = "lab-light-1") {
    const auto p = fake_.pushesTo(provider, "light", resource);
    return p.empty() ? Value() : p.back().value;
  }

  FakeHost fake_;
  Simulator sim_{fake_.host(), options(0, 2)};
  gh_request_id id_ = 0;
};

TEST_F(SimLights, SetBrightnessAcceptsZeroToHundredAndUpdatesTheStatus) {
  auto c = set("lab-light-1", "brightness", Value::ofInt(40));
  EXPECT_EQ(c.status, GH_OK) << c.message;
  ASSERT_TRUE(c.result);
  EXPECT_EQ(*c.result, Value::ofInt(40));
  EXPECT_EQ(lastPushed("status"), Value::ofString("ON"));
  c = set("lab-light-1", "brightness", Value::ofInt(0));
  EXPECT_EQ(c.status, GH_OK);
  EXPECT_EQ(lastPushed("status"), Value::ofString("OFF"));
}

TEST_F(SimLights, SetBrightnessRefusesBadValues) {
  for (const Value& v : {Value::ofInt(101), Value::ofInt(-1), Value::null(ValueType::Int), Value::ofString("50"),
                         Value::ofDouble(50.0)}) {
    const auto c = set("lab-light-1", "brightness", v);
    EXPECT_EQ(c.status, GH_ERR_INVALID_ARGUMENT) << sdk::toString(v.type());
    EXPECT_EQ(c.message, "brightness must be between 0 and 100");
  }
  EXPECT_EQ(set("lab-light-1", "status", Value::ofString("ON")).status, GH_ERR_NOT_ALLOWED);
  EXPECT_EQ(set("lab-light-9", "brightness", Value::ofInt(5)).status, GH_ERR_NOT_FOUND);
  EXPECT_EQ(set("lab-temperature-1", "brightness", Value::ofInt(5)).status, GH_ERR_NOT_FOUND);
  EXPECT_EQ(lastPushed("status"), Value::ofString("OFF")) << "a refused SET changes nothing";
}

TEST_F(SimLights, DimValidatesItsParameter) {
  auto c = act("dim", {{"brightness", Value::ofInt(30)}});
  EXPECT_EQ(c.status, GH_OK) << c.message;
  EXPECT_EQ(*c.result, Value::ofString("ON"));
  EXPECT_EQ(lastPushed("brightness"), Value::ofInt(30));
  EXPECT_EQ(lastPushed("status"), Value::ofString("ON"));

  c = act("dim", {{"brightness", Value::ofInt(101)}});
  EXPECT_EQ(c.status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("between 0 and 100"), std::string::npos) << c.message;
  EXPECT_EQ(act("dim", {}).status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(act("dim", {{"level", Value::ofInt(5)}}).status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(act("dim", {{"brightness", Value::ofString("5")}}).status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(act("dim", {{"brightness", Value::null(ValueType::Int)}}).status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(lastPushed("brightness"), Value::ofInt(30)) << "refused dims change nothing";

  c = act("dim", {{"brightness", Value::ofInt(0)}});
  EXPECT_EQ(*c.result, Value::ofString("OFF"));
}

TEST_F(SimLights, TurnOnRestoresTheLastBrightnessPerLight) {
  auto c = act("turn_on");
  EXPECT_EQ(*c.result, Value::ofString("ON"));
  EXPECT_EQ(lastPushed("brightness"), Value::ofInt(100));   // never dimmed: full
  act("dim", {{"brightness", Value::ofInt(25)}});
  c = act("turn_off");
  EXPECT_EQ(*c.result, Value::ofString("OFF"));
  EXPECT_EQ(lastPushed("brightness"), Value::ofInt(0));
  act("turn_on");
  EXPECT_EQ(lastPushed("brightness"), Value::ofInt(25));
  act("turn_on", {}, "lab-light-2");
  EXPECT_EQ(lastPushed("brightness", "lab-light-2"), Value::ofInt(100));
  EXPECT_EQ(act("blink").status, GH_ERR_NOT_FOUND);
  EXPECT_EQ(act("turn_on", {}, "lab-light-3").status, GH_ERR_NOT_FOUND);
}

TEST(SimOptions, ValidateNamesTheBadOption) {
  auto o = options(1, 1);
  EXPECT_TRUE(validate(o).isOk());
  o.providerPrefix = "a/b";
  auto s = validate(o);
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("provider_prefix"), std::string::npos);
  o.providerPrefix = std::string(129, 'a');
  EXPECT_FALSE(validate(o).isOk());
  o = options(1, 1);
  o.intervalMs = 5;
  EXPECT_NE(validate(o).message().find("interval_ms"), std::string::npos);
  o = options(10001, 1);
  EXPECT_FALSE(validate(o).isOk());
}

TEST(SimBridge, SchemaIsTheOneTableOfTheBrief) {
  ASSERT_TRUE(kSimConfigSchema.check().isOk()) << kSimConfigSchema.check().message();
  ASSERT_EQ(kSimConfigSchema.size(), 5u);
  struct Expected { const char* key; std::uint32_t type; const char* def; std::int64_t min, max; };
  const Expected expected[] = {
      {"temperature_sensors", GH_CONFIG_INT, "1", 0, 10000},
      {"lights", GH_CONFIG_INT, "1", 0, 10000},
      {"interval_ms", GH_CONFIG_INT, "1000", 10, 3600000},
      {"provider_prefix", GH_CONFIG_STRING, "sim", 0, 0},
      {"seed", GH_CONFIG_INT, "0", 0, 4294967295LL},
  };
  for (std::size_t i = 0; i < 5; ++i) {
    const gh_config_field& f = kSimConfigSchema.data()[i];
    EXPECT_STREQ(f.key, expected[i].key);
    EXPECT_EQ(f.type, expected[i].type) << f.key;
    EXPECT_STREQ(f.default_value, expected[i].def) << f.key;
    EXPECT_EQ(f.flags, 0u);
    EXPECT_GT(std::strlen(f.description), 0u) << f.key;
    if (f.type == GH_CONFIG_INT) {
      EXPECT_EQ(f.min_int, expected[i].min) << f.key;
      EXPECT_EQ(f.max_int, expected[i].max) << f.key;
    }
  }
}

TEST(SimBridge, ConfigureReadsEveryKeyAndChecksThePrefix) {
  SimBridge bridge;
  auto config = sdk::Config::defaults(kSimConfigSchema);
  ASSERT_TRUE(bridge.configure(config).isOk());
  EXPECT_EQ(bridge.options().temperatureSensors, 1);
  EXPECT_EQ(bridge.options().lights, 1);
  EXPECT_EQ(bridge.options().intervalMs, 1000);
  EXPECT_EQ(bridge.options().providerPrefix, "sim");
  EXPECT_EQ(bridge.options().seed, 0u);
  config.set("lights", sdk::ConfigType::Int, Value::ofLong(3))
      .set("seed", sdk::ConfigType::Int, Value::ofLong(4294967295LL))
      .set("provider_prefix", sdk::ConfigType::String, Value::ofString("hall.a:b_c-1"));
  ASSERT_TRUE(bridge.configure(config).isOk());
  EXPECT_EQ(bridge.options().lights, 3);
  EXPECT_EQ(bridge.options().seed, 4294967295u);
  EXPECT_EQ(bridge.options().providerPrefix, "hall.a:b_c-1");
  config.set("provider_prefix", sdk::ConfigType::String, Value::ofString("bad prefix"));
  const auto s = bridge.configure(config);
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("provider_prefix"), std::string::npos) << s.message();
}

// The whole plugin through its C descriptor, as the gateway drives it (without dlopen).
TEST(SimBridge, RunsThroughTheDescriptor) {
  const gh_plugin_descriptor d =
      sdk::detail::makeDescriptor<SimBridge, &kSimConfigSchema>("sim", "1.0.0", "simulated devices");
  FakeHost fake;
  char err[256] = "";
  gh_plugin* p = d.create(fake.handle(), fake.api(), err, sizeof(err));
  ASSERT_NE(p, nullptr) << err;
  sdk::testing::ConfigEntries e;
  e.integer("temperature_sensors", 1).integer("lights", 1).integer("interval_ms", 10).integer("seed", 5);
  e.text("provider_prefix", "desc");
  ASSERT_EQ(d.configure(p, e.data(), e.size(), err, sizeof(err)), GH_OK) << err;
  ASSERT_EQ(d.start(p, err, sizeof(err)), GH_OK) << err;
  ASSERT_EQ(fake.statuses().size(), 1u);
  EXPECT_EQ(fake.statuses()[0].first, GH_STATE_RUNNING);
  EXPECT_TRUE(fake.waitForPushes("desc-temperature-1", "sensor", "temperature", 3, std::chrono::seconds(5)));

  gh_named_value param{};
  param.name = "brightness";
  param.value.type = GH_TYPE_INT;
  param.value.i = 60;
  d.act(p, 77, "desc-light-1", "light", "dim", &param, 1);
  d.stop(p);
  d.destroy(p);
  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, 77u);
  EXPECT_EQ(c[0].status, GH_OK) << c[0].message;
  EXPECT_EQ(*c[0].result, Value::ofString("ON"));
}

}  // namespace
}  // namespace gatehouse::bridge::sim
