#include "model/model.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace gatehouse::core::model {

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Rarely-present parts of a resource live behind one pointer so that a plain sensor costs
// little memory (see bench/model_memory: bytes per resource).
struct ResourceExtra {
  std::vector<MetaEntry> metadata;
  std::vector<ActionParam> params;
  ValueType resultType = ValueType::String;
};

struct ResourceNode {
  Value value;
  std::int64_t timestamp = 0;
  ResourceKind kind = ResourceKind::Sensor;
  Mutability mutability = Mutability::Updatable;
  bool ownedByBridge = false;   // SET/ACT go to the provider's owner; else the model stores SETs
  std::unique_ptr<ResourceExtra> extra;

  ResourceExtra& ensureExtra() {
    if (!extra) extra = std::make_unique<ResourceExtra>();
    return *extra;
  }
  MetaEntry* findMeta(std::string_view key) {
    if (!extra) return nullptr;
    for (auto& m : extra->metadata)
      if (m.key == key) return &m;
    return nullptr;
  }
};

struct ServiceNode {
  StringMap<ResourceNode> resources;
};

struct ProviderNode {
  mutable std::mutex mu;
  std::string name;
  std::string model;
  std::string owner;
  StringMap<ServiceNode> services;
};

// --- subscriptions ---------------------------------------------------------------------------

struct Hub;

struct SubState final : Subscription {
  SubscriptionSpec spec;
  std::weak_ptr<Hub> hub;
  mutable std::mutex mu;
  std::deque<NotificationPtr> queue;
  std::atomic<std::uint64_t> droppedSince{0};
  std::atomic<std::uint64_t> droppedAll{0};
  std::atomic<bool> active{true};
  std::atomic<std::uint64_t>* globalDrops = nullptr;

  // Returns true when the queue went from empty to non-empty (the consumer must be woken).
  bool offer(const NotificationPtr& n) {
    std::lock_guard lock(mu);
    if (queue.size() >= spec.capacity) {
      droppedSince.fetch_add(1, std::memory_order_relaxed);
      droppedAll.fetch_add(1, std::memory_order_relaxed);
      if (globalDrops) globalDrops->fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue.push_back(n);
    return queue.size() == 1;
  }

  std::size_t drain(std::vector<NotificationPtr>& out, std::size_t max) override {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    while (n < max && !queue.empty()) {
      out.push_back(std::move(queue.front()));
      queue.pop_front();
      ++n;
    }
    return n;
  }
  std::uint64_t takeDropped() override { return droppedSince.exchange(0, std::memory_order_relaxed); }
  std::uint64_t droppedTotal() const override { return droppedAll.load(std::memory_order_relaxed); }
  std::size_t queued() const override {
    std::lock_guard lock(mu);
    return queue.size();
  }
  void cancel() override;
};

std::string exactKey(std::string_view p, std::string_view s, std::string_view r) {
  std::string k;
  k.reserve(p.size() + s.size() + r.size() + 2);
  k.append(p).append(1, '\x1f').append(s).append(1, '\x1f').append(r);
  return k;
}

struct Registry {
  StringMap<std::vector<std::shared_ptr<SubState>>> exact;   // spec names provider+service+resource
  std::vector<std::shared_ptr<SubState>> wildcard;
  std::size_t count = 0;
};

// Shared by the model and every subscription so that a subscription may outlive the model.
struct Hub {
  std::mutex writeMu;   // serialises registry rebuilds
  std::atomic<std::shared_ptr<const Registry>> registry{std::make_shared<const Registry>()};
  std::atomic<std::size_t> count{0};
  std::atomic<std::uint64_t> drops{0};

  void add(const std::shared_ptr<SubState>& s) {
    std::lock_guard lock(writeMu);
    auto next = std::make_shared<Registry>(*registry.load());
    const auto& sp = s->spec;
    if (!sp.provider.empty() && !sp.service.empty() && !sp.resource.empty()) {
      next->exact[exactKey(sp.provider, sp.service, sp.resource)].push_back(s);
    } else {
      next->wildcard.push_back(s);
    }
    next->count++;
    count.store(next->count, std::memory_order_release);
    registry.store(std::move(next));
  }

