// The C++ adapter seen from the host's side: the descriptor GATEHOUSE_PLUGIN makes, and its
// trampolines driven through the C function pointers with a fake host, as the gateway does.
#include <gatehouse/sdk/plugin.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::sdk {
namespace {

using testing::FakeHost;

enum class Throw { None, Std, Unknown };

// What the next TestBridge does; reset by each test's fixture.
struct Behaviour {
  Throw ctor = Throw::None, configure = Throw::None, start = Throw::None, stop = Throw::None;
  Throw set = Throw::None, act = Throw::None;
  Status configureResult, startResult;
  bool answerSetBeforeThrowing = false;
  bool keepSet = false;          // keep the SET's Request instead of answering
  bool readUndeclaredKey = false;
  std::optional<Request> kept;
  std::optional<std::int64_t> seenInterval;
  std::optional<std::string> seenMode;
  int destroyed = 0;
  int stopped = 0;
  std::string lastSet;
  ActParams lastParams;
};
Behaviour g;

void maybeThrow(Throw t, const char* what) {
  if (t == Throw::Std) throw std::runtime_error(what);
  if (t == Throw::Unknown) throw 42;
}

class TestBridge : public Bridge {
 public:
  TestBridge() { maybeThrow(g.ctor, "ctor boom"); }
  ~TestBridge() override { ++g.destroyed; }
  Status configure(const Config& c) override {
    maybeThrow(g.configure, "configure boom");
    if (g.readUndeclaredKey) (void)c.getInt("not_declared");
    g.seenInterval = c.getInt("interval_ms");
    g.seenMode = c.getString("mode");
    return g.configureResult;
  }
  Status start() override {
    maybeThrow(g.start, "start boom");
    return g.startResult;
  }
  void stop() override {
    ++g.stopped;
    maybeThrow(g.stop, "stop boom");
  }
  void onSet(Request r, const std::string& p, const std::string& s, const std::string& res, const Value& v) override {
    g.lastSet = p + "/" + s + "/" + res;
    if (g.answerSetBeforeThrowing) r.complete(v);
    maybeThrow(g.set, "set boom");
    if (g.keepSet) {
      g.kept = r;
      return;
    }
    if (!g.answerSetBeforeThrowing) r.complete(v);
  }
  void onAct(Request r, const std::string&, const std::string&, const std::string& res, const ActParams& params) override {
    maybeThrow(g.act, "act boom");
    g.lastParams = params;
    r.complete(Value::ofString(res + ":" + std::to_string(params.size())));
  }
};

// No onSet/onAct: the defaults answer "not allowed".
class MinimalBridge : public Bridge {
 public:
  Status start() override { return Status::ok(); }
  void stop() override {}
};

const ConfigSchema kSchema{
    integer("interval_ms", 1000).range(10, 60000).doc("Interval."),
    oneOf("mode", "fast", {"fast", "slow"}),
};
const ConfigSchema kNoConfig{};
const ConfigSchema kBadSchema{integer("n", 5).range(10, 20)};

}  // namespace
}  // namespace gatehouse::sdk

GATEHOUSE_PLUGIN(gatehouse::sdk::TestBridge, gatehouse::sdk::kSchema, "A bridge for the SDK's tests");

namespace gatehouse::sdk {
namespace {

class SdkAdapter : public ::testing::Test {
 protected:
  void SetUp() override { g = Behaviour{}; }
  void TearDown() override {
    g.kept.reset();
    if (plugin_ != nullptr) d_->destroy(plugin_);
  }

  gh_plugin* create() {
    err_[0] = '\0';
    plugin_ = d_->create(fake_.handle(), fake_.api(), err_, sizeof(err_));
    return plugin_;
  }
  gh_status configure(std::int64_t interval, const char* mode) {
    testing::ConfigEntries e;
    e.integer("interval_ms", interval).text("mode", mode, GH_CONFIG_ENUM);
    return d_->configure(plugin_, e.data(), e.size(), err_, sizeof(err_));
  }
  void set(gh_request_id id, const gh_value* v) { d_->set(plugin_, id, "p", "s", "r", v); }

