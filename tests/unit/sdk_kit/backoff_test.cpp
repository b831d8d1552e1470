// kit::Backoff (sequence, cap, reset, jitter bounds) and kit::StateReporter (a state reaches the
// host once per change, in order, also from several threads), with the fake host of
// tests/unit/sdk (fake_host.h).
#include "gatehouse/kit/backoff.h"

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::kit {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using sdk::PluginState;
using sdk::testing::FakeHost;

TEST(KitBackoff, DoublesFromMinUpToMaxAndResetsAfterSuccess) {
  Backoff b(100ms, 1s);
  EXPECT_EQ(b.peek(), 100ms);
  std::vector<ms> got;
  for (int i = 0; i < 7; ++i) got.push_back(b.next());
  EXPECT_EQ(got, (std::vector<ms>{100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms}));
  EXPECT_EQ(b.attempts(), 7u);
  b.reset();
  EXPECT_EQ(b.attempts(), 0u);
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
}

TEST(KitBackoff, CapIsExactAndNeverOverflows) {
  Backoff odd(3ms, 7ms);
  EXPECT_EQ(odd.next(), 3ms);
  EXPECT_EQ(odd.next(), 6ms);
  EXPECT_EQ(odd.next(), 7ms);
  Backoff big(1ms, std::chrono::hours(24 * 365));
  ms last{0};
  for (int i = 0; i < 200; ++i) last = big.next();
  EXPECT_EQ(last, std::chrono::hours(24 * 365));
}

TEST(KitBackoff, ClampsItsSettings) {
  Backoff zero(0ms, 0ms);
  EXPECT_EQ(zero.min(), 1ms);
  EXPECT_EQ(zero.max(), 1ms);
  EXPECT_EQ(zero.next(), 1ms);
  Backoff inverted(5s, 1s);   // max below min: min wins
  EXPECT_EQ(inverted.max(), 5s);
  EXPECT_EQ(inverted.next(), 5s);
  EXPECT_EQ(inverted.next(), 5s);
}

TEST(KitBackoff, JitterStaysWithinItsShareBelowTheDelay) {
  Backoff b(1000ms, 1000ms, 0.25);
  b.seed(42);
  std::set<ms::rep> seen;
  for (int i = 0; i < 1000; ++i) {
    const ms d = b.next();
    ASSERT_GE(d, 750ms);
    ASSERT_LE(d, 1000ms) << "never above the cap";
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 100u) << "the delays are spread, not one value";
  Backoff all(100ms, 100ms, 7.0);   // clamped to 1: anywhere in [0, d]
  all.seed(1);
  for (int i = 0; i < 100; ++i) EXPECT_LE(all.next(), 100ms);
  Backoff none(100ms, 100ms, -1.0);
  EXPECT_EQ(none.next(), 100ms);
}

TEST(KitStateReporter, ReportsOnlyChangesOfStateOrReason) {
  FakeHost fake;
  StateReporter r(fake.host());
  EXPECT_FALSE(r.last().has_value());
  EXPECT_TRUE(r.degraded("connecting to tcp://b:1883"));
  EXPECT_FALSE(r.degraded("connecting to tcp://b:1883"));
  EXPECT_FALSE(r.degraded("connecting to tcp://b:1883"));
  EXPECT_TRUE(r.degraded("cannot connect: TLS handshake failed")) << "a new reason is news";
  EXPECT_FALSE(r.degraded("cannot connect: TLS handshake failed"));
  EXPECT_TRUE(r.running("cannot connect: TLS handshake failed")) << "a new state is news";
  EXPECT_TRUE(r.running("connected"));
  EXPECT_TRUE(r.failed("gave up"));
  const auto statuses = fake.statuses();
  ASSERT_EQ(statuses.size(), 5u);
  EXPECT_EQ(statuses[0], std::make_pair(static_cast<std::uint32_t>(GH_STATE_DEGRADED), std::string("connecting to tcp://b:1883")));
  EXPECT_EQ(statuses[1].second, "cannot connect: TLS handshake failed");
  EXPECT_EQ(statuses[2].first, static_cast<std::uint32_t>(GH_STATE_RUNNING));
  EXPECT_EQ(statuses[4], std::make_pair(static_cast<std::uint32_t>(GH_STATE_FAILED), std::string("gave up")));
  ASSERT_TRUE(r.last().has_value());
  EXPECT_EQ(r.last()->state, PluginState::Failed);
  EXPECT_EQ(r.last()->message, "gave up");
}

TEST(KitStateReporter, AttachAndForgetSendTheNextReportAgain) {
  FakeHost fake;
  StateReporter r;   // unbound: nothing reaches any host, nothing crashes
  EXPECT_TRUE(r.running("before attach"));
  r.attach(fake.host());
  EXPECT_FALSE(r.last().has_value());
  EXPECT_TRUE(r.running("before attach"));
  EXPECT_FALSE(r.running("before attach"));
  r.forget();
  EXPECT_TRUE(r.running("before attach"));
  EXPECT_EQ(fake.statuses().size(), 2u);
}

// Several threads reporting at once: the host's view ends equal to the reporter's last state and
// never receives the same report twice in a row.
TEST(KitStateReporter, ConcurrentReportsReachTheHostInOrder) {
  FakeHost fake;
  StateReporter r(fake.host());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if ((i + t) % 3 == 0) r.running("up");
        else r.degraded("retrying " + std::to_string(i % 2));
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto statuses = fake.statuses();
  ASSERT_FALSE(statuses.empty());
  for (std::size_t i = 1; i < statuses.size(); ++i) ASSERT_NE(statuses[i], statuses[i - 1]) << "at " << i;
  ASSERT_TRUE(r.last().has_value());
  EXPECT_EQ(statuses.back().first, static_cast<std::uint32_t>(r.last()->state));
  EXPECT_EQ(statuses.back().second, r.last()->message);
}

}  // namespace
}  // namespace gatehouse::kit