  void remove(const SubState* s) {
    std::lock_guard lock(writeMu);
    auto next = std::make_shared<Registry>(*registry.load());
    auto drop = [s](std::vector<std::shared_ptr<SubState>>& v) {
      const auto before = v.size();
      std::erase_if(v, [s](const auto& p) { return p.get() == s; });
      return before - v.size();
    };
    std::size_t removed = drop(next->wildcard);
    for (auto it = next->exact.begin(); it != next->exact.end();) {
      removed += drop(it->second);
      it = it->second.empty() ? next->exact.erase(it) : std::next(it);
    }
    next->count -= std::min(removed, next->count);
    count.store(next->count, std::memory_order_release);
    registry.store(std::move(next));
  }
};

void SubState::cancel() {
  if (!active.exchange(false)) return;
  if (auto h = hub.lock()) h->remove(this);
  std::lock_guard lock(mu);
  queue.clear();
}

// The handle given to the subscriber: dropping it cancels the subscription.
struct SubHandle final : Subscription {
  std::shared_ptr<SubState> state;
  explicit SubHandle(std::shared_ptr<SubState> s) : state(std::move(s)) {}
  ~SubHandle() override { state->cancel(); }
  std::size_t drain(std::vector<NotificationPtr>& out, std::size_t max) override { return state->drain(out, max); }
  std::uint64_t takeDropped() override { return state->takeDropped(); }
  std::uint64_t droppedTotal() const override { return state->droppedTotal(); }
  std::size_t queued() const override { return state->queued(); }
  void cancel() override { state->cancel(); }
};

// Collects the subscriptions to wake once no lock is held.
using WakeList = std::vector<std::shared_ptr<SubState>>;

void runWakes(WakeList& wakes) {
  WakeList local;
  local.swap(wakes);   // a wake callback may push again on this thread
  for (auto& s : local)
    if (s->active.load(std::memory_order_relaxed) && s->spec.wake) s->spec.wake();
}

}  // namespace

// ------------------------------------------------------------------------------------------------

struct Model::Impl {
  mutable std::shared_mutex mu;   // guards `providers` (the table, not the providers' contents)
  StringMap<std::shared_ptr<ProviderNode>> providers;
  std::shared_ptr<Hub> hub = std::make_shared<Hub>();

  std::mutex ownersMu;
  std::unordered_map<std::string, std::shared_ptr<CommandHandler>> owners;

  std::atomic<std::uint64_t> updates{0}, stale{0}, rejected{0};
  std::atomic<std::size_t> resources{0};

  bool hasSubscribers() const { return hub->count.load(std::memory_order_acquire) != 0; }

  // Queues a notification about p/s/r to every matching subscription; `fill(n)` adds the
  // kind-specific members. Called with the provider lock held. The notification is only built
  // when some subscription wants it, so an update nobody listens to costs a registry load and one
  // hash lookup.
  template <typename Fill>
  void dispatch(NotificationKind kind, std::string_view p, std::string_view s, std::string_view r,
                std::int64_t timestamp, Fill&& fill, WakeList& wakes) {
    auto reg = hub->registry.load();
    const std::vector<std::shared_ptr<SubState>>* exact = nullptr;
    const bool scanAllExact = r.empty() && !reg->exact.empty();   // provider/service lifecycle: rare
    if (!r.empty() && !reg->exact.empty()) {
      thread_local std::string key;
      key.clear();
      key.append(p).append(1, '\x1f').append(s).append(1, '\x1f').append(r);
      auto it = reg->exact.find(std::string_view(key));
      if (it != reg->exact.end()) exact = &it->second;
    }
    auto wants = [&](const SubState& sub) {
      const auto& sp = sub.spec;
      if (!sub.active.load(std::memory_order_relaxed)) return false;
      if ((sp.kinds & static_cast<std::uint8_t>(kind)) == 0) return false;
      if (!sp.provider.empty() && sp.provider != p) return false;
      if (!sp.service.empty() && !s.empty() && sp.service != s) return false;
      if (!sp.resource.empty() && !r.empty() && sp.resource != r) return false;
      return true;
    };
    NotificationPtr shared;
    auto offer = [&](const std::shared_ptr<SubState>& sub) {
      if (!wants(*sub)) return;
      if (!shared) {
        auto n = std::make_shared<Notification>();
        n->kind = kind;
        n->provider = p;
        n->service = s;
        n->resource = r;
        n->timestamp = timestamp;
        fill(*n);
        shared = std::move(n);
      }
      if (sub->spec.predicate && !sub->spec.predicate(*shared)) return;
      if (sub->offer(shared)) wakes.push_back(sub);
    };
    if (exact)
      for (const auto& sub : *exact) offer(sub);
    if (scanAllExact)
      for (const auto& [k, v] : reg->exact)
        for (const auto& sub : v) offer(sub);
    for (const auto& sub : reg->wildcard) offer(sub);
  }