  const gh_plugin_descriptor* d_ = gh_plugin_entry();
  FakeHost fake_;
  gh_plugin* plugin_ = nullptr;
  char err_[256];
};

TEST_F(SdkAdapter, DescriptorCarriesAbiNameVersionAndSchema) {
  ASSERT_NE(d_, nullptr);
  EXPECT_EQ(d_, gh_plugin_entry());   // one static descriptor
  EXPECT_EQ(d_->abi_major, GH_ABI_MAJOR);
  EXPECT_EQ(d_->abi_minor, GH_ABI_MINOR);
  EXPECT_EQ(d_->struct_size, sizeof(gh_plugin_descriptor));
  EXPECT_EQ(d_->kind, GH_PLUGIN_KIND_BRIDGE);
  EXPECT_STREQ(d_->name, "sdk_test_bridge");   // GH_PLUGIN_NAME / GH_PLUGIN_VERSION from CMake
  EXPECT_STREQ(d_->version, "2.3.4");
  EXPECT_STREQ(d_->description, "A bridge for the SDK's tests");
  EXPECT_EQ(d_->config_fields, kSchema.data());
  EXPECT_EQ(d_->config_field_count, 2u);
  EXPECT_STREQ(d_->config_fields[1].allowed, "fast|slow");
  for (const void* fn : {reinterpret_cast<const void*>(d_->create), reinterpret_cast<const void*>(d_->configure),
                         reinterpret_cast<const void*>(d_->start), reinterpret_cast<const void*>(d_->stop),
                         reinterpret_cast<const void*>(d_->destroy), reinterpret_cast<const void*>(d_->set),
                         reinterpret_cast<const void*>(d_->act)}) {
    EXPECT_NE(fn, nullptr);
  }
  const gh_plugin_entry_fn entry = &gh_plugin_entry;   // the exported symbol has the ABI's type
  EXPECT_EQ(entry(), d_);
}

TEST_F(SdkAdapter, LifecycleReachesTheBridge) {
  ASSERT_NE(create(), nullptr) << err_;
  ASSERT_EQ(configure(250, "slow"), GH_OK) << err_;
  EXPECT_EQ(g.seenInterval, 250);
  EXPECT_EQ(g.seenMode, "slow");
  ASSERT_EQ(d_->start(plugin_, err_, sizeof(err_)), GH_OK) << err_;

  const Value v = Value::ofInt(55);
  const gh_value cv = v.toC();
  set(1, &cv);
  EXPECT_EQ(g.lastSet, "p/s/r");

  gh_named_value params[2]{};
  params[0].name = "brightness";
  params[0].value.type = GH_TYPE_INT;
  params[0].value.i = 30;
  params[1].name = "label";
  params[1].value.type = GH_TYPE_STRING;
  params[1].value.data = "x";
  params[1].value.size = 1;
  d_->act(plugin_, 2, "p", "light", "dim", params, 2);
  ASSERT_EQ(g.lastParams.size(), 2u);
  EXPECT_EQ(g.lastParams[0].first, "brightness");
  EXPECT_EQ(g.lastParams[0].second, Value::ofInt(30));
  EXPECT_EQ(g.lastParams[1].second, Value::ofString("x"));

  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].id, 1u);
  EXPECT_EQ(c[0].status, GH_OK);
  EXPECT_EQ(*c[0].result, Value::ofInt(55));
  EXPECT_EQ(c[1].id, 2u);
  EXPECT_EQ(*c[1].result, Value::ofString("dim:2"));

  d_->stop(plugin_);
  EXPECT_EQ(g.stopped, 1);
  d_->destroy(plugin_);
  plugin_ = nullptr;
  EXPECT_EQ(g.destroyed, 1);
}

TEST_F(SdkAdapter, ConstructorExceptionsFailCreateWithTheirMessage) {
  g.ctor = Throw::Std;
  EXPECT_EQ(create(), nullptr);
  EXPECT_STREQ(err_, "the plugin's constructor threw an exception: ctor boom");
  g.ctor = Throw::Unknown;
  EXPECT_EQ(create(), nullptr);
  EXPECT_STREQ(err_, "the plugin's constructor threw an unknown exception");
}

