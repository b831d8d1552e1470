#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "model/model.h"

using namespace gatehouse::core;
using namespace gatehouse::core::model;

namespace {

ResourceDecl decl(std::string p, std::string s, std::string r, ValueType t = ValueType::Double) {
  ResourceDecl d;
  d.provider = std::move(p);
  d.service = std::move(s);
  d.resource = std::move(r);
  d.type = t;
  return d;
}

struct Captured {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<CommandResult>> result;
  CommandCallback callback() {
    return [this](Result<CommandResult> r) {
      std::lock_guard lock(mu);
      result.emplace(std::move(r));
      cv.notify_all();
    };
  }
};

// An owner that accepts every SET and answers ACTs with the sum of its int parameters.
class RecordingOwner : public CommandHandler {
 public:
  void onSet(const SetCommand& c, std::function<void(Result<Value>)> done) override {
    lastSet = c.value;
    ++sets;
    if (reject) return done(makeError(ErrorCode::BadRequest, "device refused"));
    done(c.value);
  }
  void onAct(const ActCommand& c, std::function<void(Result<Value>)> done) override {
    lastParams = c.params;
    std::int64_t sum = 0;
    for (const auto& p : c.params) sum += p.value.asInteger();
    done(Value::ofLong(sum));
  }
  Value lastSet;
  std::vector<NamedValue> lastParams;
  int sets = 0;
  bool reject = false;
};

}  // namespace

TEST(Model, PushCreatesProviderWithAdminServiceAndStoresValue) {
  Model m;
  ASSERT_TRUE(m.push("p1", "sensor", "temperature", Value::ofDouble(21.5), 1000).ok());
  auto r = m.resource("p1", "sensor", "temperature");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, Value::ofDouble(21.5));
  EXPECT_EQ(r->timestamp, 1000);
  EXPECT_EQ(r->kind, ResourceKind::Sensor);
  EXPECT_EQ(r->mutability, Mutability::Updatable);
  auto services = m.serviceNames("p1");
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, (std::vector<std::string>{"admin", "sensor"}));
  auto admin = m.resourceNames("p1", "admin");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(*admin, (std::vector<std::string>{"bridge", "description", "friendlyName", "lifecycleStatus", "location"}));
  EXPECT_EQ(m.resourceCount(), 6u);
  auto fn = m.resource("p1", "admin", "friendlyName");
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->value, Value::ofString("p1"));
  EXPECT_EQ(fn->mutability, Mutability::Modifiable);
}

TEST(Model, InvalidNamesAreRejectedAndNothingIsCreated) {
  Model m;
  EXPECT_FALSE(m.push("fresh", "s", "bad/name", Value::ofLong(1)).ok());
  EXPECT_TRUE(m.providerNames().empty());   // a refused push leaves no provider behind
  ASSERT_TRUE(m.push("p", "ok", "r", Value::ofLong(1)).ok());
  for (const char* bad : {"a/b", "x+", "#", "..\n", ""}) {
    auto r = m.push(bad, "s", "r", Value::ofLong(1));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
    EXPECT_FALSE(m.push("p", bad, "r", Value::ofLong(1)).ok()) << bad;
    EXPECT_FALSE(m.push("p", "s", bad, Value::ofLong(1)).ok()) << bad;
  }
  EXPECT_EQ(m.providerNames(), std::vector<std::string>{"p"});
  auto services = m.serviceNames("p");
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(*services, (std::vector<std::string>{"admin", "ok"}));
  EXPECT_GE(m.stats().rejectedUpdates, 16u);
}

TEST(Model, DeclaredTypeGovernsAndOlderUpdatesAreIgnored) {
  Model m;
  auto d = decl("p", "s", "count", ValueType::Int);
  d.unit = "items";
  ASSERT_TRUE(m.declareResource(d).ok());
  ASSERT_TRUE(m.push("p", "s", "count", Value::ofDouble(7.0), 2000).ok());   // integral double -> int
  EXPECT_FALSE(m.push("p", "s", "count", Value::ofString("x"), 3000).ok());
  EXPECT_FALSE(m.push("p", "s", "count", Value::ofDouble(7.5), 3000).ok());
  ASSERT_TRUE(m.push("p", "s", "count", Value::ofInt(1), 1000).ok());        // older: ignored
  auto r = m.resource("p", "s", "count");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, Value::ofInt(7));
  EXPECT_EQ(r->timestamp, 2000);
  ASSERT_EQ(r->metadata.size(), 1u);
  EXPECT_EQ(r->metadata[0].key, "unit");
  EXPECT_EQ(m.stats().staleUpdates, 1u);
}

