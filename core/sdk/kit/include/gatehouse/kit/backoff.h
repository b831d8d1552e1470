#pragma once
// What a bridge needs while a peer (a broker, a device, a server) is away: Backoff says when to
// try again, StateReporter tells the operator how the plugin is doing (GET
// /sensinact/runtime/plugins) without repeating itself on every retry.
//
// Threads: Backoff is a plain value with no lock: one owner (a retry thread), or guarded by the
// owner's lock. StateReporter may be called from any threads at once.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "gatehouse/sdk/host.h"

namespace gatehouse::kit {

// Exponential backoff: min, 2*min, 4*min, ... capped at max; reset() after a success starts again
// at min. With jitter j (0..1) each delay is drawn uniformly from [d*(1-j), d], so that many
// clients that lost the same peer do not all come back in the same millisecond; the cap is never
// exceeded.
class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  // min is at least 1 ms, max at least min, jitter is clamped to [0, 1]. The jitter's random
  // numbers come from std::random_device unless seed() fixes them (tests).
  Backoff(Duration min, Duration max, double jitter = 0.0);

  // The delay to wait before the next attempt; the one after it doubles (up to max).
  Duration next();
  // The delay next() would return without jitter, without advancing.
  Duration peek() const noexcept { return current_; }
  // After a success: the next delay is min again.
  void reset() noexcept;
  // next() calls since construction or the last reset().
  std::uint32_t attempts() const noexcept { return attempts_; }
  Duration min() const noexcept { return min_; }
  Duration max() const noexcept { return max_; }
  void seed(std::uint32_t seed) { rng_.seed(seed); }

 private:
  Duration min_;
  Duration max_;
  double jitter_;
  Duration current_;
  std::uint32_t attempts_ = 0;
  std::minstd_rand rng_;
};

// Reports the plugin's state (sdk::PluginState with a reason for the operator) through the Host
// only when it changed: the same state with the same reason is sent once, however often a
// retry loop reports it. A new reason in the same state is a change (it tells the operator
// something new: "connecting" -> "TLS handshake failed").
//
// The host call is made while holding this object's lock, so that reports reach the host in the
// order they were decided even from several threads; that is safe because Host::reportStatus
// only stores the state (abi.h: it never calls back into the plugin).
class StateReporter {
 public:
  struct State {
    sdk::PluginState state = sdk::PluginState::Degraded;
    std::string message;
    bool operator==(const State&) const = default;
  };

  StateReporter() = default;   // unbound until attach(): reports are remembered, not sent
  explicit StateReporter(sdk::Host host) : host_(host) {}
  StateReporter(const StateReporter&) = delete;
  StateReporter& operator=(const StateReporter&) = delete;

  // Binds the host (Bridge::host(), from configure() or start() on: it is not attached in the
  // bridge's constructor) and forgets the last report, so the next one is sent.
  void attach(sdk::Host host);

  // Sends (state, message) unless it equals the last one sent; true when sent.
  bool report(sdk::PluginState state, const std::string& message);
  bool running(const std::string& message) { return report(sdk::PluginState::Running, message); }
  bool degraded(const std::string& message) { return report(sdk::PluginState::Degraded, message); }
  bool failed(const std::string& message) { return report(sdk::PluginState::Failed, message); }

  // The last state sent, nullopt before the first one.
  std::optional<State> last() const;
  // The next report is sent even when it equals the last one.
  void forget();

 private:
  mutable std::mutex mu_;
  sdk::Host host_;
  std::optional<State> last_;
};

}  // namespace gatehouse::kit