TEST_F(SdkAdapter, ConfigureAndStartExceptionsBecomeInternalErrors) {
  ASSERT_NE(create(), nullptr);
  g.configure = Throw::Std;
  EXPECT_EQ(configure(100, "fast"), GH_ERR_INTERNAL);
  EXPECT_STREQ(err_, "configure() threw an exception: configure boom");
  g.configure = Throw::Unknown;
  EXPECT_EQ(configure(100, "fast"), GH_ERR_INTERNAL);
  EXPECT_STREQ(err_, "configure() threw an unknown exception");
  g.start = Throw::Std;
  EXPECT_EQ(d_->start(plugin_, err_, sizeof(err_)), GH_ERR_INTERNAL);
  EXPECT_STREQ(err_, "start() threw an exception: start boom");
  g.start = Throw::Unknown;
  EXPECT_EQ(d_->start(plugin_, err_, sizeof(err_)), GH_ERR_INTERNAL);
  EXPECT_STREQ(err_, "start() threw an unknown exception");
}

TEST_F(SdkAdapter, StatusFailuresKeepTheirCodeAndMessage) {
  ASSERT_NE(create(), nullptr);
  g.configureResult = Status::invalidArgument("interval_ms must be even");
  EXPECT_EQ(configure(101, "fast"), GH_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(err_, "interval_ms must be even");
  g.startResult = Status::unavailable("");
  EXPECT_EQ(d_->start(plugin_, err_, sizeof(err_)), GH_ERR_UNAVAILABLE);
  EXPECT_STREQ(err_, "unavailable");   // an empty message still says something
}

TEST_F(SdkAdapter, ConfigGetterMistakeFailsConfigureWithTheKey) {
  ASSERT_NE(create(), nullptr);
  g.readUndeclaredKey = true;
  EXPECT_EQ(configure(100, "fast"), GH_ERR_INTERNAL);
  EXPECT_NE(std::string(err_).find("\"not_declared\""), std::string::npos) << err_;
}

TEST_F(SdkAdapter, MalformedConfigFromTheHostIsRefused) {
  ASSERT_NE(create(), nullptr);
  gh_config_entry e{};
  e.key = "interval_ms";
  e.type = GH_CONFIG_INT;
  e.value.type = GH_TYPE_STRING;   // INT must carry a LONG
  EXPECT_EQ(d_->configure(plugin_, &e, 1, err_, sizeof(err_)), GH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err_).find("interval_ms"), std::string::npos) << err_;
  EXPECT_FALSE(g.seenInterval.has_value());
}

TEST_F(SdkAdapter, StopExceptionIsLoggedNotThrown) {
  ASSERT_NE(create(), nullptr);
  g.stop = Throw::Std;
  d_->stop(plugin_);
  const auto logs = fake_.logs();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].first, GH_LOG_ERROR);
  EXPECT_EQ(logs[0].second, "stop() threw an exception: stop boom");
}

TEST_F(SdkAdapter, SetAndActExceptionsFailTheRequest) {
  ASSERT_NE(create(), nullptr);
  g.set = Throw::Std;
  const gh_value v = Value::ofInt(1).toC();
  set(5, &v);
  g.act = Throw::Unknown;
  d_->act(plugin_, 6, "p", "s", "a", nullptr, 0);
  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].id, 5u);
  EXPECT_EQ(c[0].status, GH_ERR_INTERNAL);
  EXPECT_EQ(c[0].message, "onSet() threw an exception: set boom");
  EXPECT_EQ(c[1].id, 6u);
  EXPECT_EQ(c[1].status, GH_ERR_INTERNAL);
  EXPECT_EQ(c[1].message, "onAct() threw an unknown exception");
}

TEST_F(SdkAdapter, AnExceptionAfterTheAnswerDoesNotAnswerTwice) {
  ASSERT_NE(create(), nullptr);
  g.answerSetBeforeThrowing = true;
  g.set = Throw::Std;
  const gh_value v = Value::ofInt(9).toC();
  set(8, &v);
  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].status, GH_OK);
}