TEST(Model, ReadsOfMissingThingsSayWhatIsMissing) {
  Model m;
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofLong(1)).ok());
  auto a = m.resource("q", "s", "r");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::NotFound);
  EXPECT_EQ(a.error().message, "provider not found: /q");
  auto b = m.resource("p", "x", "r");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "service not found: /p/x");
  auto c = m.resource("p", "s", "y");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "resource not found: /p/s/y");
}

TEST(Model, MetadataIsStoredAndNotified) {
  Model m;
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofLong(1)).ok());
  auto sub = m.subscribe({.kinds = static_cast<std::uint8_t>(NotificationKind::Metadata)});
  ASSERT_TRUE(m.setMetadata("p", "s", "r", "nickname", Value::ofString("kitchen")).ok());
  auto r = m.resource("p", "s", "r");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->metadata.size(), 1u);
  EXPECT_EQ(r->metadata[0].value, Value::ofString("kitchen"));
  std::vector<NotificationPtr> got;
  ASSERT_EQ(sub->drain(got, 10), 1u);
  EXPECT_EQ(got[0]->kind, NotificationKind::Metadata);
  EXPECT_EQ(got[0]->metadataKey, "nickname");
  EXPECT_FALSE(m.setMetadata("p", "s", "missing", "k", Value::ofLong(1)).ok());
}

TEST(Model, SubscribersGetDataWithOldAndNewValuesInOrder) {
  Model m;
  ASSERT_TRUE(m.declareResource(decl("p", "s", "r")).ok());
  std::atomic<int> wakes{0};
  SubscriptionSpec spec;
  spec.provider = "p";
  spec.service = "s";
  spec.resource = "r";
  spec.wake = [&] { ++wakes; };
  auto sub = m.subscribe(spec);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(m.push("p", "s", "r", Value::ofDouble(i), 1000 + i).ok());
  ASSERT_TRUE(m.push("p", "s", "other", Value::ofDouble(9)).ok());   // another resource: not delivered
  std::vector<NotificationPtr> got;
  EXPECT_EQ(sub->drain(got, 100), 5u);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(got[0]->oldValue.isNull());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i]->kind, NotificationKind::Data);
    EXPECT_EQ(got[i]->newValue, Value::ofDouble(i + 1));
    EXPECT_EQ(got[i]->timestamp, 1001 + i);
    if (i > 0) EXPECT_EQ(got[i]->oldValue, Value::ofDouble(i));
  }
  EXPECT_EQ(wakes.load(), 1);   // only the empty -> non-empty transition wakes the consumer
}

TEST(Model, SlowSubscriberIsBoundedCountedAndDoesNotSlowIngest) {
  Model m;
  SubscriptionSpec spec;
  spec.capacity = 8;
  auto slow = m.subscribe(spec);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(m.push("p", "s", "r", Value::ofLong(i), 1 + i).ok());
  EXPECT_EQ(slow->queued(), 8u);
  // 3 lifecycle notifications (provider, service, resource created) + 1000 data = 1003; 8 kept.
  EXPECT_EQ(slow->droppedTotal(), 995u);
  EXPECT_EQ(slow->takeDropped(), 995u);
  EXPECT_EQ(slow->takeDropped(), 0u);   // the lag signal is given once per drop run
  EXPECT_EQ(m.stats().notificationsDropped, 995u);
  auto r = m.resource("p", "s", "r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, Value::ofLong(999));   // ingest never waited for the subscriber
}

TEST(Model, CancelledAndDroppedSubscriptionsStopReceiving) {
  Model m;
  auto a = m.subscribe({});
  {
    auto b = m.subscribe({});
    EXPECT_EQ(m.stats().subscriptions, 2u);
  }
  EXPECT_EQ(m.stats().subscriptions, 1u);
  a->cancel();
  EXPECT_EQ(m.stats().subscriptions, 0u);
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofLong(1)).ok());
  EXPECT_EQ(a->queued(), 0u);
}

TEST(Model, PredicateAndKindMaskFilterNotifications) {
  Model m;
  SubscriptionSpec spec;
  spec.kinds = static_cast<std::uint8_t>(NotificationKind::Data);
  spec.predicate = [](const Notification& n) { return n.newValue.asDouble() > 10; };
  auto sub = m.subscribe(spec);
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofDouble(5), 1).ok());
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofDouble(15), 2).ok());
  std::vector<NotificationPtr> got;
  ASSERT_EQ(sub->drain(got, 10), 1u);
  EXPECT_EQ(got[0]->newValue, Value::ofDouble(15));
}

