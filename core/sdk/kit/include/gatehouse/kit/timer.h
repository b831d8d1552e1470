#pragma once
// kit::Timer: one thread that runs scheduled callbacks at a time point, after a delay, or
// periodically, for a bridge's timeouts, polling and periodic reports (instead of a hand-written
// sleep loop per bridge).
//
//   kit::Timer timer;                                   // no thread until the first schedule
//   auto id = timer.scheduleAfter(5s, [this] { ... });  // once
//   timer.schedulePeriodic(1s, [this] { poll(); });     // every second
//   timer.cancel(id);
//   timer.stop();                                       // in Bridge::stop(): joins the thread
//
// Rules:
//   - callbacks run one at a time on the timer's thread, in time order (equal times in the order
//     they were scheduled), never while the timer's lock is held: a callback may schedule and
//     cancel tasks. A callback should be short: a slow one delays the tasks after it;
//   - a periodic task runs every `period` after its first run (fixed rate); when a run took
//     longer than the period the missed runs are skipped, not run in a burst;
//   - an exception leaving a callback is swallowed (it would end the thread and the gateway);
//     catch and report your own;
//   - a callback's captures are destroyed outside the lock too (a captured sdk::Request that
//     fails "dropped without an answer" calls the host).
//
// Threads: schedule*(), cancel() and size() may be called from any thread at once, including
// from a callback. stop(), start() and the destructor belong to one controlling thread (a
// bridge's start()/stop()); after stop() returns no callback is running and none will run, and
// scheduling is refused (returns 0) until start(). stop() called from a callback only stops the
// timer (it cannot wait for itself); the thread is joined by the next stop(), start() or the
// destructor, which must not run in a callback.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace gatehouse::kit {

class Timer {
 public:
  using Clock = std::chrono::steady_clock;
  using TaskId = std::uint64_t;   // 0 = not scheduled
  using Callback = std::function<void()>;

  Timer() = default;
  // The thread's name (kit/thread_name.h; top -H, /proc/PID/task/*/comm), at most 15 bytes.
  explicit Timer(std::string threadName) : threadName_(std::move(threadName)) {}
  ~Timer();   // stop()
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs fn once at `at` (at once when it is past). Returns the task's id, or 0 when the timer
  // is stopped or fn is empty.
  TaskId scheduleAt(Clock::time_point at, Callback fn);
  TaskId scheduleAfter(Clock::duration delay, Callback fn) { return scheduleAt(Clock::now() + delay, std::move(fn)); }
  // Runs fn every `period` (at least 1 ms), the first time one period from now.
  TaskId schedulePeriodic(Clock::duration period, Callback fn);

  // Removes a task: true when it was scheduled (a one-shot that had not started, or a periodic
  // one, which then does not run again). Does not wait for a run in progress.
  bool cancel(TaskId id);

  // Cancels every task and joins the thread. Idempotent.
  void stop();
  // Accepts tasks again after stop(). A new Timer is already started.
  void start();

  // Tasks waiting to run (a periodic task counts while scheduled).
  std::size_t size() const;

 private:
  struct Task {
    Callback fn;
    Clock::duration period{0};   // 0 = once
    Clock::time_point at;
  };
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<TaskId, Task> tasks_;
  std::set<std::pair<Clock::time_point, TaskId>> queue_;   // (when, id): time order, then FIFO
  TaskId nextId_ = 1;
  TaskId running_ = 0;               // the task whose callback runs now
  bool runningPeriodic_ = false;
  bool runningCancelled_ = false;    // cancel() or stop() was called during the run
  bool stopped_ = false;
  std::thread thread_;
  std::string threadName_ = "kit-timer";
  std::thread::id threadId_;
};

}  // namespace gatehouse::kit
