// kit::Timer: time order (FIFO for equal times), cancel, periodic (fixed rate, cancel from its own
// callback), stop joins and nothing runs after it, restart, callbacks free to use the timer, a
// throwing callback, and no callback or capture destructor run under the timer's lock.
#include "gatehouse/kit/timer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace gatehouse::kit {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What the callbacks did, for the test thread to wait on.
class Log {
 public:
  void add(std::string what) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(what));
    cv_.notify_all();
  }
  bool waitFor(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entries_.size() >= n; });
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> entries_;
};

// True when timer->size(), called on another thread, cannot take the timer's lock within 2 s. The
// probe thread is detached and shares the timer, so a lock that is held for good (the failure
// this detects, e.g. by the very thread that waits here) fails the test instead of hanging it.
bool lockedNow(const std::shared_ptr<Timer>& timer) {
  auto done = std::make_shared<std::promise<void>>();
  auto answered = done->get_future();
  std::thread([timer, done] {
    (void)timer->size();
    done->set_value();
  }).detach();
  return answered.wait_for(2s) == std::future_status::timeout;
}

TEST(KitTimer, RunsTasksInTimeOrderAndEqualTimesInScheduleOrder) {
  Timer timer;
  Log log;
  const auto t0 = Clock::now();
  ASSERT_NE(timer.scheduleAt(t0 + 60ms, [&] { log.add("c"); }), 0u);
  ASSERT_NE(timer.scheduleAt(t0 + 20ms, [&] { log.add("a"); }), 0u);
  ASSERT_NE(timer.scheduleAt(t0 + 40ms, [&] { log.add("b1"); }), 0u);
  ASSERT_NE(timer.scheduleAt(t0 + 40ms, [&] { log.add("b2"); }), 0u);
  ASSERT_NE(timer.scheduleAt(t0 - 1s, [&] { log.add("past"); }), 0u);   // due already: runs at once
  ASSERT_TRUE(log.waitFor(5));
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"past", "a", "b1", "b2", "c"}));
  EXPECT_GE(Clock::now() - t0, 60ms) << "not before its time";
  EXPECT_EQ(timer.size(), 0u);
}

TEST(KitTimer, CancelledTasksDoNotRun) {
  Timer timer;
  Log log;
  const auto dropped = timer.scheduleAfter(20ms, [&] { log.add("cancelled"); });
  ASSERT_NE(dropped, 0u);
  EXPECT_EQ(timer.size(), 1u);
  EXPECT_TRUE(timer.cancel(dropped));
  EXPECT_FALSE(timer.cancel(dropped)) << "already cancelled";
  EXPECT_FALSE(timer.cancel(0));
  EXPECT_FALSE(timer.cancel(12345));
  timer.scheduleAfter(60ms, [&] { log.add("marker"); });   // runs after the cancelled one's time
  ASSERT_TRUE(log.waitFor(1));
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"marker"}));
  const auto ran = timer.scheduleAfter(0ms, [&] { log.add("ran"); });
  ASSERT_TRUE(log.waitFor(2));
  EXPECT_FALSE(timer.cancel(ran)) << "a one-shot that ran is gone";
}

TEST(KitTimer, PeriodicRunsAtItsRateUntilCancelledFromItsOwnCallback) {
  Timer timer;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Clock::time_point> runs;
  std::atomic<Timer::TaskId> id{0};
  const auto t0 = Clock::now();
  id = timer.schedulePeriodic(15ms, [&] {
    std::lock_guard lock(mu);
    runs.push_back(Clock::now());
    if (runs.size() == 5) {
      EXPECT_TRUE(timer.cancel(id)) << "a running periodic task can cancel itself";
    }
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);   // id is written before the first run (15 ms away)
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return runs.size() >= 5; }));
  }
  Log log;
  timer.scheduleAfter(60ms, [&] { log.add("after"); });   // four periods later
  ASSERT_TRUE(log.waitFor(1));
  std::lock_guard lock(mu);
  ASSERT_EQ(runs.size(), 5u) << "no run after cancel";
  EXPECT_GE(runs[0] - t0, 15ms) << "the first run is one period away";
  EXPECT_GE(runs[4] - t0, 75ms) << "fixed rate: five periods for five runs";
  EXPECT_EQ(timer.size(), 0u);
}