TEST(Model, LifecycleEventsOnCreateAndRemove) {
  Model m;
  SubscriptionSpec spec;
  spec.kinds = static_cast<std::uint8_t>(NotificationKind::Lifecycle);
  auto sub = m.subscribe(spec);
  ASSERT_TRUE(m.push("p", "s", "r", Value::ofLong(1)).ok());
  ASSERT_TRUE(m.removeService("p", "s").ok());
  ASSERT_TRUE(m.removeProvider("p").ok());
  EXPECT_FALSE(m.removeProvider("p").ok());
  std::vector<NotificationPtr> got;
  sub->drain(got, 10);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0]->lifecycle, LifecycleEvent::ProviderCreated);
  EXPECT_EQ(got[1]->lifecycle, LifecycleEvent::ServiceCreated);
  EXPECT_EQ(got[2]->lifecycle, LifecycleEvent::ResourceCreated);
  EXPECT_EQ(got[3]->lifecycle, LifecycleEvent::ServiceDeleted);
  EXPECT_EQ(got[4]->lifecycle, LifecycleEvent::ProviderDeleted);
  EXPECT_TRUE(m.providerNames().empty());
  EXPECT_EQ(m.resourceCount(), 0u);
}

TEST(Model, SetRulesAndRoutingToTheOwner) {
  Model m;
  auto owner = std::make_shared<RecordingOwner>();
  m.registerOwner("dev", owner);
  auto d = decl("p", "light", "brightness", ValueType::Int);
  d.mutability = Mutability::Modifiable;
  d.owner = "dev";
  ASSERT_TRUE(m.declareResource(d).ok());
  auto ro = decl("p", "light", "power");
  ro.owner = "dev";
  ASSERT_TRUE(m.declareResource(ro).ok());

  Captured ok;
  m.set("p", "light", "brightness", Value::ofLong(40), ok.callback());
  ASSERT_TRUE(ok.result.has_value());
  ASSERT_TRUE(ok.result->ok()) << ok.result->error().message;
  EXPECT_EQ((*ok.result)->value, Value::ofInt(40));
  EXPECT_EQ(owner->lastSet, Value::ofInt(40));   // coerced to the declared type before the owner sees it
  EXPECT_EQ(m.resource("p", "light", "brightness")->value, Value::ofInt(40));

  Captured notModifiable;
  m.set("p", "light", "power", Value::ofDouble(1), notModifiable.callback());
  ASSERT_FALSE(notModifiable.result->ok());
  EXPECT_EQ(notModifiable.result->error().code, ErrorCode::NotAllowed);

  Captured badType;
  m.set("p", "light", "brightness", Value::ofString("bright"), badType.callback());
  ASSERT_FALSE(badType.result->ok());
  EXPECT_EQ(badType.result->error().code, ErrorCode::BadRequest);
  EXPECT_EQ(owner->sets, 1);

  owner->reject = true;
  Captured refused;
  m.set("p", "light", "brightness", Value::ofLong(10), refused.callback());
  ASSERT_FALSE(refused.result->ok());
  EXPECT_EQ(m.resource("p", "light", "brightness")->value, Value::ofInt(40));   // unchanged

  m.unregisterOwner("dev");
  Captured gone;
  m.set("p", "light", "brightness", Value::ofLong(10), gone.callback());
  ASSERT_FALSE(gone.result->ok());
  EXPECT_EQ(gone.result->error().code, ErrorCode::Unavailable);

  // Admin properties have no owner: the model stores them itself.
  Captured admin;
  m.set("p", "admin", "friendlyName", Value::ofString("Kitchen"), admin.callback());
  ASSERT_TRUE(admin.result->ok());
  EXPECT_EQ(m.resource("p", "admin", "friendlyName")->value, Value::ofString("Kitchen"));

  Captured missing;
  m.set("p", "light", "nope", Value::ofLong(1), missing.callback());
  EXPECT_EQ(missing.result->error().code, ErrorCode::NotFound);
}

