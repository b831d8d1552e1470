#pragma once
// gatehouse::sdk::Request: one SET or ACT awaiting its answer.
//
// Answer it exactly once with complete() or fail(), now or later, from any thread. Copies are the
// same request (shared state), so a Request can be captured by value in a std::function, queued,
// or handed to an I/O thread; the first answer wins and later ones are ignored (they return
// false). When the last copy is destroyed without an answer, the request fails with
// GH_ERR_INTERNAL "dropped without an answer", so a forgotten request never hangs a client until
// its timeout.
//
// Threads: any method, any thread, concurrently. Answer before (or in) Bridge::stop(): the host
// ignores answers that arrive after stop, and a Request must not outlive the Bridge's destruction.

#include <atomic>
#include <memory>
#include <string>

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/host.h"
#include "gatehouse/sdk/status.h"
#include "gatehouse/sdk/value.h"

namespace gatehouse::sdk {

class Request {
 public:
  Request() = default;   // answers nothing; answered() is true
  Request(Host host, gh_request_id id);

  gh_request_id id() const noexcept;

  // SET: the value the device accepted (stored by the host); ACT: the action's result.
  // Returns true when this call was the answer, false when the request was already answered.
  // Const so that lambdas capturing a Request by value need not be `mutable`.
  bool complete(const Value& result) const;
  // ACT without a result.
  bool complete() const;
  // Fails the request; code is a GH_ERR_* (GH_OK is turned into GH_ERR_INTERNAL: a bug).
  bool fail(gh_status code, const std::string& message) const;
  bool fail(const Status& status) const { return fail(status.code(), status.message()); }

  bool answered() const noexcept;

 private:
  struct State {
    State(Host h, gh_request_id i) : host(h), id(i) {}
    ~State();   // the "dropped without an answer" failure
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    Host host;
    gh_request_id id;
    std::atomic<bool> answered{false};
  };
  bool answer(gh_status code, const Value* result, const std::string& message) const;

  std::shared_ptr<State> state_;
};

}  // namespace gatehouse::sdk