  void lifecycle(WakeList& wakes, LifecycleEvent ev, std::string_view p, std::string_view s = {},
                 std::string_view r = {}) {
    if (!hasSubscribers()) return;
    dispatch(NotificationKind::Lifecycle, p, s, r, nowMillis(), [ev](Notification& n) { n.lifecycle = ev; }, wakes);
  }

  static ResourceNode makeResource(ResourceKind kind, Mutability mut, ValueType type) {
    ResourceNode node;
    node.kind = kind;
    node.mutability = mut;
    node.value = Value::null(type);
    return node;
  }

  // Adds the admin service every provider has (docs/architecture.md). Provider lock held.
  void addAdmin(ProviderNode& pn, std::int64_t now) {
    auto& admin = pn.services[std::string(kAdminService)].resources;
    auto put = [&](const char* name, ResourceKind k, Mutability m, Value v) {
      ResourceNode node = makeResource(k, m, v.type());
      if (!v.isNull()) {
        node.value = std::move(v);
        node.timestamp = now;
      }
      admin.emplace(name, std::move(node));
    };
    put("friendlyName", ResourceKind::Property, Mutability::Modifiable, Value::ofString(pn.name));
    put("description", ResourceKind::Property, Mutability::Modifiable, Value::null(ValueType::String));
    put("location", ResourceKind::Property, Mutability::Modifiable, Value::null(ValueType::Json));
    put("bridge", ResourceKind::Property, Mutability::Fixed,
        pn.owner.empty() ? Value::null(ValueType::String) : Value::ofString(pn.owner));
    put("lifecycleStatus", ResourceKind::StateVariable, Mutability::Updatable, Value::ofString("ACTIVE"));
    resources.fetch_add(5, std::memory_order_relaxed);
  }

  // Finds or creates the provider; returns it with the table's shared lock released.
  Result<std::shared_ptr<ProviderNode>> ensureProvider(std::string_view p, std::string_view modelName,
                                                       std::string_view owner, WakeList& wakes) {
    {
      std::shared_lock lock(mu);
      auto it = providers.find(p);
      if (it != providers.end()) return it->second;
    }
    if (auto ok = checkIdentifier("provider", p); !ok) return std::move(ok).error();
    std::shared_ptr<ProviderNode> node;
    bool created = false;
    {
      std::unique_lock lock(mu);
      auto it = providers.find(p);
      if (it != providers.end()) {
        node = it->second;
      } else {
        node = std::make_shared<ProviderNode>();
        node->name = p;
        node->model = modelName.empty() ? std::string(p) : std::string(modelName);
        node->owner = owner;
        {
          std::lock_guard pl(node->mu);
          addAdmin(*node, nowMillis());
        }
        providers.emplace(std::string(p), node);
        created = true;
      }
    }
    if (created) {
      std::lock_guard pl(node->mu);
      lifecycle(wakes, LifecycleEvent::ProviderCreated, p);
    }
    return node;
  }

  std::shared_ptr<ProviderNode> findProvider(std::string_view p) const {
    std::shared_lock lock(mu);
    auto it = providers.find(p);
    return it == providers.end() ? nullptr : it->second;
  }

  static Error notFound(std::string_view what, std::string_view p, std::string_view s = {},
                        std::string_view r = {}) {
    std::string path = "/";
    path.append(p);
    if (!s.empty()) path.append("/").append(s);
    if (!r.empty()) path.append("/").append(r);
    return makeError(ErrorCode::NotFound, std::string(what) + " not found: " + path);
  }

  // Locates a resource in a locked provider, or says which level is missing.
  static Result<ResourceNode*> locate(ProviderNode& pn, std::string_view s, std::string_view r) {
    auto sit = pn.services.find(s);
    if (sit == pn.services.end()) return notFound("service", pn.name, s);
    auto rit = sit->second.resources.find(r);
    if (rit == sit->second.resources.end()) return notFound("resource", pn.name, s, r);
    return &rit->second;
  }