TEST(Model, ActValidatesParametersAndReturnsOwnersResult) {
  Model m;
  auto owner = std::make_shared<RecordingOwner>();
  m.registerOwner("dev", owner);
  auto d = decl("p", "calc", "add");
  d.kind = ResourceKind::Action;
  d.owner = "dev";
  d.resultType = ValueType::Long;
  d.params = {ActionParam{"a", ValueType::Int, false, 0.0, 10.0}, ActionParam{"b", ValueType::Int, true, {}, {}}};
  ASSERT_TRUE(m.declareResource(d).ok());
  auto sub = m.subscribe({.kinds = static_cast<std::uint8_t>(NotificationKind::Action)});

  Captured sum;
  m.act("p", "calc", "add", {{"b", Value::ofLong(3)}, {"a", Value::ofDouble(4.0)}}, sum.callback());
  ASSERT_TRUE(sum.result->ok()) << sum.result->error().message;
  EXPECT_EQ((*sum.result)->value, Value::ofLong(7));
  ASSERT_EQ(owner->lastParams.size(), 2u);
  EXPECT_EQ(owner->lastParams[0].name, "a");   // declared order
  EXPECT_EQ(owner->lastParams[0].value, Value::ofInt(4));
  std::vector<NotificationPtr> got;
  ASSERT_EQ(sub->drain(got, 10), 1u);
  EXPECT_EQ(got[0]->newValue, Value::ofLong(7));

  auto expectBad = [&](std::vector<NamedValue> params, const char* fragment) {
    Captured c;
    m.act("p", "calc", "add", std::move(params), c.callback());
    ASSERT_FALSE(c.result->ok());
    EXPECT_EQ(c.result->error().code, ErrorCode::BadRequest);
    EXPECT_NE(c.result->error().message.find(fragment), std::string::npos) << c.result->error().message;
  };
  expectBad({}, "missing parameter 'a'");
  expectBad({{"a", Value::ofLong(11)}}, "out of range");
  expectBad({{"a", Value::ofString("x")}}, "parameter 'a'");
  expectBad({{"a", Value::ofLong(1)}, {"zzz", Value::ofLong(1)}}, "unknown parameter 'zzz'");

  Captured onValue;
  ASSERT_TRUE(m.push("p", "calc", "x", Value::ofLong(1)).ok());
  m.act("p", "calc", "x", {}, onValue.callback());
  EXPECT_EQ(onValue.result->error().code, ErrorCode::NotAllowed);
  Captured setAction;
  m.set("p", "calc", "add", Value::ofLong(1), setAction.callback());
  EXPECT_EQ(setAction.result->error().code, ErrorCode::NotAllowed);
}

TEST(Model, ConcurrentWritersAndReadersLoseNothing) {
  Model m;
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 20000;
  SubscriptionSpec spec;
  spec.capacity = kWriters * kPerWriter + 100;
  spec.kinds = static_cast<std::uint8_t>(NotificationKind::Data);
  auto sub = m.subscribe(spec);
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (const auto& p : m.providers(Detail::Values)) (void)p;
        (void)m.resource("w0", "s", "r0");
        ++reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&m, w] {
      const std::string p = "w" + std::to_string(w % 2);   // two writers share each provider
      for (int i = 1; i <= kPerWriter; ++i) {
        ASSERT_TRUE(m.push(p, "s", "r" + std::to_string(w), Value::ofLong(i), i).ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(m.stats().updates, static_cast<std::uint64_t>(kWriters * kPerWriter));
  EXPECT_EQ(sub->queued(), static_cast<std::size_t>(kWriters * kPerWriter));
  EXPECT_EQ(sub->droppedTotal(), 0u);
  for (int w = 0; w < kWriters; ++w) {
    auto r = m.resource("w" + std::to_string(w % 2), "s", "r" + std::to_string(w));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value, Value::ofLong(kPerWriter));
  }
  EXPECT_GT(reads.load(), 0);
}

TEST(Model, DescribeIncludesActionParametersButNotValues) {
  Model m;
  auto d = decl("p", "light", "dim");
  d.kind = ResourceKind::Action;
  d.params = {ActionParam{"brightness", ValueType::Int, false, 0.0, 100.0}};
  ASSERT_TRUE(m.declareResource(d).ok());
  ASSERT_TRUE(m.push("p", "light", "level", Value::ofLong(3)).ok());
  auto s = m.service("p", "light", Detail::Describe);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->resources.size(), 2u);
  EXPECT_EQ(s->resources[0].name, "dim");
  ASSERT_EQ(s->resources[0].params.size(), 1u);
  EXPECT_EQ(s->resources[0].params[0].name, "brightness");
  EXPECT_EQ(s->resources[0].mutability, Mutability::Fixed);
  EXPECT_TRUE(s->resources[1].value.isNull());   // Describe carries no values
  auto v = m.service("p", "light", Detail::Values);
  EXPECT_EQ(v->resources[1].value, Value::ofLong(3));
}
