// bench/push_throughput: Model::push() updates per second from one thread (TESTING.md "Measuring").
//
// Floor: at least 1,000,000 updates/s with no subscriber attached (median of the runs).
// 1000 double resources are declared (10 providers x 100), then N updates are pushed round-robin
// with increasing timestamps. Informational, alternated with the floor runs so that all three see
// the same machine noise: the rate with one exact subscriber (one resource) and with one wildcard
// subscriber (every update queued), each with a 1024-entry queue drained by a second thread.
//
// The program also checks that the model counted every update (no stale, no rejected), so a push
// that silently does nothing cannot pass.
//
// Usage: push_throughput [--updates N] [--runs R]   exit 0 = floor met, 1 = missed, 2 = error.
//
// Threads: main thread pushes; one drainer thread per subscribed scenario.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"

namespace {

namespace model = gatehouse::core::model;

constexpr int kProviders = 10;
constexpr int kResourcesPerProvider = 100;
constexpr double kFloorUpdatesPerSecond = 1'000'000.0;

// Empties a subscription whenever the model signals it went non-empty.
class Drainer {
 public:
  void wake() {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }
  void start(model::SubscriptionPtr sub) {
    sub_ = std::move(sub);
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (sub_) sub_->cancel();
  }
  std::uint64_t drained() const { return drained_; }   // after stop()
  std::uint64_t dropped() const { return sub_ ? sub_->droppedTotal() : 0; }

 private:
  void run() {
    std::vector<model::NotificationPtr> out;
    out.reserve(1024);
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return pending_ || stop_; });
        if (stop_ && !pending_) break;
        pending_ = false;
      }
      // The wake only fires on empty -> non-empty, so drain until empty.
      while (sub_->drain(out, 1024) > 0) {
        drained_ += out.size();
        out.clear();
      }
    }
    while (sub_->drain(out, 1024) > 0) {
      drained_ += out.size();
      out.clear();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  model::SubscriptionPtr sub_;
  std::thread thread_;
  std::uint64_t drained_ = 0;
};

enum class Scenario { NoSubscriber, ExactSubscriber, WildcardSubscriber };
const char* name(Scenario s) {
  switch (s) {
    case Scenario::NoSubscriber: return "no subscriber";
    case Scenario::ExactSubscriber: return "1 exact subscriber";
    case Scenario::WildcardSubscriber: return "1 wildcard subscriber";
  }
  return "?";
}

struct Target {
  std::string provider, resource;
};

class Bench {
 public:
  Bench() {
    for (int p = 0; p < kProviders; ++p) {
      for (int r = 0; r < kResourcesPerProvider; ++r) {
        // Appending (not "r" + to_string) sidesteps GCC 12's false -Wrestrict on operator+.
        Target t{"bench-provider-", "r"};
        t.provider.append(std::to_string(p));
        t.resource.append(std::to_string(r));
        targets_.push_back(std::move(t));
      }
    }
  }

  bool declare() {
    for (const Target& t : targets_) {
      model::ResourceDecl d;
      d.provider = t.provider;
      d.service = std::string("s");
      d.resource = t.resource;
      d.type = model::ValueType::Double;
      if (auto ok = model_.declareResource(d); !ok) {
        std::fprintf(stderr, "declareResource %s/s/%s failed: %s\n", t.provider.c_str(), t.resource.c_str(),
                     ok.error().message.c_str());
        return false;
      }
    }
    return true;
  }

