#pragma once
// AccessPolicy: who may call the REST API and what they may see or do (docs/security.md).
//
// The REST layer knows nothing about tokens or rules. With no policy set (auth mode `none`,
// loopback listeners only) every request is served. With a policy, RestApi::handle():
//   - serves /health and /openapi.json to anyone (liveness probes, API discovery);
//   - asks authenticate() about the Authorization header of every other request: no caller ->
//     401 with `WWW-Authenticate: Bearer realm="gatehouse"` (plus error="invalid_token" and the
//     description when a token was given but refused; RFC 6750 section 3);
//   - checks the route's verb on the named provider/service/resource with allows(): refused ->
//     403 with `WWW-Authenticate: Bearer realm="gatehouse", error="insufficient_scope"`;
//   - filters lists, snapshots and streams to what the caller may DESCRIBE (lists) or READ
//     (values, snapshots, streams), item by item;
//   - ends a stream when the caller's token expires;
//   - serves /sensinact/runtime/* and /metrics only to isAdmin() callers.
//
// Threads: every member is called on HTTP loop threads and the SSE thread, concurrently; an
// implementation must be thread-safe and must not block on I/O for long (a key refresh is
// bounded by the policy's own timeout and cooldown).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::core::rest {

enum class AccessVerb : std::uint8_t { Describe, Read, Update, Act };

struct Caller {
  std::string subject;                   // for logs (never the token)
  std::int64_t expiresUnix = 0;          // unix seconds; 0 = does not expire
  std::shared_ptr<const void> context;   // the policy's own data about this caller (roles, ...)
};

struct AuthOutcome {
  std::optional<Caller> caller;   // set when authenticated
  bool tokenGiven = false;        // false: no (Bearer) credentials at all
  std::string error;              // why a given token was refused (no token bytes in it)
};

class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  // `authorization` is the Authorization header's value, "" when absent.
  virtual AuthOutcome authenticate(std::string_view authorization) = 0;
  // Whether `caller` may do `verb` on the named element; an empty service (resource) means the
  // provider (service) itself or the list of its children.
  virtual bool allows(const Caller& caller, AccessVerb verb, std::string_view provider, std::string_view service,
                      std::string_view resource) const = 0;
  // Runtime administration: plugins, reloads, metrics.
  virtual bool isAdmin(const Caller& caller) const = 0;
};

}  // namespace gatehouse::core::rest
