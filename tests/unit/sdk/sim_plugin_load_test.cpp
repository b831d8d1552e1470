// The built plugin file gh-sim.so, loaded with dlopen as the gateway does (minus the signature
// check, which is the plugin host's), and driven through its one exported symbol.
#include <dlfcn.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace {

using gatehouse::sdk::Value;
using gatehouse::sdk::testing::FakeHost;

class LoadedPlugin {
 public:
  explicit LoadedPlugin(const char* path) : handle_(dlopen(path, RTLD_NOW | RTLD_LOCAL)) {}
  ~LoadedPlugin() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  void* handle() const { return handle_; }

 private:
  void* handle_;
};

TEST(SimPlugin, LoadsAndRunsThroughItsEntryPoint) {
  LoadedPlugin lib(GH_SIM_PLUGIN_PATH);
  ASSERT_NE(lib.handle(), nullptr) << dlerror();
  auto entry = reinterpret_cast<gh_plugin_entry_fn>(dlsym(lib.handle(), GH_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr) << "gh_plugin_entry is not exported";
  const gh_plugin_descriptor* d = entry();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->abi_major, GH_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, GH_ABI_MINOR);
  EXPECT_EQ(d->struct_size, sizeof(gh_plugin_descriptor));
  EXPECT_EQ(d->kind, GH_PLUGIN_KIND_BRIDGE);
  EXPECT_STREQ(d->name, "sim");
  EXPECT_STREQ(d->version, "1.0.0");
  ASSERT_EQ(d->config_field_count, 5u);
  EXPECT_STREQ(d->config_fields[0].key, "temperature_sensors");
  // Nothing but the entry point leaves the plugin (the adapter's own functions stay inside).
  EXPECT_EQ(dlsym(lib.handle(), "_ZN9gatehouse3sdk6detail10writeErrorEPcmSt17basic_string_viewIcSt11char_traitsIcEE"), nullptr);

  FakeHost fake;
  char err[256] = "";
  gh_plugin* p = d->create(fake.handle(), fake.api(), err, sizeof(err));
  ASSERT_NE(p, nullptr) << err;
  // Every key present, defaults filled in, as the host passes them.
  gatehouse::sdk::testing::ConfigEntries e;
  e.integer("temperature_sensors", 2).integer("lights", 1).integer("interval_ms", 20).integer("seed", 0);
  e.text("provider_prefix", "sim");
  ASSERT_EQ(d->configure(p, e.data(), e.size(), err, sizeof(err)), GH_OK) << err;
  ASSERT_EQ(d->start(p, err, sizeof(err)), GH_OK) << err;
  EXPECT_TRUE(fake.waitForPushes("sim-temperature-2", "sensor", "temperature", 3, std::chrono::seconds(5)));

  const Value v = Value::ofInt(70);
  const gh_value cv = v.toC();
  d->set(p, 1, "sim-light-1", "light", "brightness", &cv);
  gh_value bad = Value::ofInt(170).toC();
  d->set(p, 2, "sim-light-1", "light", "brightness", &bad);
  d->act(p, 3, "sim-light-1", "light", "turn_off", nullptr, 0);
  d->stop(p);
  d->destroy(p);

  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].status, GH_OK) << c[0].message;
  EXPECT_EQ(*c[0].result, Value::ofInt(70));
  EXPECT_EQ(c[1].status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c[2].status, GH_OK);
  EXPECT_EQ(*c[2].result, Value::ofString("OFF"));
}

}  // namespace
