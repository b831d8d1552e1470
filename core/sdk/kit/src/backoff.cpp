#include "gatehouse/kit/backoff.h"

#include <algorithm>

namespace gatehouse::kit {

Backoff::Backoff(Duration min, Duration max, double jitter)
    : min_(std::max(min, Duration(1))),
      max_(std::max(max, min_)),
      jitter_(jitter > 0.0 ? std::min(jitter, 1.0) : 0.0),   // also maps NaN to 0
      current_(min_),
      rng_(std::random_device{}()) {}

Backoff::Duration Backoff::next() {
  Duration delay = current_;
  // Doubling stops at max, so it cannot overflow however many attempts fail.
  current_ = current_ > max_ / 2 ? max_ : std::min(current_ * 2, max_);
  ++attempts_;
  if (jitter_ > 0.0) {
    std::uniform_real_distribution<double> factor(1.0 - jitter_, 1.0);
    delay = Duration(static_cast<Duration::rep>(static_cast<double>(delay.count()) * factor(rng_)));
  }
  return delay;
}

void Backoff::reset() noexcept {
  current_ = min_;
  attempts_ = 0;
}

void StateReporter::attach(sdk::Host host) {
  std::lock_guard lock(mu_);
  host_ = host;
  last_.reset();
}

bool StateReporter::report(sdk::PluginState state, const std::string& message) {
  std::lock_guard lock(mu_);
  State next{state, message};
  if (last_ && *last_ == next) return false;
  host_.reportStatus(state, message);
  last_ = std::move(next);
  return true;
}

std::optional<StateReporter::State> StateReporter::last() const {
  std::lock_guard lock(mu_);
  return last_;
}

void StateReporter::forget() {
  std::lock_guard lock(mu_);
  last_.reset();
}

}  // namespace gatehouse::kit