TEST_F(SdkAdapter, AKeptRequestIsAnsweredLaterFromAnotherThread) {
  ASSERT_NE(create(), nullptr);
  g.keepSet = true;
  const gh_value v = Value::ofInt(3).toC();
  set(12, &v);
  EXPECT_TRUE(fake_.completions().empty());   // the trampoline returned without an answer
  ASSERT_TRUE(g.kept);
  std::thread([r = *g.kept] { r.complete(Value::ofInt(4)); }).join();
  g.kept.reset();
  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, 12u);
  EXPECT_EQ(*c[0].result, Value::ofInt(4));
}

TEST_F(SdkAdapter, BadValuesAreRefusedBeforeTheBridgeSeesThem) {
  ASSERT_NE(create(), nullptr);
  gh_value bad{};
  bad.type = 77;
  set(20, &bad);
  set(21, nullptr);
  gh_named_value p{};
  p.name = nullptr;
  p.value.type = GH_TYPE_INT;
  d_->act(plugin_, 22, "p", "s", "a", &p, 1);
  EXPECT_TRUE(g.lastSet.empty());
  EXPECT_TRUE(g.lastParams.empty());
  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 3u);
  for (const auto& x : c) EXPECT_EQ(x.status, GH_ERR_INVALID_ARGUMENT) << x.message;
  EXPECT_NE(c[0].message.find("unknown value type 77"), std::string::npos) << c[0].message;
}

TEST_F(SdkAdapter, DefaultSetAndActAreNotAllowed) {
  const gh_plugin_descriptor md = detail::makeDescriptor<MinimalBridge, &kNoConfig>("minimal", "1.0.0", "");
  EXPECT_EQ(md.config_fields, nullptr);
  EXPECT_EQ(md.config_field_count, 0u);
  gh_plugin* p = md.create(fake_.handle(), fake_.api(), err_, sizeof(err_));
  ASSERT_NE(p, nullptr) << err_;
  EXPECT_EQ(md.configure(p, nullptr, 0, err_, sizeof(err_)), GH_OK);   // default configure accepts
  const gh_value v = Value::ofInt(1).toC();
  md.set(p, 30, "p", "s", "r", &v);
  md.act(p, 31, "p", "s", "a", nullptr, 0);
  md.destroy(p);
  const auto c = fake_.completions();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].status, GH_ERR_NOT_ALLOWED);
  EXPECT_EQ(c[0].message, "this plugin does not accept SET on p/s/r");
  EXPECT_EQ(c[1].status, GH_ERR_NOT_ALLOWED);
}

TEST_F(SdkAdapter, AWrongSchemaRefusesCreate) {
  const gh_plugin_descriptor bd = detail::makeDescriptor<TestBridge, &kBadSchema>("bad", "1.0.0", "");
  EXPECT_EQ(bd.create(fake_.handle(), fake_.api(), err_, sizeof(err_)), nullptr);
  EXPECT_NE(std::string(err_).find("\"n\": the default 5 is outside the range"), std::string::npos) << err_;
  EXPECT_EQ(g.destroyed, 0);   // never constructed
  EXPECT_EQ(d_->create(fake_.handle(), nullptr, err_, sizeof(err_)), nullptr);
  EXPECT_NE(std::string(err_).find("no callback table"), std::string::npos) << err_;
}

TEST(SdkWriteError, TruncatesOnACharacterBoundary) {
  char buf[6];
  detail::writeError(buf, sizeof(buf), "abcdefgh");
  EXPECT_STREQ(buf, "abcde");
  detail::writeError(buf, sizeof(buf), "abcd\xC3\xA9xyz");   // "abcdé...": é would be cut in half
  EXPECT_STREQ(buf, "abcd");
  detail::writeError(buf, sizeof(buf), "ok");
  EXPECT_STREQ(buf, "ok");
  detail::writeError(nullptr, 10, "ignored");   // must not crash
  char one[1] = {'x'};
  detail::writeError(one, 1, "abc");
  EXPECT_EQ(one[0], '\0');
}

}  // namespace
}  // namespace gatehouse::sdk
