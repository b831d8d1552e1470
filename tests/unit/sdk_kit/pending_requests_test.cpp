// kit::PendingRequests: ids, take/takeIf/takeFirst, deadline sweeps, close + failAll on stop,
// concurrent use, and that no request is answered while its lock is held. Answers reach the fake
// host of tests/unit/sdk (fake_host.h) through real sdk::Request objects.
#include "gatehouse/kit/pending_requests.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::kit {
namespace {

using namespace std::chrono_literals;
using sdk::testing::FakeHost;
using Clock = std::chrono::steady_clock;

struct Wait {
  std::string topic;
};

std::optional<sdk::testing::RecordedCompletion> completionOf(const FakeHost& fake, gh_request_id id) {
  for (const auto& c : fake.completions())
    if (c.id == id) return c;
  return std::nullopt;
}

TEST(KitPendingRequests, IdsGrowFromOneAndTakeHandsTheEntryBackOnce) {
  FakeHost fake;
  PendingRequests<Wait> pending;
  const auto t0 = Clock::now();
  auto a = pending.add(sdk::Request(fake.host(), 101), t0 + 1h, Wait{"replies/a"});
  auto b = pending.add(sdk::Request(fake.host(), 102), 5s, Wait{"replies/b"});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(*b, 2u);
  EXPECT_EQ(pending.size(), 2u);

  auto e = pending.take(*b);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, 2u);
  EXPECT_EQ(e->request.id(), 102u);
  EXPECT_EQ(e->data.topic, "replies/b");
  EXPECT_EQ(e->timeoutMs(), 5000);
  EXPECT_FALSE(pending.take(*b).has_value()) << "taken once";
  EXPECT_FALSE(pending.take(99).has_value());
  EXPECT_EQ(pending.size(), 1u);
  EXPECT_TRUE(fake.completions().empty()) << "take() answers nothing: the caller does";
  e->request.complete(sdk::Value::ofInt(7));
  ASSERT_TRUE(completionOf(fake, 102).has_value());
  EXPECT_EQ(completionOf(fake, 102)->status, GH_OK);
}

TEST(KitPendingRequests, TakeIfAndTakeFirstMatchAndTakeTheOldest) {
  FakeHost fake;
  PendingRequests<Wait> pending;
  for (gh_request_id r = 1; r <= 4; ++r) {
    ASSERT_TRUE(pending.add(sdk::Request(fake.host(), r), 1h, Wait{r % 2 == 0 ? "ack/even" : "ack/odd"}).ok());
  }
  // takeIf: the entry stays when the predicate says no.
  EXPECT_FALSE(pending.takeIf(1, [](const auto& e) { return e.data.topic == "ack/even"; }).has_value());
  EXPECT_EQ(pending.size(), 4u);
  auto one = pending.takeIf(1, [](const auto& e) { return e.data.topic == "ack/odd"; });
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->request.id(), 1u);

  auto even = pending.takeFirst([](const auto& e) { return e.data.topic == "ack/even"; });
  ASSERT_TRUE(even.has_value());
  EXPECT_EQ(even->request.id(), 2u) << "the oldest waiting on that topic";
  even = pending.takeFirst([](const auto& e) { return e.data.topic == "ack/even"; });
  ASSERT_TRUE(even.has_value());
  EXPECT_EQ(even->request.id(), 4u);
  EXPECT_FALSE(pending.takeFirst([](const auto& e) { return e.data.topic == "ack/even"; }).has_value());
  EXPECT_EQ(pending.size(), 1u);
  one->request.complete();
  even->request.complete();
}

