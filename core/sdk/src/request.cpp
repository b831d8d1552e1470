#include "gatehouse/sdk/request.h"

namespace gatehouse::sdk {

Request::Request(Host host, gh_request_id id) : state_(std::make_shared<State>(host, id)) {}

Request::State::~State() {
  // The last copy went away unanswered: answer for the plugin, so that the client gets an error
  // now instead of waiting for the host's timeout.
  if (!answered.exchange(true)) {
    try {
      host.complete(id, GH_ERR_INTERNAL, nullptr, "dropped without an answer: the plugin never completed or failed this request");
    } catch (...) {
      // Building the message could only fail for lack of memory; a destructor must not throw.
    }
  }
}

gh_request_id Request::id() const noexcept { return state_ ? state_->id : 0; }

bool Request::answered() const noexcept { return !state_ || state_->answered.load(); }

bool Request::answer(gh_status code, const Value* result, const std::string& message) const {
  if (!state_ || state_->answered.exchange(true)) return false;
  state_->host.complete(state_->id, code, result, message);
  return true;
}

bool Request::complete(const Value& result) const { return answer(GH_OK, &result, {}); }

bool Request::complete() const { return answer(GH_OK, nullptr, {}); }

bool Request::fail(gh_status code, const std::string& message) const {
  if (code == GH_OK) return answer(GH_ERR_INTERNAL, nullptr, "the plugin failed a request with status OK: " + message);
  return answer(code, nullptr, message);
}

}  // namespace gatehouse::sdk
