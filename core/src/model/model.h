#pragma once
// The gateway model: providers -> services -> resources, with metadata, actions and
// notifications (docs/architecture.md, "The model"; sensiNact's model).
//
// Threads: every public method of Model may be called from any thread, concurrently.
// Readers (REST) and several writers (bridges pushing from their own threads) proceed in
// parallel: providers are locked one at a time, and the provider table only exclusively when a
// provider is added or removed. Notifications are queued to subscribers while the provider's
// lock is held (so each subscriber sees a resource's updates in order), but wake callbacks and
// owner (bridge) callbacks always run with no model lock held.
//
// Slow consumers never slow ingest: each subscription has a bounded queue; when it is full the
// notification is dropped for that subscriber, counted, and the subscriber is told it lagged.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "model/value.h"

namespace gatehouse::core::model {

inline constexpr std::string_view kAdminService = "admin";

struct MetaEntry {
  std::string key;
  Value value;
  std::int64_t timestamp = 0;
};

struct ActionParam {
  std::string name;
  ValueType type = ValueType::String;
  bool optional = false;
  std::optional<double> min;   // numeric constraints, checked before the owner is called
  std::optional<double> max;
};

// Declares a resource (bridges do this before pushing; push() alone auto-creates SENSORs).
struct ResourceDecl {
  std::string provider, service, resource;
  ResourceKind kind = ResourceKind::Sensor;
  Mutability mutability = Mutability::Updatable;
  ValueType type = ValueType::Double;
  std::string unit;                  // metadata "unit" when not empty
  std::string description;           // metadata "description" when not empty
  std::vector<ActionParam> params;   // ACTION only
  ValueType resultType = ValueType::String;   // ACTION only: type of what ACT returns
  std::string owner;                 // bridge that answers SET/ACT; "" = the model itself
  std::string model;                 // provider's model name when the provider is created here
};

// Read views (copies): safe to keep and use without any lock.
struct ResourceInfo {
  std::string name;
  ResourceKind kind = ResourceKind::Sensor;
  Mutability mutability = Mutability::Updatable;
  Value value;                       // value.type() is the declared type
  std::int64_t timestamp = 0;
  std::vector<MetaEntry> metadata;
  std::vector<ActionParam> params;
};
// Whether the resource holds end-to-end encrypted data (docs/e2e-protocol.md): its metadata "e2e"
// is true (boolean, or the text "true"). Its value is ciphertext: never compared, converted or
// logged by the gateway, only stored and delivered.
bool isEndToEnd(const ResourceInfo& resource) noexcept;
inline constexpr std::string_view kEndToEndMetadataKey = "e2e";

struct ServiceInfo {
  std::string name;
  std::vector<ResourceInfo> resources;   // sorted by name
};
struct ProviderInfo {
  std::string name;
  std::string model;
  std::string owner;
  std::vector<ServiceInfo> services;     // sorted by name
};

enum class Detail : std::uint8_t {
  Names,      // names only (lists)
  Describe,   // kinds, types, mutability, action parameters (no values, no metadata)
  Values,     // everything including values and metadata
};

// --- notifications ---------------------------------------------------------------------------

enum class NotificationKind : std::uint8_t { Data = 1, Metadata = 2, Lifecycle = 4, Action = 8 };
inline constexpr std::uint8_t kAllKinds = 1 | 2 | 4 | 8;
enum class LifecycleEvent : std::uint8_t {
  ProviderCreated, ProviderDeleted, ServiceCreated, ServiceDeleted, ResourceCreated, ResourceDeleted
};
std::string_view toString(NotificationKind k) noexcept;   // "DATA", "METADATA", "LIFECYCLE", "ACTION"
std::string_view toString(LifecycleEvent e) noexcept;     // "PROVIDER_CREATED", ...

struct Notification {
  NotificationKind kind = NotificationKind::Data;
  std::string provider, service, resource;   // service/resource empty for provider lifecycle events
  std::int64_t timestamp = 0;
  Value oldValue;                  // DATA: previous value; METADATA: previous metadata value
  Value newValue;                  // DATA: new value; METADATA: new value; ACTION: the result
  std::string metadataKey;         // METADATA only
  LifecycleEvent lifecycle = LifecycleEvent::ProviderCreated;   // LIFECYCLE only
};
using NotificationPtr = std::shared_ptr<const Notification>;

struct SubscriptionSpec {
  // Exact names to match; empty means any. A spec naming provider+service+resource is indexed and
  // costs nothing for updates of other resources.
  std::string provider, service, resource;
  std::uint8_t kinds = kAllKinds;                         // mask of NotificationKind
  // Optional extra test, run on the writer's thread with the provider lock held: keep it cheap
  // and never call back into the Model from it.
  std::function<bool(const Notification&)> predicate;
  std::size_t capacity = 1024;                            // queue bound
  // Called (no lock held, writer's thread) when the queue goes from empty to non-empty, so the
  // consumer can schedule a drain. Must not block.
  std::function<void()> wake;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
  // Moves up to `max` queued notifications into `out` (appended). Any thread; one consumer.
  virtual std::size_t drain(std::vector<NotificationPtr>& out, std::size_t max) = 0;
  // Notifications dropped for this subscriber since the previous call (the lag signal).
  virtual std::uint64_t takeDropped() = 0;
  virtual std::uint64_t droppedTotal() const = 0;
  virtual std::size_t queued() const = 0;
  // Stops delivery; also done by the destructor of the handle returned by Model::subscribe.
  virtual void cancel() = 0;
};
using SubscriptionPtr = std::shared_ptr<Subscription>;

// --- commands to resource owners (SET / ACT) -------------------------------------------------

struct NamedValue {
  std::string name;
  Value value;
};
struct SetCommand {
  std::string provider, service, resource;
  Value value;   // already coerced to the declared type
};
struct ActCommand {
  std::string provider, service, resource;
  std::vector<NamedValue> params;   // validated against the declared parameters, in declared order
};
// What SET and ACT answer: the resource's name, its new value (SET) or the action result (ACT).
struct CommandResult {
  std::string name;
  Value value;
  std::int64_t timestamp = 0;
};
using CommandCallback = std::function<void(Result<CommandResult>)>;

// Implemented by whoever owns resources (bridges, the simulator). Called on the requester's
// thread (a REST loop thread), never with a model lock held: must not block. `done` must be
// called exactly once, from any thread, possibly later (devices answer asynchronously).
// For SET, the value passed to done() is the value the device accepted; the model stores it.
class CommandHandler {
 public:
  virtual ~CommandHandler() = default;
  virtual void onSet(const SetCommand& command, std::function<void(Result<Value>)> done) = 0;
  virtual void onAct(const ActCommand& command, std::function<void(Result<Value>)> done) = 0;
};

struct ModelStats {
  std::uint64_t updates = 0;         // accepted DATA updates
  std::uint64_t staleUpdates = 0;    // pushes ignored because older than the stored timestamp
  std::uint64_t rejectedUpdates = 0; // pushes refused (bad name or type)
  std::uint64_t notificationsDropped = 0;
  std::size_t subscriptions = 0;
  std::size_t providers = 0;
};

class Model {
 public:
  Model();
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // --- structure (bridges) ---
  // Creates the provider with its admin service when missing. Idempotent.
  Result<void> declareProvider(std::string_view provider, std::string_view modelName = {},
                               std::string_view owner = {});
  // Creates or redefines a resource (and its provider/service). Keeps the current value when the
  // type is unchanged.
  Result<void> declareResource(const ResourceDecl& decl);
  Result<void> removeProvider(std::string_view provider);
  Result<void> removeService(std::string_view provider, std::string_view service);