TEST(KitTimer, StopWaitsForARunningCallbackAndNothingRunsAfterIt) {
  Timer timer;
  std::atomic<bool> started{false}, finished{false}, late{false};
  timer.scheduleAfter(0ms, [&] {
    started = true;
    std::this_thread::sleep_for(100ms);   // still running when stop() is called
    finished = true;
  });
  timer.scheduleAfter(30ms, [&] { late = true; });
  timer.schedulePeriodic(1ms, [&] { late = true; });
  while (!started) std::this_thread::yield();
  timer.stop();
  EXPECT_TRUE(finished) << "stop() returned while a callback was still running";
  EXPECT_EQ(timer.size(), 0u);
  EXPECT_EQ(timer.scheduleAfter(0ms, [&] { late = true; }), 0u) << "refused after stop";
  EXPECT_EQ(timer.schedulePeriodic(1ms, [&] { late = true; }), 0u);
  // Nothing can run any more (the thread is joined); give a wrong implementation the chance to.
  std::this_thread::sleep_for(60ms);
  EXPECT_FALSE(late);
  timer.stop();   // idempotent
}

TEST(KitTimer, StartsAgainAfterStop) {
  Timer timer;
  Log log;
  timer.scheduleAfter(0ms, [&] { log.add("first"); });
  ASSERT_TRUE(log.waitFor(1));
  timer.stop();
  timer.start();
  ASSERT_NE(timer.scheduleAfter(0ms, [&] { log.add("second"); }), 0u);
  ASSERT_TRUE(log.waitFor(2));
}

TEST(KitTimer, CallbacksMayUseTheTimerAndAThrowDoesNotStopIt) {
  Timer timer;
  Log log;
  timer.scheduleAfter(0ms, [&] {
    const auto inner = timer.scheduleAfter(1h, [&] { log.add("never"); });
    EXPECT_EQ(timer.size(), 1u);
    EXPECT_TRUE(timer.cancel(inner));
    timer.scheduleAfter(0ms, [&] { log.add("scheduled from a callback"); });
    throw std::runtime_error("a bug in a callback");
  });
  ASSERT_TRUE(log.waitFor(1)) << "the timer died with the exception";
  timer.scheduleAfter(0ms, [&] { log.add("still running"); });
  ASSERT_TRUE(log.waitFor(2));
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"scheduled from a callback", "still running"}));
}

TEST(KitTimer, StopFromACallbackStopsWithoutDeadlock) {
  Timer timer;
  Log log;
  timer.scheduleAfter(0ms, [&] {
    timer.stop();
    log.add("stopped");
  });
  timer.scheduleAfter(20ms, [&] { log.add("too late"); });
  ASSERT_TRUE(log.waitFor(1));
  timer.stop();   // joins the thread that stopped itself
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"stopped"}));
  timer.start();
  timer.scheduleAfter(0ms, [&] { log.add("again"); });
  ASSERT_TRUE(log.waitFor(2));
}

// Callbacks and the destructors of their captures run without the timer's lock: each probes the
// timer from another thread while it runs.
TEST(KitTimer, NeitherCallbacksNorCaptureDestructorsRunUnderItsLock) {
  auto shared = std::make_shared<Timer>();
  Timer& timer = *shared;
  Log probes;
  std::atomic<int> underLock{0};
  auto probe = [&](const char* where) {
    if (lockedNow(shared)) ++underLock;
    probes.add(where);
  };
  struct OnDestroy {
    std::function<void()> fn;
    ~OnDestroy() {
      if (fn) fn();
    }
  };
  auto capture = [&](const char* where) {
    auto c = std::make_shared<OnDestroy>();
    c->fn = [=] { probe(where); };
    return c;
  };
  timer.scheduleAfter(0ms, [&probe, c = capture("ran: capture")] { probe("ran: callback"); });
  ASSERT_TRUE(probes.waitFor(2)) << "the one-shot's capture is released after its callback";
  const auto id = timer.scheduleAfter(1h, [c = capture("cancelled: capture")] {});
  EXPECT_TRUE(timer.cancel(id));   // releases the capture on this thread
  timer.scheduleAfter(1h, [c = capture("stopped: capture")] {});
  timer.stop();                    // and this one
  EXPECT_EQ(probes.entries(), (std::vector<std::string>{"ran: callback", "ran: capture", "cancelled: capture",
                                                         "stopped: capture"}));
  EXPECT_EQ(underLock.load(), 0);
}

}  // namespace
}  // namespace gatehouse::kit