TEST(KitPendingRequests, SweepFailsOnlyWhatIsPastItsDeadlineWithTimeout) {
  FakeHost fake;
  PendingRequests<Wait> pending;
  const auto t0 = Clock::now();
  ASSERT_TRUE(pending.add(sdk::Request(fake.host(), 1), t0 + 10ms, Wait{"r/1"}).ok());
  ASSERT_TRUE(pending.add(sdk::Request(fake.host(), 2), t0 + 30ms, Wait{"r/2"}).ok());
  ASSERT_TRUE(pending.add(sdk::Request(fake.host(), 3), t0 + 1h, Wait{"r/3"}).ok());
  ASSERT_TRUE(pending.nextDeadline().has_value());
  EXPECT_EQ(*pending.nextDeadline(), t0 + 10ms);

  EXPECT_EQ(pending.sweep(t0 + 5ms), 0u);
  EXPECT_TRUE(fake.completions().empty());
  EXPECT_EQ(pending.sweep(t0 + 10ms), 1u) << "a deadline equal to now is due";
  auto c1 = completionOf(fake, 1);
  ASSERT_TRUE(c1.has_value());
  EXPECT_EQ(c1->status, GH_ERR_TIMEOUT);
  EXPECT_NE(c1->message.find("no answer within"), std::string::npos) << c1->message;
  EXPECT_EQ(*pending.nextDeadline(), t0 + 30ms);

  EXPECT_EQ(pending.sweep(t0 + 40ms, [](const auto& e) { return "the device did not answer on " + e.data.topic; }), 1u);
  auto c2 = completionOf(fake, 2);
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->status, GH_ERR_TIMEOUT);
  EXPECT_EQ(c2->message, "the device did not answer on r/2");
  EXPECT_FALSE(completionOf(fake, 3).has_value());
  EXPECT_EQ(pending.size(), 1u);

  // takeExpired hands the late ones back instead of answering them.
  auto late = pending.takeExpired(t0 + 2h);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].request.id(), 3u);
  EXPECT_FALSE(completionOf(fake, 3).has_value());
  EXPECT_FALSE(pending.nextDeadline().has_value());
  late[0].request.fail(GH_ERR_TIMEOUT, "mine");
}

TEST(KitPendingRequests, TheDefaultTimeoutMessageNamesTheTimeGiven) {
  FakeHost fake;
  PendingRequests<> pending;
  ASSERT_TRUE(pending.add(sdk::Request(fake.host(), 1), 250ms).ok());
  EXPECT_EQ(pending.sweep(Clock::now() + 1s), 1u);
  auto c = completionOf(fake, 1);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->message, "no answer within 250 ms");
}

TEST(KitPendingRequests, FailOneFailAllAndCloseOnStop) {
  FakeHost fake;
  PendingRequests<Wait> pending;
  for (gh_request_id r = 1; r <= 3; ++r) ASSERT_TRUE(pending.add(sdk::Request(fake.host(), r), 1h, Wait{"t"}).ok());
  EXPECT_TRUE(pending.fail(1, ErrorCode::Unavailable, "cannot publish"));
  EXPECT_FALSE(pending.fail(1, ErrorCode::Unavailable, "again")) << "no longer pending";
  ASSERT_TRUE(completionOf(fake, 1).has_value());
  EXPECT_EQ(completionOf(fake, 1)->status, GH_ERR_UNAVAILABLE);
  EXPECT_EQ(completionOf(fake, 1)->message, "cannot publish");

  pending.close();
  EXPECT_FALSE(pending.isOpen());
  sdk::Request late(fake.host(), 9);
  auto refused = pending.add(late, 1h);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::Unavailable);
  EXPECT_FALSE(late.answered()) << "a refused request is the caller's to answer";
  late.fail(GH_ERR_UNAVAILABLE, "stopping");

  EXPECT_EQ(pending.failAll(ErrorCode::Unavailable, [](const auto& e) { return "stopped before " + e.data.topic; }), 2u);
  EXPECT_EQ(pending.size(), 0u);
  for (gh_request_id r : {2u, 3u}) {
    auto c = completionOf(fake, r);
    ASSERT_TRUE(c.has_value()) << r;
    EXPECT_EQ(c->status, GH_ERR_UNAVAILABLE);
    EXPECT_EQ(c->message, "stopped before t");
  }
  EXPECT_EQ(pending.failAll(ErrorCode::Timeout, "nothing left"), 0u);

  pending.open();
  EXPECT_TRUE(pending.add(sdk::Request(fake.host(), 10), 1h).ok());
  EXPECT_EQ(pending.failAll(ErrorCode::Internal, "bye"), 1u);
  EXPECT_EQ(completionOf(fake, 10)->status, GH_ERR_INTERNAL);
}