  // --- ingest (bridges; the hot path) ---
  // Stores a new value. Unknown provider/service/resource are created (SENSOR, UPDATABLE, the
  // value's type). The value is coerced to the declared type (BadRequest when impossible).
  // timestampMs = 0 means now. An update older than the stored timestamp is ignored (counted as
  // stale) so redelivered device messages cannot roll a value back.
  Result<void> push(std::string_view provider, std::string_view service, std::string_view resource,
                    Value value, std::int64_t timestampMs = 0);
  Result<void> setMetadata(std::string_view provider, std::string_view service,
                           std::string_view resource, std::string_view key, Value value,
                           std::int64_t timestampMs = 0);

  // --- reads (any thread) ---
  std::vector<std::string> providerNames() const;   // sorted
  Result<std::vector<std::string>> serviceNames(std::string_view provider) const;
  Result<std::vector<std::string>> resourceNames(std::string_view provider, std::string_view service) const;
  Result<ProviderInfo> provider(std::string_view provider, Detail detail) const;
  Result<ServiceInfo> service(std::string_view provider, std::string_view service, Detail detail) const;
  Result<ResourceInfo> resource(std::string_view provider, std::string_view service,
                                std::string_view resource, Detail detail = Detail::Values) const;
  std::vector<ProviderInfo> providers(Detail detail) const;   // sorted by name
  std::size_t resourceCount() const;

  // --- northbound commands ---
  // Owners register under the name they give as ResourceDecl::owner.
  void registerOwner(const std::string& owner, std::shared_ptr<CommandHandler> handler);
  void unregisterOwner(const std::string& owner);
  // SET: NotFound, NotAllowed (ACTION, or not MODIFIABLE), BadRequest (type), Unavailable (owner gone),
  // or the owner's answer. Resources without an owner (admin metadata, user state) are stored directly.
  void set(std::string_view provider, std::string_view service, std::string_view resource,
           Value value, CommandCallback done);
  // ACT: NotFound, NotAllowed (not an ACTION), BadRequest (parameters), Unavailable, or the owner's answer.
  void act(std::string_view provider, std::string_view service, std::string_view resource,
           std::vector<NamedValue> params, CommandCallback done);

  // --- notifications ---
  SubscriptionPtr subscribe(SubscriptionSpec spec);

  ModelStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::core::model