  static ResourceInfo info(std::string_view name, const ResourceNode& node, Detail detail) {
    ResourceInfo ri;
    ri.name = name;
    ri.kind = node.kind;
    ri.mutability = node.mutability;
    if (detail == Detail::Values) {
      ri.value = node.value;
      ri.timestamp = node.timestamp;
      if (node.extra) ri.metadata = node.extra->metadata;
    } else {
      ri.value = Value::null(node.value.type());
    }
    if (detail != Detail::Names && node.extra) ri.params = node.extra->params;
    return ri;
  }

  static ServiceInfo serviceInfo(std::string_view name, const ServiceNode& sn, Detail detail) {
    ServiceInfo si;
    si.name = name;
    si.resources.reserve(sn.resources.size());
    for (const auto& [rn, node] : sn.resources) si.resources.push_back(info(rn, node, detail));
    std::sort(si.resources.begin(), si.resources.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return si;
  }

  static ProviderInfo providerInfo(const ProviderNode& pn, Detail detail) {
    ProviderInfo pi;
    pi.name = pn.name;
    pi.model = pn.model;
    pi.owner = pn.owner;
    pi.services.reserve(pn.services.size());
    for (const auto& [sn, node] : pn.services) pi.services.push_back(serviceInfo(sn, node, detail));
    std::sort(pi.services.begin(), pi.services.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return pi;
  }

  std::shared_ptr<CommandHandler> owner(const std::string& name) {
    std::lock_guard lock(ownersMu);
    auto it = owners.find(name);
    return it == owners.end() ? nullptr : it->second;
  }
};

// ------------------------------------------------------------------------------------------------

bool isEndToEnd(const ResourceInfo& resource) noexcept {
  for (const auto& m : resource.metadata) {
    if (m.key != kEndToEndMetadataKey) continue;
    const auto& v = m.value.storage();
    if (const bool* b = std::get_if<bool>(&v)) return *b;
    if (const std::string* t = std::get_if<std::string>(&v)) return *t == "true";
    return false;
  }
  return false;
}

std::string_view toString(NotificationKind k) noexcept {
  switch (k) {
    case NotificationKind::Data: return "DATA";
    case NotificationKind::Metadata: return "METADATA";
    case NotificationKind::Lifecycle: return "LIFECYCLE";
    case NotificationKind::Action: return "ACTION";
  }
  return "DATA";
}

std::string_view toString(LifecycleEvent e) noexcept {
  switch (e) {
    case LifecycleEvent::ProviderCreated: return "PROVIDER_CREATED";
    case LifecycleEvent::ProviderDeleted: return "PROVIDER_DELETED";
    case LifecycleEvent::ServiceCreated: return "SERVICE_CREATED";
    case LifecycleEvent::ServiceDeleted: return "SERVICE_DELETED";
    case LifecycleEvent::ResourceCreated: return "RESOURCE_CREATED";
    case LifecycleEvent::ResourceDeleted: return "RESOURCE_DELETED";
  }
  return "PROVIDER_CREATED";
}

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

Result<void> Model::declareProvider(std::string_view provider, std::string_view modelName, std::string_view owner) {
  WakeList wakes;
  auto pn = impl_->ensureProvider(provider, modelName, owner, wakes);
  runWakes(wakes);
  if (!pn) return std::move(pn).error();
  return {};
}

Result<void> Model::declareResource(const ResourceDecl& d) {
  if (auto ok = checkIdentifier("service", d.service); !ok) return ok;
  if (auto ok = checkIdentifier("resource", d.resource); !ok) return ok;
  for (const auto& p : d.params)
    if (auto ok = checkIdentifier("parameter", p.name); !ok) return ok;
  WakeList wakes;
  auto pnr = impl_->ensureProvider(d.provider, d.model, d.owner, wakes);
  if (!pnr) {
    runWakes(wakes);
    return std::move(pnr).error();
  }
  ProviderNode& pn = **pnr;
  {
    std::lock_guard lock(pn.mu);
    if (!d.owner.empty() && pn.owner.empty()) pn.owner = d.owner;
    auto [sit, newService] = pn.services.try_emplace(d.service);
    if (newService) impl_->lifecycle(wakes, LifecycleEvent::ServiceCreated, pn.name, d.service);
    auto [rit, newResource] = sit->second.resources.try_emplace(d.resource);
    ResourceNode& node = rit->second;
    if (newResource || node.value.type() != d.type) {
      node.value = Value::null(d.type);
      node.timestamp = 0;
    }
    node.kind = d.kind;
    node.mutability = d.kind == ResourceKind::Action ? Mutability::Fixed : d.mutability;
    node.ownedByBridge = !d.owner.empty();
    auto setMeta = [&](const char* key, const std::string& text) {
      if (text.empty()) return;
      if (MetaEntry* m = node.findMeta(key)) {
        m->value = Value::ofString(text);
      } else {
        node.ensureExtra().metadata.push_back(MetaEntry{key, Value::ofString(text), nowMillis()});
      }
    };
    setMeta("unit", d.unit);
    setMeta("description", d.description);
    if (d.kind == ResourceKind::Action) {
      node.ensureExtra().params = d.params;
      node.extra->resultType = d.resultType;
    }
    if (newResource) {
      impl_->resources.fetch_add(1, std::memory_order_relaxed);
      impl_->lifecycle(wakes, LifecycleEvent::ResourceCreated, pn.name, d.service, d.resource);
    }
  }
  runWakes(wakes);
  return {};
}

Result<void> Model::removeProvider(std::string_view provider) {
  std::shared_ptr<ProviderNode> node;
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->providers.find(provider);
    if (it == impl_->providers.end()) return Impl::notFound("provider", provider);
    node = std::move(it->second);
    impl_->providers.erase(it);
  }
  WakeList wakes;
  {
    std::lock_guard pl(node->mu);
    std::size_t n = 0;
    for (const auto& [sn, s] : node->services) n += s.resources.size();
    impl_->resources.fetch_sub(n, std::memory_order_relaxed);
    impl_->lifecycle(wakes, LifecycleEvent::ProviderDeleted, node->name);
  }
  runWakes(wakes);
  return {};
}

Result<void> Model::removeService(std::string_view provider, std::string_view service) {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  if (service == kAdminService) return makeError(ErrorCode::NotAllowed, "the admin service cannot be removed");
  WakeList wakes;
  {
    std::lock_guard pl(pn->mu);
    auto it = pn->services.find(service);
    if (it == pn->services.end()) return Impl::notFound("service", provider, service);
    impl_->resources.fetch_sub(it->second.resources.size(), std::memory_order_relaxed);
    pn->services.erase(it);
    impl_->lifecycle(wakes, LifecycleEvent::ServiceDeleted, provider, service);
  }
  runWakes(wakes);
  return {};
}

Result<void> Model::push(std::string_view provider, std::string_view service, std::string_view resource,
                         Value value, std::int64_t timestampMs) {
  if (timestampMs == 0) timestampMs = nowMillis();
  thread_local WakeList wakes;
  std::shared_ptr<ProviderNode> pnp = impl_->findProvider(provider);
  if (!pnp) {
    auto ok = checkIdentifier("provider", provider);
    if (ok) ok = checkIdentifier("service", service);
    if (ok) ok = checkIdentifier("resource", resource);
    if (!ok) {
      impl_->rejected.fetch_add(1, std::memory_order_relaxed);
      return ok;
    }
    auto created = impl_->ensureProvider(provider, {}, {}, wakes);
    if (!created) {
      impl_->rejected.fetch_add(1, std::memory_order_relaxed);
      runWakes(wakes);
      return std::move(created).error();
    }
    pnp = std::move(*created);
  }
  ProviderNode& pn = *pnp;
  {
    std::lock_guard lock(pn.mu);
    auto sit = pn.services.find(service);
    if (sit == pn.services.end()) {
      // Validate every new name before creating anything, so a bad push leaves no trace.
      auto ok = checkIdentifier("service", service);
      if (ok) ok = checkIdentifier("resource", resource);
      if (!ok) {
        impl_->rejected.fetch_add(1, std::memory_order_relaxed);
        return ok;
      }
      sit = pn.services.emplace(std::string(service), ServiceNode{}).first;
      impl_->lifecycle(wakes, LifecycleEvent::ServiceCreated, provider, service);
    }
    auto& resources = sit->second.resources;
    auto rit = resources.find(resource);
    if (rit == resources.end()) {
      if (auto ok = checkIdentifier("resource", resource); !ok) {
        impl_->rejected.fetch_add(1, std::memory_order_relaxed);
        return ok;
      }
      rit = resources.emplace(std::string(resource),
                              Impl::makeResource(ResourceKind::Sensor, Mutability::Updatable, value.type()))
                .first;
      impl_->resources.fetch_add(1, std::memory_order_relaxed);
      impl_->lifecycle(wakes, LifecycleEvent::ResourceCreated, provider, service, resource);
    }
    ResourceNode& node = rit->second;
    if (node.kind == ResourceKind::Action) {
      impl_->rejected.fetch_add(1, std::memory_order_relaxed);
      return makeError(ErrorCode::NotAllowed, "resource " + std::string(resource) + " is an ACTION and holds no value");
    }
    if (value.type() != node.value.type()) {
      auto coerced = coerce(value, node.value.type());
      if (!coerced) {
        impl_->rejected.fetch_add(1, std::memory_order_relaxed);
        return std::move(coerced).error();
      }
      value = std::move(*coerced);
    }
    if (timestampMs < node.timestamp) {
      impl_->stale.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    Value old = std::exchange(node.value, std::move(value));
    node.timestamp = timestampMs;
    impl_->updates.fetch_add(1, std::memory_order_relaxed);
    if (impl_->hasSubscribers()) {
      impl_->dispatch(NotificationKind::Data, provider, service, resource, timestampMs, [&](Notification& n) {
        n.oldValue = std::move(old);
        n.newValue = node.value;
      }, wakes);
    }
  }
  if (!wakes.empty()) runWakes(wakes);
  return {};
}

Result<void> Model::setMetadata(std::string_view provider, std::string_view service, std::string_view resource,
                                std::string_view key, Value value, std::int64_t timestampMs) {
  if (auto ok = checkIdentifier("metadata", key); !ok) return ok;
  if (timestampMs == 0) timestampMs = nowMillis();
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  WakeList wakes;
  {
    std::lock_guard lock(pn->mu);
    auto loc = Impl::locate(*pn, service, resource);
    if (!loc) return std::move(loc).error();
    ResourceNode& node = **loc;
    Value old;
    if (MetaEntry* m = node.findMeta(key)) {
      old = std::exchange(m->value, value);
      m->timestamp = timestampMs;
    } else {
      node.ensureExtra().metadata.push_back(MetaEntry{std::string(key), value, timestampMs});
    }
    if (impl_->hasSubscribers()) {
      impl_->dispatch(NotificationKind::Metadata, provider, service, resource, timestampMs, [&](Notification& n) {
        n.metadataKey = key;
        n.oldValue = std::move(old);
        n.newValue = std::move(value);
      }, wakes);
    }
  }
  runWakes(wakes);
  return {};
}

std::vector<std::string> Model::providerNames() const {
  std::vector<std::string> names;
  {
    std::shared_lock lock(impl_->mu);
    names.reserve(impl_->providers.size());
    for (const auto& [name, node] : impl_->providers) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> Model::serviceNames(std::string_view provider) const {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  std::vector<std::string> names;
  {
    std::lock_guard lock(pn->mu);
    for (const auto& [name, node] : pn->services) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> Model::resourceNames(std::string_view provider, std::string_view service) const {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  std::vector<std::string> names;
  {
    std::lock_guard lock(pn->mu);
    auto it = pn->services.find(service);
    if (it == pn->services.end()) return Impl::notFound("service", provider, service);
    for (const auto& [name, node] : it->second.resources) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<ProviderInfo> Model::provider(std::string_view provider, Detail detail) const {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  std::lock_guard lock(pn->mu);
  return Impl::providerInfo(*pn, detail);
}

Result<ServiceInfo> Model::service(std::string_view provider, std::string_view service, Detail detail) const {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  std::lock_guard lock(pn->mu);
  auto it = pn->services.find(service);
  if (it == pn->services.end()) return Impl::notFound("service", provider, service);
  return Impl::serviceInfo(service, it->second, detail);
}

Result<ResourceInfo> Model::resource(std::string_view provider, std::string_view service, std::string_view resource,
                                     Detail detail) const {
  auto pn = impl_->findProvider(provider);
  if (!pn) return Impl::notFound("provider", provider);
  std::lock_guard lock(pn->mu);
  auto loc = Impl::locate(*pn, service, resource);
  if (!loc) return std::move(loc).error();
  return Impl::info(resource, **loc, detail);
}

std::vector<ProviderInfo> Model::providers(Detail detail) const {
  std::vector<std::shared_ptr<ProviderNode>> nodes;
  {
    std::shared_lock lock(impl_->mu);
    nodes.reserve(impl_->providers.size());
    for (const auto& [name, node] : impl_->providers) nodes.push_back(node);
  }
  std::vector<ProviderInfo> out;
  out.reserve(nodes.size());
  for (const auto& pn : nodes) {
    std::lock_guard lock(pn->mu);
    out.push_back(Impl::providerInfo(*pn, detail));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::size_t Model::resourceCount() const { return impl_->resources.load(std::memory_order_relaxed); }

void Model::registerOwner(const std::string& owner, std::shared_ptr<CommandHandler> handler) {
  std::lock_guard lock(impl_->ownersMu);
  impl_->owners[owner] = std::move(handler);
}

void Model::unregisterOwner(const std::string& owner) {
  std::lock_guard lock(impl_->ownersMu);
  impl_->owners.erase(owner);
}

void Model::set(std::string_view provider, std::string_view service, std::string_view resource, Value value,
                CommandCallback done) {
  auto pn = impl_->findProvider(provider);
  if (!pn) return done(Impl::notFound("provider", provider));
  std::string ownerName;
  bool forward = false;
  {
    std::lock_guard lock(pn->mu);
    auto loc = Impl::locate(*pn, service, resource);
    if (!loc) return done(std::move(loc).error());
    const ResourceNode& node = **loc;
    if (node.kind == ResourceKind::Action)
      return done(makeError(ErrorCode::NotAllowed, "resource " + std::string(resource) + " is an ACTION: use ACT"));
    if (node.mutability != Mutability::Modifiable)
      return done(makeError(ErrorCode::NotAllowed, "resource " + std::string(resource) + " is " +
                                                       std::string(toString(node.mutability)) +
                                                       ": only MODIFIABLE resources accept SET"));
    auto coerced = coerce(value, node.value.type());
    if (!coerced) return done(std::move(coerced).error());
    value = std::move(*coerced);
    forward = node.ownedByBridge && !pn->owner.empty();
    ownerName = pn->owner;
  }
  auto store = [this, p = std::string(provider), s = std::string(service), r = std::string(resource),
                done](Result<Value> accepted) {
    if (!accepted) return done(std::move(accepted).error());
    const std::int64_t ts = nowMillis();
    if (auto ok = push(p, s, r, *accepted, ts); !ok) return done(std::move(ok).error());
    done(CommandResult{r, std::move(*accepted), ts});
  };
  if (!forward) return store(std::move(value));
  auto handler = impl_->owner(ownerName);
  if (!handler) return done(makeError(ErrorCode::Unavailable, "the bridge '" + ownerName + "' that owns " +
                                                                  std::string(provider) + " is not running"));
  SetCommand cmd{std::string(provider), std::string(service), std::string(resource), std::move(value)};
  try {
    handler->onSet(cmd, std::move(store));
  } catch (const std::exception& e) {
    done(makeError(ErrorCode::Internal, "bridge '" + ownerName + "' failed: " + e.what()));
  }
}

void Model::act(std::string_view provider, std::string_view service, std::string_view resource,
                std::vector<NamedValue> params, CommandCallback done) {
  auto pn = impl_->findProvider(provider);
  if (!pn) return done(Impl::notFound("provider", provider));
  std::string ownerName;
  ValueType resultType = ValueType::String;
  std::vector<NamedValue> ordered;
  {
    std::lock_guard lock(pn->mu);
    auto loc = Impl::locate(*pn, service, resource);
    if (!loc) return done(std::move(loc).error());
    const ResourceNode& node = **loc;
    if (node.kind != ResourceKind::Action)
      return done(makeError(ErrorCode::NotAllowed, "resource " + std::string(resource) + " is " +
                                                       std::string(toString(node.kind)) + ", not an ACTION"));
    const std::vector<ActionParam> none;
    const auto& declared = node.extra ? node.extra->params : none;
    resultType = node.extra ? node.extra->resultType : ValueType::String;
    for (const auto& given : params) {
      const bool known = std::any_of(declared.begin(), declared.end(), [&](const auto& d) { return d.name == given.name; });
      if (!known) {
        std::string valid;
        for (const auto& d : declared) valid += (valid.empty() ? "" : ", ") + d.name;
        return done(makeError(ErrorCode::BadRequest, "unknown parameter '" + given.name + "' for action " +
                                                         std::string(resource) +
                                                         (valid.empty() ? " (it takes none)" : " (expected: " + valid + ")")));
      }
    }
    for (const auto& d : declared) {
      auto it = std::find_if(params.begin(), params.end(), [&](const auto& g) { return g.name == d.name; });
      if (it == params.end() || it->value.isNull()) {
        if (d.optional) continue;
        return done(makeError(ErrorCode::BadRequest, "missing parameter '" + d.name + "' (" +
                                                         std::string(toString(d.type)) + ")"));
      }
      auto coerced = coerce(it->value, d.type);
      if (!coerced) return done(makeError(ErrorCode::BadRequest, "parameter '" + d.name + "': " + coerced.error().message));
      if (d.min || d.max) {
        double x = 0;
        if (std::holds_alternative<std::int64_t>(coerced->storage())) x = static_cast<double>(coerced->asInteger());
        else if (std::holds_alternative<double>(coerced->storage())) x = coerced->asDouble();
        if ((d.min && x < *d.min) || (d.max && x > *d.max)) {
          return done(makeError(ErrorCode::BadRequest,
                                "parameter '" + d.name + "' is out of range [" +
                                    (d.min ? std::to_string(*d.min) : std::string("-inf")) + ", " +
                                    (d.max ? std::to_string(*d.max) : std::string("inf")) + "]"));
        }
      }
      ordered.push_back(NamedValue{d.name, std::move(*coerced)});
    }
    ownerName = pn->owner;
  }
  auto handler = ownerName.empty() ? nullptr : impl_->owner(ownerName);
  if (!handler) return done(makeError(ErrorCode::Unavailable, "no running bridge answers actions of " + std::string(provider)));
  auto finish = [this, p = std::string(provider), s = std::string(service), r = std::string(resource), resultType,
                 done](Result<Value> result) {
    if (!result) return done(std::move(result).error());
    Value v = std::move(*result);
    if (v.type() != resultType && !v.isNull()) {
      if (auto c = coerce(v, resultType)) v = std::move(*c);
    }
    const std::int64_t ts = nowMillis();
    if (impl_->hasSubscribers()) {
      if (auto pn2 = impl_->findProvider(p)) {
        WakeList wakes;
        {
          std::lock_guard lock(pn2->mu);
          impl_->dispatch(NotificationKind::Action, p, s, r, ts, [&v](Notification& n) { n.newValue = v; }, wakes);
        }
        runWakes(wakes);
      }
    }
    done(CommandResult{r, std::move(v), ts});
  };
  ActCommand cmd{std::string(provider), std::string(service), std::string(resource), std::move(ordered)};
  try {
    handler->onAct(cmd, std::move(finish));
  } catch (const std::exception& e) {
    done(makeError(ErrorCode::Internal, "bridge '" + ownerName + "' failed: " + e.what()));
  }
}

SubscriptionPtr Model::subscribe(SubscriptionSpec spec) {
  if (spec.capacity == 0) spec.capacity = 1;
  auto state = std::make_shared<SubState>();
  state->spec = std::move(spec);
  state->hub = impl_->hub;
  state->globalDrops = &impl_->hub->drops;
  impl_->hub->add(state);
  return std::make_shared<SubHandle>(std::move(state));
}

ModelStats Model::stats() const {
  ModelStats s;
  s.updates = impl_->updates.load(std::memory_order_relaxed);
  s.staleUpdates = impl_->stale.load(std::memory_order_relaxed);
  s.rejectedUpdates = impl_->rejected.load(std::memory_order_relaxed);
  s.notificationsDropped = impl_->hub->drops.load(std::memory_order_relaxed);
  s.subscriptions = impl_->hub->count.load(std::memory_order_relaxed);
  {
    std::shared_lock lock(impl_->mu);
    s.providers = impl_->providers.size();
  }
  return s;
}

}  // namespace gatehouse::core::model
