#include <gatehouse/sdk/host.h>

#include <cstddef>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::sdk {
namespace {

using testing::FakeHost;

TEST(SdkHost, DeclareResourceFillsTheAbiStruct) {
  FakeHost fake;
  Host host = fake.host();
  ResourceSpec spec;
  spec.provider = "lamp-1";
  spec.service = "light";
  spec.resource = "dim";
  spec.kind = ResourceKind::Action;
  spec.mutability = Mutability::Modifiable;
  spec.resultType = ValueType::String;
  spec.description = "Dim it";
  spec.providerModel = "lamp";
  spec.params = {ActionParam{"brightness", ValueType::Int, false, 0.0, 100.0},
                 ActionParam{"fade_ms", ValueType::Long, true, std::nullopt, std::nullopt}};
  ASSERT_TRUE(host.declareResource(spec).isOk());
  ASSERT_EQ(fake.declarations().size(), 1u);
  const auto d = fake.declarations()[0];
  EXPECT_EQ(d.structSize, sizeof(gh_resource_decl));
  EXPECT_EQ(d.kind, GH_KIND_ACTION);
  EXPECT_EQ(d.mutability, GH_MUTABILITY_MODIFIABLE);
  EXPECT_EQ(d.resultType, GH_TYPE_STRING);
  EXPECT_EQ(d.provider, "lamp-1");
  EXPECT_EQ(d.service, "light");
  EXPECT_EQ(d.resource, "dim");
  EXPECT_TRUE(d.unitNull);   // "" goes over as NULL ("none")
  EXPECT_EQ(d.description, "Dim it");
  EXPECT_EQ(d.providerModel, "lamp");
  ASSERT_EQ(d.params.size(), 2u);
  EXPECT_EQ(d.params[0].name, "brightness");
  EXPECT_EQ(d.params[0].type, GH_TYPE_INT);
  EXPECT_FALSE(d.params[0].optional);
  EXPECT_TRUE(d.params[0].hasMin && d.params[0].hasMax);
  EXPECT_DOUBLE_EQ(d.params[0].max, 100.0);
  EXPECT_TRUE(d.params[1].optional);
  EXPECT_FALSE(d.params[1].hasMin || d.params[1].hasMax);
}

TEST(SdkHost, PushAndTheOtherCallsReachTheHost) {
  FakeHost fake;
  Host host = fake.host();
  ASSERT_TRUE(host.declareProvider("p", "model-x").isOk());
  ASSERT_TRUE(host.push("p", "s", "r", Value::ofDouble(21.5), 1700000000000LL).isOk());
  ASSERT_TRUE(host.setMetadata("p", "s", "r", "quality", Value::ofString("good")).isOk());
  ASSERT_TRUE(host.removeProvider("p").isOk());
  host.reportStatus(PluginState::Degraded, "broker down");
  host.warn("retrying");
  EXPECT_EQ(fake.providers(), std::vector<std::string>{"p|model-x"});
  const auto pushes = fake.pushes();
  ASSERT_EQ(pushes.size(), 2u);
  EXPECT_EQ(pushes[0].value, Value::ofDouble(21.5));
  EXPECT_EQ(pushes[0].timestampMs, 1700000000000LL);
  EXPECT_EQ(pushes[1].resource, "r#quality");
  EXPECT_EQ(fake.removed(), std::vector<std::string>{"p"});
  ASSERT_EQ(fake.statuses().size(), 1u);
  EXPECT_EQ(fake.statuses()[0].first, GH_STATE_DEGRADED);
  EXPECT_EQ(fake.statuses()[0].second, "broker down");
  ASSERT_EQ(fake.logs().size(), 1u);
  EXPECT_EQ(fake.logs()[0].first, GH_LOG_WARN);
}

TEST(SdkHost, FailureCarriesTheHostsLastError) {
  FakeHost fake;
  fake.failPushes(GH_ERR_INVALID_ARGUMENT, "resource name 'a/b' is not an identifier");
  const Status s = fake.host().push("p", "s", "a/b", Value::ofInt(1));
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(s.message(), "push p/s/a/b: resource name 'a/b' is not an identifier");

  fake.failDeclarations(GH_ERR_CONFLICT, "");
  const Status d = fake.host().declareProvider("p");
  EXPECT_EQ(d.code(), GH_ERR_CONFLICT);
  EXPECT_EQ(d.message(), "declare provider p: conflict");   // no host text: the code's name
}

TEST(SdkHost, AnOlderHostsShorterTableIsNotReadPastItsEnd) {
  FakeHost fake;
  // A table that ends before `push`: push must not be called (it would be garbage in a real one).
  fake.setStructSize(static_cast<std::uint32_t>(offsetof(gh_host_api, push)));
  const Status s = fake.host().push("p", "s", "r", Value::ofInt(1));
  EXPECT_EQ(s.code(), GH_ERR_UNAVAILABLE);
  EXPECT_NE(s.message().find("does not offer push"), std::string::npos) << s.message();
  EXPECT_TRUE(fake.pushes().empty());
  EXPECT_TRUE(fake.host().declareProvider("p").isOk());   // members before the end still work
}

TEST(SdkHost, UnboundHostIsUnavailable) {
  Host host;
  EXPECT_FALSE(host.isBound());
  EXPECT_EQ(host.push("p", "s", "r", Value::ofInt(1)).code(), GH_ERR_UNAVAILABLE);
  EXPECT_EQ(host.declareResource(ResourceSpec{}).code(), GH_ERR_UNAVAILABLE);
  host.info("nobody listens");   // must not crash
}

}  // namespace
}  // namespace gatehouse::sdk
