#pragma once
// kit::PendingRequests<T>: the SET/ACT requests a bridge forwarded to a device and still waits
// for, each with a deadline and the bridge's own data T (where the answer comes from, how to
// read it). The bridge adds a request when it sends the command, takes it back by id (or by a
// predicate) when the answer arrives, sweeps the expired ones from a timer (timer.h), and
// fails whatever is left when it stops.
//
//   struct Waiting { std::string replyTopic; };
//   kit::PendingRequests<Waiting> pending;
//   auto id = pending.add(request, 5s, Waiting{topic});        // id: correlation data on the wire
//   if (!id) { request.fail(kit::toStatus(id.error())); return; }
//   ...answer arrives:  if (auto e = pending.take(*id)) e->request.complete(value);
//   ...timer:           pending.sweep();                         // GH_ERR_TIMEOUT for the late ones
//   ...Bridge::stop():  pending.close(); pending.failAll(kit::ErrorCode::Unavailable, "stopped");
//
// Ids start at 1 and grow in the order of add(), so they are unique for the object's life and
// "the oldest waiting" is the smallest id (takeFirst()).
//
// Threads: every method may be called from any thread at once. No request is answered (and no
// caller function is run, except takeFirst's and takeIf's predicate) while the object's lock is
// held: take*() hand the request back and the caller answers it; sweep(), fail() and failAll()
// answer after releasing the lock. The predicates run under the lock: keep them to a comparison.
//
// Ownership: the object holds a copy of each sdk::Request (copies share one state) until it is
// taken or failed. Requests must be answered before the Bridge is destroyed: failAll() in stop().

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gatehouse/kit/result.h"
#include "gatehouse/sdk/request.h"

namespace gatehouse::kit {

template <typename T = std::monostate>
class PendingRequests {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    std::uint64_t id = 0;
    sdk::Request request;
    T data{};
    Clock::time_point added{};
    Clock::time_point deadline{};
    // The time the request was given: deadline - added, in ms (for timeout messages).
    std::int64_t timeoutMs() const {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - added).count();
    }
  };
  // Builds the message of a request failed by sweep() or failAll().
  using Describe = std::function<std::string(const Entry&)>;

  PendingRequests() = default;
  PendingRequests(const PendingRequests&) = delete;
  PendingRequests& operator=(const PendingRequests&) = delete;

  // Registers `request` until `deadline`; returns its id. After close() it is refused with
  // Unavailable and `request` is left alone (the caller answers it).
  Result<std::uint64_t> add(sdk::Request request, Clock::time_point deadline, T data = T{}) {
    return addAt(std::move(request), Clock::now(), deadline, std::move(data));
  }
  // The same with deadline = now + timeout (Entry::timeoutMs() is then exactly `timeout`).
  Result<std::uint64_t> add(sdk::Request request, std::chrono::milliseconds timeout, T data = T{}) {
    const auto now = Clock::now();
    return addAt(std::move(request), now, now + timeout, std::move(data));
  }

  // Removes and returns the entry `id`; nullopt when it is not (or no longer) pending.
  std::optional<Entry> take(std::uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    return removeLocked(it);
  }
  // take(id), but only when pred(entry) is true (e.g. the answer came the way it expects).
  template <typename Pred>
  std::optional<Entry> takeIf(std::uint64_t id, Pred pred) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !pred(static_cast<const Entry&>(it->second))) return std::nullopt;
    return removeLocked(it);
  }
  // Removes and returns the oldest entry for which pred(entry) is true (answers that carry no
  // id answer the oldest request waiting for them).
  template <typename Pred>
  std::optional<Entry> takeFirst(Pred pred) {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (pred(static_cast<const Entry&>(it->second))) return removeLocked(it);
    }
    return std::nullopt;
  }

  // Fails the request `id` (when still pending) with code and message; true when it did.
  bool fail(std::uint64_t id, ErrorCode code, const std::string& message) {
    auto e = take(id);
    if (!e) return false;
    return e->request.fail(toGhStatus(code), message);
  }
  bool fail(std::uint64_t id, const Error& error) { return fail(id, error.code, error.message); }

  // Removes and returns every entry whose deadline is at or before `now`, oldest deadline first.
  std::vector<Entry> takeExpired(Clock::time_point now = Clock::now()) {
    std::vector<Entry> out;
    std::lock_guard lock(mu_);
    while (!byDeadline_.empty() && byDeadline_.begin()->first <= now) {
      auto it = entries_.find(byDeadline_.begin()->second);
      out.push_back(removeLocked(it));
    }
    return out;
  }
  // Fails every expired entry with GH_ERR_TIMEOUT and describe(entry), by default "no answer
  // within N ms". Returns how many it failed.
  std::size_t sweep(Clock::time_point now = Clock::now(), const Describe& describe = {}) {
    auto expired = takeExpired(now);
    for (auto& e : expired) {
      e.request.fail(GH_ERR_TIMEOUT, describe ? describe(e) : "no answer within " + std::to_string(e.timeoutMs()) + " ms");
    }
    return expired.size();
  }
  // The earliest deadline, nullopt when nothing is pending (to schedule the next sweep).
  std::optional<Clock::time_point> nextDeadline() const {
    std::lock_guard lock(mu_);
    if (byDeadline_.empty()) return std::nullopt;
    return byDeadline_.begin()->first;
  }

  // Fails every pending request with code and message (or describe(entry)); returns how many.
  std::size_t failAll(ErrorCode code, const std::string& message) {
    return failAll(code, [&message](const Entry&) { return message; });
  }
  std::size_t failAll(ErrorCode code, const Describe& describe) {
    std::map<std::uint64_t, Entry> all;
    {
      std::lock_guard lock(mu_);
      all.swap(entries_);
      byDeadline_.clear();
    }
    for (auto& [id, e] : all) e.request.fail(toGhStatus(code), describe(e));
    return all.size();
  }

  // Refuses add() from now on (Bridge::stop(): then failAll()); open() accepts again.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void open() {
    std::lock_guard lock(mu_);
    closed_ = false;
  }
  bool isOpen() const {
    std::lock_guard lock(mu_);
    return !closed_;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  using Map = std::map<std::uint64_t, Entry>;
  Result<std::uint64_t> addAt(sdk::Request request, Clock::time_point now, Clock::time_point deadline, T data) {
    std::lock_guard lock(mu_);
    if (closed_) return Error{ErrorCode::Unavailable, "not accepting requests: stopped"};
    const std::uint64_t id = nextId_++;
    byDeadline_.emplace(deadline, id);
    entries_.emplace(id, Entry{id, std::move(request), std::move(data), now, deadline});
    return id;
  }
  Entry removeLocked(typename Map::iterator it) {
    byDeadline_.erase({it->second.deadline, it->first});
    Entry e = std::move(it->second);
    entries_.erase(it);
    return e;
  }

  mutable std::mutex mu_;
  Map entries_;                                               // by id = oldest first
  std::set<std::pair<Clock::time_point, std::uint64_t>> byDeadline_;
  std::uint64_t nextId_ = 1;
  bool closed_ = false;
};

}  // namespace gatehouse::kit