  // Returns updates/s, or a negative number on error.
  double run(Scenario scenario, std::uint64_t updates, std::uint64_t& drained, std::uint64_t& dropped) {
    Drainer drainer;
    model::SubscriptionPtr sub;
    if (scenario != Scenario::NoSubscriber) {
      model::SubscriptionSpec spec;
      if (scenario == Scenario::ExactSubscriber) {
        spec.provider = targets_[0].provider;
        spec.service = std::string("s");
        spec.resource = targets_[0].resource;
      }
      spec.kinds = static_cast<std::uint8_t>(model::NotificationKind::Data);
      spec.capacity = 1024;
      spec.wake = [&drainer] { drainer.wake(); };
      sub = model_.subscribe(std::move(spec));
      if (!sub) {
        std::fprintf(stderr, "subscribe failed\n");
        return -1;
      }
      drainer.start(sub);
    }

    const model::ModelStats before = model_.stats();
    const std::size_t n = targets_.size();
    std::uint64_t failures = 0;
    std::size_t i = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t k = 0; k < updates; ++k) {
      const Target& t = targets_[i];
      // Each resource sees strictly increasing timestamps across all runs, so none is stale.
      ++timestamp_;
      if (!model_.push(t.provider, "s", t.resource, model::Value::ofDouble(double(k & 1023) * 0.5), timestamp_)) {
        ++failures;
      }
      if (++i == n) i = 0;
    }
    const auto t1 = std::chrono::steady_clock::now();
    const model::ModelStats after = model_.stats();
    if (scenario != Scenario::NoSubscriber) drainer.stop();
    drained = drainer.drained();
    dropped = drainer.dropped();
    sub.reset();

    const std::uint64_t accepted = after.updates - before.updates;
    if (failures != 0 || accepted != updates || after.staleUpdates != before.staleUpdates) {
      std::fprintf(stderr, "push_throughput: %llu failures, %llu of %llu updates accepted, %llu stale\n",
                   (unsigned long long)failures, (unsigned long long)accepted, (unsigned long long)updates,
                   (unsigned long long)(after.staleUpdates - before.staleUpdates));
      return -1;
    }
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    return double(updates) / seconds;
  }

 private:
  model::Model model_;
  std::vector<Target> targets_;
  std::int64_t timestamp_ = 1'700'000'000'000;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t updates = 5'000'000;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--updates") == 0 && i + 1 < argc) {
      updates = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: push_throughput [--updates N] [--runs R]\n");
      return 2;
    }
  }
  if (runs < 1 || updates < 1) return 2;
#if defined(__SANITIZE_ADDRESS__)
  std::printf("WARNING: built with AddressSanitizer; numbers are not representative\n");
#endif

  Bench bench;
  if (!bench.declare()) return 2;

  const Scenario scenarios[] = {Scenario::NoSubscriber, Scenario::ExactSubscriber, Scenario::WildcardSubscriber};
  std::vector<double> rates[3];
  std::uint64_t drainedTotal[3] = {}, droppedTotal[3] = {};

  // Warm-up (caches, allocator), not counted.
  {
    std::uint64_t d = 0, x = 0;
    if (bench.run(Scenario::NoSubscriber, std::min<std::uint64_t>(updates, 1'000'000), d, x) < 0) return 2;
  }

  std::printf("push_throughput: %d providers x %d resources, %llu double updates per run, %d alternated runs\n",
              kProviders, kResourcesPerProvider, (unsigned long long)updates, runs);
  for (int r = 1; r <= runs; ++r) {
    for (int s = 0; s < 3; ++s) {
      std::uint64_t drained = 0, dropped = 0;
      const double rate = bench.run(scenarios[s], updates, drained, dropped);
      if (rate < 0) return 2;
      rates[s].push_back(rate);
      drainedTotal[s] += drained;
      droppedTotal[s] += dropped;
      std::printf("  run %d %-22s %12.0f updates/s  (drained %llu, dropped %llu)\n", r, name(scenarios[s]), rate,
                  (unsigned long long)drained, (unsigned long long)dropped);
    }
  }

  const double base = median(rates[0]);
  std::printf("\nmedians:\n");
  for (int s = 0; s < 3; ++s) {
    const double m = median(rates[s]);
    std::printf("  %-22s %12.0f updates/s  (%.2fx of no subscriber; notifications drained %llu, dropped %llu)\n",
                name(scenarios[s]), m, m / base, (unsigned long long)drainedTotal[s],
                (unsigned long long)droppedTotal[s]);
  }
  const bool ok = base >= kFloorUpdatesPerSecond;
  if (!ok) std::printf("FAIL: %.0f updates/s < %.0f\n", base, kFloorUpdatesPerSecond);
  std::printf("%s: push_throughput (floor: >= %.0f updates/s, no subscriber, one thread)\n", ok ? "PASS" : "FAIL",
              kFloorUpdatesPerSecond);
  return ok ? 0 : 1;
}
