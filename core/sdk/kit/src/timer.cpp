#include "gatehouse/kit/timer.h"
#include "gatehouse/kit/thread_name.h"

#include <algorithm>

namespace gatehouse::kit {

Timer::~Timer() { stop(); }

Timer::TaskId Timer::scheduleAt(Clock::time_point at, Callback fn) {
  if (!fn) return 0;
  std::lock_guard lock(mu_);
  if (stopped_) return 0;   // fn (a parameter) is destroyed after the lock is released
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
    threadId_ = thread_.get_id();
  }
  const TaskId id = nextId_++;
  queue_.emplace(at, id);
  tasks_.emplace(id, Task{std::move(fn), Clock::duration::zero(), at});
  cv_.notify_all();
  return id;
}

Timer::TaskId Timer::schedulePeriodic(Clock::duration period, Callback fn) {
  if (!fn) return 0;
  period = std::max<Clock::duration>(period, std::chrono::milliseconds(1));
  std::lock_guard lock(mu_);
  if (stopped_) return 0;
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
    threadId_ = thread_.get_id();
  }
  const TaskId id = nextId_++;
  const auto at = Clock::now() + period;
  queue_.emplace(at, id);
  tasks_.emplace(id, Task{std::move(fn), period, at});
  cv_.notify_all();
  return id;
}

bool Timer::cancel(TaskId id) {
  Callback dropped;   // declared before the lock: destroyed after it is released
  std::lock_guard lock(mu_);
  auto it = tasks_.find(id);
  if (it != tasks_.end()) {
    queue_.erase({it->second.at, id});
    dropped = std::move(it->second.fn);
    tasks_.erase(it);
    return true;
  }
  if (id != 0 && id == running_ && !runningCancelled_) {
    runningCancelled_ = true;   // a periodic task is not put back after this run
    return runningPeriodic_;
  }
  return false;
}

std::size_t Timer::size() const {
  std::lock_guard lock(mu_);
  return tasks_.size() + (running_ != 0 && runningPeriodic_ && !runningCancelled_ ? 1 : 0);
}

void Timer::stop() {
  std::map<TaskId, Task> dropped;   // destroyed last, outside the lock
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    dropped.swap(tasks_);
    queue_.clear();
    if (running_ != 0) runningCancelled_ = true;
    // From a callback the thread cannot join itself: it ends once the callback returns and is
    // joined by the next stop()/start() or the destructor.
    if (thread_.joinable() && std::this_thread::get_id() != threadId_) worker = std::move(thread_);
  }
  cv_.notify_all();
  if (worker.joinable()) worker.join();
}

void Timer::start() {
  std::thread old;
  {
    std::lock_guard lock(mu_);
    if (!stopped_) return;
    if (thread_.joinable() && std::this_thread::get_id() != threadId_) old = std::move(thread_);
  }
  // A thread left by stop() from a callback must have ended before the timer runs again, or two
  // threads would take tasks.
  if (old.joinable()) old.join();
  std::lock_guard lock(mu_);
  stopped_ = false;
}

void Timer::run() {
  setThreadName(threadName_);
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto [at, id] = *queue_.begin();
    if (Clock::now() < at) {
      cv_.wait_until(lock, at);   // woken early by an earlier task, cancel() or stop()
      continue;
    }
    queue_.erase(queue_.begin());
    auto node = tasks_.extract(id);
    if (node.empty()) continue;
    Task task = std::move(node.mapped());
    const bool periodic = task.period > Clock::duration::zero();
    running_ = id;
    runningPeriodic_ = periodic;
    runningCancelled_ = false;
    lock.unlock();
    try {
      task.fn();
    } catch (...) {
      // A throwing callback must not end the timer thread (std::terminate would take the
      // gateway down); the callback reports its own failures.
    }
    lock.lock();
    running_ = 0;
    runningPeriodic_ = false;
    if (periodic && !runningCancelled_ && !stopped_) {
      const auto now = Clock::now();
      task.at += task.period;
      if (task.at < now) task.at = now + task.period;   // fell behind: skip, do not burst
      queue_.emplace(task.at, id);
      tasks_.emplace(id, std::move(task));
      continue;
    }
    // Done with this task: its captures are destroyed outside the lock.
    lock.unlock();
    task.fn = nullptr;
    lock.lock();
  }
}

}  // namespace gatehouse::kit