// Many threads add and take their own requests while another sweeps and a third reads: every
// request is taken exactly once and nothing expires (deadlines are far away).
TEST(KitPendingRequests, ConcurrentAddAndTakeLoseNothing) {
  FakeHost fake;
  PendingRequests<int> pending;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> taken{0};
  std::atomic<int> wrongData{0};
  std::thread sweeper([&] {
    while (!done) {
      (void)pending.sweep();
      (void)pending.nextDeadline();
      (void)pending.size();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::uint64_t> mine;
      for (int i = 0; i < kPerThread; ++i) {
        const int tag = t * kPerThread + i;
        auto id = pending.add(sdk::Request(fake.host(), static_cast<gh_request_id>(tag + 1)), 1h, tag);
        if (!id.ok()) continue;
        mine.push_back(*id);
        if (i % 2 == 1) {   // take the previous one back now, the rest at the end
          auto e = pending.take(mine[mine.size() - 2]);
          if (e) {
            ++taken;
            if (e->data != tag - 1) ++wrongData;
            e->request.complete();
          }
          mine.erase(mine.end() - 2);
        }
      }
      for (auto id : mine) {
        if (auto e = pending.take(id)) {
          ++taken;
          e->request.complete();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  sweeper.join();
  EXPECT_EQ(taken.load(), kThreads * kPerThread);
  EXPECT_EQ(wrongData.load(), 0);
  EXPECT_EQ(pending.size(), 0u);
  const auto completions = fake.completions();
  ASSERT_EQ(completions.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<gh_request_id> ids;
  for (const auto& c : completions) {
    EXPECT_EQ(c.status, GH_OK);
    ids.insert(c.id);
  }
  EXPECT_EQ(ids.size(), completions.size()) << "each request answered exactly once";
}

// The answer of a request goes to the host, which may be slow or call back into the bridge; the
// lock must not be held then. The host's `complete` here checks from another thread whether the
// PendingRequests object is locked while it runs. The probe thread is detached and shares the
// object, so a lock held for good (by the very thread that waits) fails the test, not hangs it.
std::shared_ptr<PendingRequests<>> gProbed;
std::atomic<int> gAnswers{0};
std::atomic<int> gAnsweredUnderLock{0};

void probingComplete(gh_host*, gh_request_id, gh_status, const gh_value*, const char*) {
  ++gAnswers;
  auto done = std::make_shared<std::promise<void>>();
  auto answered = done->get_future();
  std::thread([probed = gProbed, done] {
    (void)probed->size();
    done->set_value();
  }).detach();
  if (answered.wait_for(2s) == std::future_status::timeout) ++gAnsweredUnderLock;
}

TEST(KitPendingRequests, NeverAnswersWhileHoldingItsLock) {
  FakeHost fake;
  gh_host_api api = *fake.api();
  api.complete = &probingComplete;
  const sdk::Host host(fake.handle(), &api);
  gProbed = std::make_shared<PendingRequests<>>();
  PendingRequests<>& pending = *gProbed;
  gAnswers = 0;
  gAnsweredUnderLock = 0;
  ASSERT_TRUE(pending.add(sdk::Request(host, 1), Clock::now()).ok());
  ASSERT_TRUE(pending.add(sdk::Request(host, 2), 1h).ok());
  ASSERT_TRUE(pending.add(sdk::Request(host, 3), 1h).ok());
  EXPECT_EQ(pending.sweep(Clock::now() + 1ms), 1u);
  EXPECT_TRUE(pending.fail(2, ErrorCode::Unavailable, "gone"));
  EXPECT_EQ(pending.failAll(ErrorCode::Unavailable, "stopped"), 1u);
  EXPECT_EQ(gAnswers.load(), 3);
  EXPECT_EQ(gAnsweredUnderLock.load(), 0);
  gProbed.reset();
}

}  // namespace
}  // namespace gatehouse::kit
