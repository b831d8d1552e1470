#include "plugin_host/plugin_host.h"

#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "common/log.h"
#include "gatehouse/kit/config/diagnostics.h"
#include "gatehouse/kit/config/schema.h"
#include "plugin_host/guarded_call.h"
#include "plugin_host/host_api.h"
#include "signing/signing.h"

#ifndef GATEHOUSE_DEFAULT_PLUGIN_DIR
#define GATEHOUSE_DEFAULT_PLUGIN_DIR "/usr/lib/gatehouse/plugins"
#endif
#ifndef GATEHOUSE_DEFAULT_STATE_DIR
#define GATEHOUSE_DEFAULT_STATE_DIR "/var/lib/gatehouse"
#endif

namespace gatehouse::core::plugin_host {

namespace {

namespace fs = std::filesystem;
constexpr const char* kLog = "plugin-host";
constexpr std::size_t kErrCapacity = 512;
constexpr std::size_t kMaxConfigFields = 256;
constexpr std::size_t kSigFileMaxBytes = 4096;

std::string hostAbi() { return std::to_string(GH_ABI_MAJOR) + "." + std::to_string(GH_ABI_MINOR); }

// Size of gh_plugin_descriptor as ABI 1.0 defines it (up to and including `act`).
constexpr std::size_t kDescriptorSize10 = offsetof(gh_plugin_descriptor, act) + sizeof(void*);

std::string errText(const char* buffer) { return sanitizeText(buffer, kErrCapacity); }

// One loaded shared library: the sealed bytes it came from stay open while it is mapped (the
// /proc/self/fd/N name must not be reused for another library while this one is loaded).
struct Library {
  signing::SealedImage image;
  void* handle = nullptr;
  const gh_plugin_descriptor* descriptor = nullptr;
  signing::Manifest manifest;
  // Its code crashed: never unmapped, since its threads or state may still refer to it. Such a
  // library is kept in Impl::graveyard so its memfd stays open too.
  bool leak = false;

  explicit Library(signing::SealedImage img) : image(std::move(img)) {}
  ~Library() {
    if (handle != nullptr && !leak) dlclose(handle);
  }
};

// One running (or failed) instance of a plugin.
struct Instance {
  std::shared_ptr<Library> library;
  std::shared_ptr<gh_host> host;
  bool started = false;
  std::string settingsText;   // the config block as last applied, to notice changes
};

struct Slot {
  PluginStatus status;
  std::unique_ptr<Instance> running;
};

// A failed step: which state the plugin ends in, and why.
struct Failure {
  std::string state;
  std::string reason;
  bool badSettings = false;   // the operator's config block does not match the plugin's schema
};

std::string settingsText(const config::PluginBlock& block) { return YAML::Dump(block.settings); }

// --- the plugin's config schema, as the core's schema engine understands it -----------------

Result<kit::config::Schema> schemaOf(const gh_plugin_descriptor& d) {
  kit::config::Schema schema;
  if (d.config_field_count == 0) return schema;
  if (d.config_fields == nullptr) return makeError(ErrorCode::BadRequest, "config_fields is NULL");
  if (d.config_field_count > kMaxConfigFields) {
    return makeError(ErrorCode::BadRequest, "declares more than " + std::to_string(kMaxConfigFields) + " config keys");
  }
  for (std::size_t i = 0; i < d.config_field_count; ++i) {
    const gh_config_field& f = d.config_fields[i];
    const std::string key = sanitizeText(f.key, 64);
    if (key.empty()) return makeError(ErrorCode::BadRequest, "config field " + std::to_string(i) + " has no key");
    for (char ch : key) {
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
        return makeError(ErrorCode::BadRequest, "config key \"" + key + "\" is not snake_case");
      }
    }
    for (const auto& existing : schema.fields) {
      if (existing.key == key) return makeError(ErrorCode::BadRequest, "config key \"" + key + "\" is declared twice");
    }
    const std::string def = f.default_value == nullptr ? std::string() : sanitizeText(f.default_value, 1024);
    const bool required = (f.flags & GH_CONFIG_REQUIRED) != 0;
    const bool hasDefault = f.default_value != nullptr;
    kit::config::Field field;
    auto badDefault = [&] {
      return makeError(ErrorCode::BadRequest, "config key \"" + key + "\" has an invalid default \"" + def + "\"");
    };
    switch (f.type) {
      case GH_CONFIG_STRING: field = kit::config::Field::string(key, def); break;
      case GH_CONFIG_INT: {
        std::int64_t v = 0;
        if (hasDefault) {
          char* end = nullptr;
          errno = 0;
          v = std::strtoll(def.c_str(), &end, 10);
          if (def.empty() || errno != 0 || *end != '\0') return badDefault();
        }
        field = kit::config::Field::integer(key, v);
        if (f.min_int != 0 || f.max_int != 0) {
          if (f.min_int > f.max_int) return makeError(ErrorCode::BadRequest, "config key \"" + key + "\": min > max");
          field.range(f.min_int, f.max_int);
        }
        break;
      }
      case GH_CONFIG_BOOL:
        if (hasDefault && def != "true" && def != "false") return badDefault();
        field = kit::config::Field::boolean(key, def == "true");
        break;
      case GH_CONFIG_DOUBLE: {
        double v = 0;
        if (hasDefault) {
          char* end = nullptr;
          v = std::strtod(def.c_str(), &end);
          if (def.empty() || *end != '\0') return badDefault();
        }
        field = kit::config::Field::number(key, v);
        if (f.min_double != 0 || f.max_double != 0) {
          if (!(f.min_double <= f.max_double)) return makeError(ErrorCode::BadRequest, "config key \"" + key + "\": min > max");
          field.numberRange(f.min_double, f.max_double);
        }
        break;
      }
      case GH_CONFIG_ENUM: {
        std::vector<std::string> allowed;
        const std::string list = f.allowed == nullptr ? std::string() : sanitizeText(f.allowed, 4096);
        std::size_t start = 0;
        while (start <= list.size() && !list.empty()) {
          const std::size_t bar = list.find('|', start);
          allowed.push_back(list.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
          if (bar == std::string::npos) break;
          start = bar + 1;
        }
        if (allowed.empty()) return makeError(ErrorCode::BadRequest, "enum config key \"" + key + "\" allows no value");
        if (hasDefault && std::find(allowed.begin(), allowed.end(), def) == allowed.end()) return badDefault();
        field = kit::config::Field::oneOf(key, hasDefault ? def : allowed.front(), allowed);
        break;
      }
      case GH_CONFIG_STRING_LIST: field = kit::config::Field::stringList(key); break;
      default:
        return makeError(ErrorCode::BadRequest, "config key \"" + key + "\" has unknown type " + std::to_string(f.type));
    }
    if (!hasDefault && !required && f.type != GH_CONFIG_STRING_LIST) {
      return makeError(ErrorCode::BadRequest, "config key \"" + key + "\" has neither a default nor the REQUIRED flag");
    }
    if (required) field.require();
    field.doc(sanitizeText(f.description, 512));
    schema.fields.push_back(std::move(field));
  }
  return schema;
}

// The validated values as the plugin receives them; owns every string the entries point to.
struct ConfigEntries {
  std::vector<gh_config_entry> entries;
  std::vector<std::unique_ptr<std::string>> strings;
  std::vector<std::vector<const char*>> lists;

  const char* keep(std::string s) {
    strings.push_back(std::make_unique<std::string>(std::move(s)));
    return strings.back()->c_str();
  }
};

std::unique_ptr<ConfigEntries> entriesOf(const gh_plugin_descriptor& d, const kit::config::Values& values) {
  auto out = std::make_unique<ConfigEntries>();
  out->lists.reserve(d.config_field_count);
  for (std::size_t i = 0; i < d.config_field_count; ++i) {
    const gh_config_field& f = d.config_fields[i];
    const std::string key = sanitizeText(f.key, 64);
    const kit::config::Values::Entry* entry = values.find(key);
    gh_config_entry e{};
    e.key = out->keep(key);
    e.type = f.type;
    e.from_file = (entry != nullptr && entry->fromFile) ? 1 : 0;
    switch (f.type) {
      case GH_CONFIG_STRING:
      case GH_CONFIG_ENUM: {
        const char* s = out->keep(values.getString(key));
        e.value.type = GH_TYPE_STRING;
        e.value.data = s;
        e.value.size = std::strlen(s);
        break;
      }
      case GH_CONFIG_INT:
        e.value.type = GH_TYPE_LONG;
        e.value.i = values.getInt(key);
        break;
      case GH_CONFIG_BOOL:
        e.value.type = GH_TYPE_BOOLEAN;
        e.value.i = values.getBool(key) ? 1 : 0;
        break;
      case GH_CONFIG_DOUBLE:
        e.value.type = GH_TYPE_DOUBLE;
        e.value.d = values.getDouble(key);
        break;
      case GH_CONFIG_STRING_LIST: {
        std::vector<const char*> items;
        for (const auto& s : values.getStringList(key)) items.push_back(out->keep(s));
        out->lists.push_back(std::move(items));
        e.items = out->lists.back().data();
        e.item_count = out->lists.back().size();
        break;
      }
      default: break;
    }
    out->entries.push_back(e);
  }
  return out;
}

}  // namespace

std::string pluginFileName(const std::string& name) { return "gh-" + name + ".so"; }

PluginHostOptions optionsFromConfig(const config::Config& cfg) {
  PluginHostOptions o;
  const fs::path base = cfg.sourcePath.empty() ? fs::current_path() : fs::absolute(fs::path(cfg.sourcePath)).parent_path();
  auto resolve = [&](const std::string& p) -> std::string {
    if (p.empty()) return p;
    const fs::path path(p);
    return (path.is_absolute() ? path : base / path).lexically_normal().string();
  };
  const auto& h = cfg.pluginHost;
  o.directory = h.directory.empty() ? std::string(GATEHOUSE_DEFAULT_PLUGIN_DIR) : resolve(h.directory);
  o.trustStore = h.trustStore.empty() ? (fs::path(o.directory) / "trust").string() : resolve(h.trustStore);
  o.revocationListOptional = h.revocationList.empty();
  o.revocationList = h.revocationList.empty() ? (fs::path(o.directory) / "revoked.txt").string() : resolve(h.revocationList);
  o.stateDir = h.stateDir.empty() ? std::string(GATEHOUSE_DEFAULT_STATE_DIR) : resolve(h.stateDir);
  o.maxFileBytes = h.maxFileBytes;
  o.checkOwner = h.checkOwner;
  o.configPath = cfg.sourcePath;
  return o;
}

struct PluginHost::Impl {
  model::Model& model;
  PluginHostOptions options;
  std::optional<signing::VersionStore> versions;
  std::string versionsError;

  mutable std::mutex mu;                 // guards slots' statuses (read by REST threads)
  std::map<std::string, Slot> slots;     // by name
  std::vector<std::string> order;        // config order
  // What crashed plugins leave behind is kept for the life of the process, beyond this host's:
  // the library (its code may still run on its own threads) and its host handle (those threads
  // may still call it).
  static void bury(const std::shared_ptr<Library>& library, const std::shared_ptr<gh_host>& host = nullptr) {
    static std::mutex graveMu;
    static auto* graveyard = new std::vector<std::shared_ptr<void>>();   // never freed, by design
    library->leak = true;
    std::lock_guard lock(graveMu);
    graveyard->push_back(library);
    if (host) graveyard->push_back(host);
  }

  Impl(model::Model& m, PluginHostOptions o) : model(m), options(std::move(o)) {
    auto v = signing::VersionStore::open(options.stateDir);
    if (v) {
      versions.emplace(std::move(*v));
    } else {
      versionsError = v.error().message;
      log::error(kLog, "cannot open the plugin version store: " + versionsError + "; every plugin will be refused");
    }
  }

  // The trust store and revocation list, read once per load, reload or check (not per plugin:
  // decoding every key again for each plugin was a third of the start-up time).
  std::optional<signing::TrustStore> trust;
  std::string trustError;
  std::optional<signing::RevocationList> revoked;   // empty when the optional list is absent
  std::string revokedError;

  void refreshTrust() {
    trust.reset();
    trustError.clear();
    if (auto t = signing::TrustStore::loadDirectory(options.trustStore)) {
      trust.emplace(std::move(*t));
    } else {
      trustError = t.error().message;
    }
    revoked.reset();
    revokedError.clear();
    if (auto r = signing::RevocationList::loadFile(options.revocationList)) {
      revoked.emplace(std::move(*r));
    } else if (!(r.error().code == ErrorCode::NotFound && options.revocationListOptional)) {
      revokedError = r.error().message;
    }
  }

  void setStatus(const std::string& name, const PluginStatus& status) {
    std::lock_guard lock(mu);
    slots[name].status = status;
  }

  // Steps 1-4: read, verify and load the library; refuses with the reason.
  std::shared_ptr<Library> openLibrary(const std::string& name, PluginStatus& status, Failure& failure) {
    auto refuse = [&](std::string reason) -> std::shared_ptr<Library> {
      failure = Failure{"refused", std::move(reason)};
      return nullptr;
    };
    if (!versions) return refuse("the version store is unusable: " + versionsError);
    const std::string path = (fs::path(options.directory) / pluginFileName(name)).string();
    status.file = path;

    if (!trust) return refuse("trust store: " + trustError);
    if (!revokedError.empty()) return refuse("revocation list: " + revokedError);
    const signing::RevocationList* revokedList = revoked ? &*revoked : nullptr;

    signing::FilePolicy policy;
    policy.maxBytes = options.maxFileBytes;
    policy.checkOwner = options.checkOwner;
    auto image = signing::readSealed(path, policy);
    if (!image) return refuse(image.error().message);
    status.sha256 = image->sha256Hex();

    signing::FilePolicy sigPolicy = policy;
    sigPolicy.maxBytes = kSigFileMaxBytes;
    auto sig = signing::readSealed(path + ".sig", sigPolicy);
    if (!sig) {
      return refuse(sig.error().code == ErrorCode::NotFound ? "no signature: " + sig.error().message : sig.error().message);
    }

    signing::VerifyPolicy vp;
    vp.trust = &*trust;
    vp.revoked = revokedList;
    vp.versions = &*versions;
    vp.nowEpochSeconds = static_cast<std::int64_t>(std::time(nullptr));
    vp.hostAbi = hostAbi();
    signing::VerifyOutcome outcome = signing::verifySignature(*image, sig->bytes(), vp);
    if (outcome.failure != signing::VerifyFailure::None) return refuse(outcome.reason);
    const signing::Manifest& manifest = outcome.signature.manifest;
    status.version = manifest.version;
    status.keyId = manifest.keyId;
    if (manifest.name != name) {
      return refuse("the signature is for plugin \"" + manifest.name + "\", not \"" + name + "\"");
    }

    auto elf = signing::inspectElf(image->bytes());
    if (!elf) return refuse(elf.error().message);

    if (options.afterVerify) options.afterVerify(path);

    auto library = std::make_shared<Library>(std::move(*image));
    library->manifest = manifest;

    // Constructors run here: only ever for verified bytes. Guarded, as any plugin code.
    const std::string procPath = library->image.procPath();
    std::string dlError;
    const GuardResult loaded = runGuarded([&] {
      library->handle = dlopen(procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (library->handle == nullptr) {
        const char* e = dlerror();
        dlError = e != nullptr ? e : "unknown error";
      }
    });
    if (loaded.outcome != GuardOutcome::Returned) {
      bury(library);
      failure = Failure{"failed", "crashed while being loaded: " + loaded.what};
      return nullptr;
    }
    if (library->handle == nullptr) {
      return refuse("cannot be loaded: " + sanitizeText(dlError.c_str(), 512));
    }
    dlerror();
    void* entry = dlsym(library->handle, GH_PLUGIN_ENTRY_SYMBOL);
    if (entry == nullptr) {
      return refuse(std::string("does not export the entry point ") + GH_PLUGIN_ENTRY_SYMBOL + " (not a Gatehouse plugin?)");
    }
    const gh_plugin_descriptor* descriptor = nullptr;
    const GuardResult called = runGuarded([&] {
      descriptor = reinterpret_cast<gh_plugin_entry_fn>(entry)();
    });
    if (called.outcome != GuardOutcome::Returned) {
      if (called.outcome == GuardOutcome::Crashed) bury(library);
      failure = Failure{"failed", std::string(GH_PLUGIN_ENTRY_SYMBOL) + " failed: " + called.what};
      return nullptr;
    }
    if (descriptor == nullptr) return refuse(std::string(GH_PLUGIN_ENTRY_SYMBOL) + " returned NULL");

    // Only the three leading members are read before the size is known to be sufficient.
    if (descriptor->abi_major != GH_ABI_MAJOR) {
      return refuse("built for plugin ABI " + std::to_string(descriptor->abi_major) + "." +
                    std::to_string(descriptor->abi_minor) + "; this gateway runs ABI " + hostAbi() +
                    " (a different major version is incompatible)");
    }
    if (descriptor->abi_minor > GH_ABI_MINOR) {
      return refuse("built for plugin ABI " + std::to_string(descriptor->abi_major) + "." +
                    std::to_string(descriptor->abi_minor) + ", newer than this gateway's ABI " + hostAbi() +
                    "; upgrade the gateway");
    }
    if (descriptor->struct_size < kDescriptorSize10) {
      return refuse("its descriptor is " + std::to_string(descriptor->struct_size) + " bytes, shorter than the " +
                    std::to_string(kDescriptorSize10) + " bytes ABI " + std::to_string(descriptor->abi_major) + "." +
                    std::to_string(descriptor->abi_minor) + " requires");
    }
    const std::string abiText = std::to_string(descriptor->abi_major) + "." + std::to_string(descriptor->abi_minor);
    if (manifest.abi != abiText) {
      return refuse("the manifest says ABI " + manifest.abi + " but the plugin declares ABI " + abiText);
    }
    const std::string dName = sanitizeText(descriptor->name, 65);
    const std::string dVersion = sanitizeText(descriptor->version, 65);
    if (dName != manifest.name || dVersion != manifest.version) {
      return refuse("the plugin calls itself \"" + dName + "\" " + dVersion + " but its signed manifest says \"" +
                    manifest.name + "\" " + manifest.version);
    }
    if (descriptor->kind != GH_PLUGIN_KIND_BRIDGE) {
      return refuse("plugin kind " + std::to_string(descriptor->kind) + " is not supported by this gateway (bridge = 1)");
    }
    if (descriptor->create == nullptr || descriptor->start == nullptr || descriptor->stop == nullptr ||
        descriptor->destroy == nullptr) {
      return refuse("its descriptor lacks create, start, stop or destroy");
    }
    library->descriptor = descriptor;
    return library;
  }

  // Steps 5-6: validates the block, creates, configures and starts an instance.
  std::unique_ptr<Instance> startInstance(const std::string& name, const std::shared_ptr<Library>& library,
                                          const config::PluginBlock& block, Failure& failure,
                                          const std::set<std::string, std::less<>>* inheritedProviders) {
    const gh_plugin_descriptor& d = *library->descriptor;
    auto schema = schemaOf(d);
    if (!schema) {
      failure = Failure{"refused", "declares an invalid config schema: " + schema.error().message};
      return nullptr;
    }
    kit::config::Diagnostics diagnostics;
    const kit::config::Values values = kit::config::validate(block.settings, *schema, "plugins." + name, diagnostics);
    if (!diagnostics.empty()) {
      failure = Failure{"failed", diagnostics.format(options.configPath), true};
      return nullptr;
    }
    auto entries = entriesOf(d, values);

    auto instance = std::make_unique<Instance>();
    instance->library = library;
    instance->settingsText = settingsText(block);
    auto host = std::make_shared<gh_host>();
    host->model = &model;
    host->plugin = name;
    host->owner = name;
    host->descriptor = &d;
    if (inheritedProviders != nullptr) host->providers = *inheritedProviders;
    instance->host = host;

    char err[kErrCapacity] = {0};
    gh_plugin* created = nullptr;
    GuardResult g = runGuarded([&] { created = d.create(host.get(), hostApi(), err, sizeof(err)); });
    if (!checkCall(g, *instance, "create", failure)) return nullptr;
    if (created == nullptr) {
      failure = Failure{"failed", "create failed: " + orUnknown(errText(err))};
      return nullptr;
    }
    host->instance = created;

    gh_status st = GH_OK;
    if (d.configure != nullptr) {
      err[0] = '\0';
      g = runGuarded([&] {
        st = d.configure(created, entries->entries.empty() ? nullptr : entries->entries.data(), entries->entries.size(), err,
                         sizeof(err));
      });
      if (!checkCall(g, *instance, "configure", failure)) return nullptr;
      if (st != GH_OK) {
        failure = Failure{"failed", "configure failed: " + orUnknown(errText(err))};
        destroy(*instance);
        return nullptr;
      }
    }

    model.registerOwner(name, makeCommandHandler(host));
    err[0] = '\0';
    g = runGuarded([&] { st = d.start(created, err, sizeof(err)); });
    if (!checkCall(g, *instance, "start", failure)) {
      model.unregisterOwner(name);
      return nullptr;
    }
    if (st != GH_OK) {
      failure = Failure{"failed", "start failed: " + orUnknown(errText(err))};
      model.unregisterOwner(name);
      destroy(*instance);
      return nullptr;
    }
    instance->started = true;
    return instance;
  }

  static std::string orUnknown(std::string s) { return s.empty() ? "no reason given" : s; }

  // After a guarded call: false (and the failure set) when it threw or crashed.
  bool checkCall(const GuardResult& g, Instance& instance, const char* what, Failure& failure) {
    if (g.outcome == GuardOutcome::Returned) return true;
    if (g.outcome == GuardOutcome::Crashed) {
      bury(instance.library, instance.host);
      instance.host->crashed.store(true);
      deactivate(*instance.host, "plugin " + instance.host->plugin + " crashed");
      failure = Failure{"failed", std::string(what) + " crashed: " + g.what};
      removeProviders(*instance.host);
    } else {
      failure = Failure{"failed", std::string(what) + " threw across the ABI: " + g.what};
      if (instance.host->instance != nullptr) destroy(instance);
    }
    return false;
  }

  void destroy(Instance& instance) {
    gh_host& host = *instance.host;
    deactivate(host, "plugin " + host.plugin + " stopped");
    if (host.instance == nullptr || host.crashed.load()) return;
    const gh_plugin_descriptor* d = host.descriptor;
    gh_plugin* p = host.instance;
    host.instance = nullptr;
    const GuardResult g = runGuarded([&] { d->destroy(p); });
    if (g.outcome == GuardOutcome::Crashed) bury(instance.library, instance.host);
    if (g.outcome != GuardOutcome::Returned) log::error(kLog, "plugin " + host.plugin + ": destroy " + g.what);
  }

  // Stops a started instance; its providers stay (the caller removes or hands them over).
  void stopInstance(Instance& instance) {
    gh_host& host = *instance.host;
    if (host.crashed.load()) bury(instance.library, instance.host);   // crashed handling a request
    model.unregisterOwner(host.plugin);
    if (instance.started && !host.crashed.load() && host.instance != nullptr) {
      const gh_plugin_descriptor* d = host.descriptor;
      gh_plugin* p = host.instance;
      const GuardResult g = runGuarded([&] { d->stop(p); });
      if (g.outcome == GuardOutcome::Crashed) {
        bury(instance.library, instance.host);
        host.crashed.store(true);
      }
      if (g.outcome != GuardOutcome::Returned) log::error(kLog, "plugin " + host.plugin + ": stop " + g.what);
    }
    instance.started = false;
    destroy(instance);
  }

  void removeProviders(gh_host& host) {
    std::set<std::string, std::less<>> providers;
    {
      std::unique_lock lock(host.providersMu);
      providers.swap(host.providers);
    }
    for (const auto& p : providers) (void)model.removeProvider(p);
  }

  PluginStatus runningStatus(const std::string& name, const Library& library, const PluginStatus& base) {
    PluginStatus s = base;
    s.name = name;
    s.version = library.manifest.version;
    s.keyId = library.manifest.keyId;
    s.sha256 = library.image.sha256Hex();
    s.state = "loaded";
    return s;
  }

  void recordVersion(const std::string& name, const std::string& version) {
    const auto v = signing::parseSemVer(version);
    if (!v || !versions) return;
    if (auto ok = versions->record(name, *v); !ok) {
      log::error(kLog, "plugin " + name + ": cannot persist its version high-water mark: " + ok.error().message);
    }
  }

  // Loads one plugin that is not running; false when its config block is invalid.
  bool loadOne(const config::PluginBlock& block, std::string* settingsProblem = nullptr) {
    const std::string& name = block.name;
    PluginStatus status;
    status.name = name;
    Failure failure;
    auto library = openLibrary(name, status, failure);
    std::unique_ptr<Instance> instance;
    if (library) instance = startInstance(name, library, block, failure, nullptr);
    if (!instance) {
      status.state = failure.state;
      status.reason = failure.reason;
      log::error(kLog, "plugin " + name + " " + failure.state + ": " + failure.reason);
      std::lock_guard lock(mu);
      slots[name].status = status;
      slots[name].running.reset();
      if (failure.badSettings && settingsProblem != nullptr) *settingsProblem = failure.reason;
      return !failure.badSettings;
    }
    recordVersion(name, library->manifest.version);
    status = runningStatus(name, *library, status);
    log::info(kLog, "plugin " + name + " " + status.version + " loaded (signed by key " + status.keyId + ")");
    std::lock_guard lock(mu);
    slots[name].status = status;
    slots[name].running = std::move(instance);
    return true;
  }

  // Stops a running plugin and removes its providers.
  void unload(const std::string& name, const std::string& why, const std::string& state) {
    std::unique_ptr<Instance> instance;
    {
      std::lock_guard lock(mu);
      auto it = slots.find(name);
      if (it == slots.end()) return;
      instance = std::move(it->second.running);
    }
    if (instance) {
      stopInstance(*instance);
      removeProviders(*instance->host);
    }
    std::lock_guard lock(mu);
    auto& s = slots[name].status;
    s.state = state;
    s.reason = why;
    s.health.clear();
  }

  // True when the key that signed a running library is now revoked, or its manifest expired.
  bool runningTrustWithdrawn(const Library& library) {
    if (library.manifest.notAfter < static_cast<std::int64_t>(std::time(nullptr))) return true;
    // An unreadable list that must exist withdraws trust (fail closed); an absent optional one does not.
    if (!revokedError.empty()) return true;
    return revoked && revoked->isRevoked(library.manifest.keyId);
  }

  // Replaces a running plugin by a newly verified library (or the same one, for a new config).
  std::string replace(const config::PluginBlock& block, std::unique_ptr<Instance>& current) {
    const std::string& name = block.name;
    PluginStatus candidate;
    candidate.name = name;
    Failure failure;
    auto library = openLibrary(name, candidate, failure);
    if (!library && !runningTrustWithdrawn(*current->library)) {
      // A bad new file (tampered, unsigned, older): the verified code already running stays.
      std::lock_guard lock(mu);
      auto& s = slots[name].status;
      s.reason = "update refused: " + failure.reason;
      log::error(kLog, "plugin " + name + ": update refused, running version kept: " + failure.reason);
      return name + ": update refused, " + current->library->manifest.version + " kept: " + failure.reason;
    }
    if (!library) {
      // The running version's own signer was revoked or its signature expired: it must stop.
      const std::string reason = failure.reason;
      log::error(kLog, "plugin " + name + " " + failure.state + " on reload: " + reason);
      stopInstance(*current);
      removeProviders(*current->host);
      current.reset();
      std::lock_guard lock(mu);
      auto& s = slots[name].status;
      s.state = failure.state;
      s.reason = reason;
      s.health.clear();
      return name + ": " + failure.state + ": " + reason;
    }
    const bool sameBytes = library->image.sha256Hex() == current->library->image.sha256Hex();
    const bool sameSettings = settingsText(block) == current->settingsText;
    if (sameBytes && sameSettings) return name + ": unchanged";

    // Hand over: the old instance stops, the new one starts with its providers.
    std::set<std::string, std::less<>> providers;
    {
      std::shared_lock lock(current->host->providersMu);
      providers = current->host->providers;
    }
    std::shared_ptr<Library> oldLibrary = current->library;
    stopInstance(*current);
    auto next = startInstance(name, sameBytes ? oldLibrary : library, block, failure, &providers);
    if (!next) {
      log::error(kLog, "plugin " + name + ": the new " + (sameBytes ? "configuration" : "version") + " failed: " +
                           failure.reason + "; restarting the previous one");
      config::PluginBlock previous = block;
      previous.settings = YAML::Load(current->settingsText);
      Failure again;
      next = startInstance(name, oldLibrary, previous, again, &providers);
      if (!next) {
        for (const auto& p : providers) (void)model.removeProvider(p);
        current.reset();
        std::lock_guard lock(mu);
        auto& s = slots[name].status;
        s.state = "failed";
        s.reason = "the update failed (" + failure.reason + ") and the previous version did not restart (" + again.reason + ")";
        return name + ": failed: " + s.reason;
      }
      current = std::move(next);
      std::lock_guard lock(mu);
      auto& s = slots[name].status;
      s = runningStatus(name, *current->library, s);
      s.reason = "update refused: " + failure.reason;
      return name + ": update failed, previous version kept: " + failure.reason;
    }
    const std::string from = oldLibrary->manifest.version;
    current = std::move(next);
    oldLibrary.reset();   // unloads the previous library unless something still refers to it
    recordVersion(name, current->library->manifest.version);
    std::lock_guard lock(mu);
    auto& s = slots[name].status;
    s = runningStatus(name, *current->library, s);
    s.reason.clear();
    const std::string what = sameBytes ? "restarted with its new configuration"
                                       : "replaced " + from + " by " + current->library->manifest.version;
    log::info(kLog, "plugin " + name + ": " + what);
    return name + ": " + what;
  }
};

PluginHost::PluginHost(model::Model& model, PluginHostOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(options))) {}

PluginHost::~PluginHost() { stopAll(); }

Result<void> PluginHost::loadAll(const std::vector<config::PluginBlock>& blocks) {
  impl_->refreshTrust();
  std::string problems;
  for (const auto& block : blocks) {
    {
      std::lock_guard lock(impl_->mu);
      if (std::find(impl_->order.begin(), impl_->order.end(), block.name) == impl_->order.end()) {
        impl_->order.push_back(block.name);
      }
    }
    std::string problem;
    if (!impl_->loadOne(block, &problem)) problems += (problems.empty() ? "" : "\n") + problem;
  }
  if (!problems.empty()) return makeError(ErrorCode::BadRequest, problems);
  return {};
}

std::vector<std::string> PluginHost::reload(const std::vector<config::PluginBlock>& blocks) {
  impl_->refreshTrust();   // a key added to or revoked from the trust store takes effect now
  std::vector<std::string> report;
  // Plugins no longer configured stop first.
  std::vector<std::string> gone;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& name : impl_->order) {
      const bool listed = std::any_of(blocks.begin(), blocks.end(), [&](const auto& b) { return b.name == name; });
      if (!listed) gone.push_back(name);
    }
  }
  for (const auto& name : gone) {
    impl_->unload(name, "removed from the configuration", "stopped");
    log::info(kLog, "plugin " + name + " stopped: removed from the configuration");
    report.push_back(name + ": stopped (removed from the configuration)");
  }
  for (const auto& block : blocks) {
    std::unique_ptr<Instance> current;
    {
      std::lock_guard lock(impl_->mu);
      if (std::find(impl_->order.begin(), impl_->order.end(), block.name) == impl_->order.end()) {
        impl_->order.push_back(block.name);
      }
      auto it = impl_->slots.find(block.name);
      if (it != impl_->slots.end()) current = std::move(it->second.running);
    }
    if (!current) {
      impl_->loadOne(block);
      std::lock_guard lock(impl_->mu);
      const auto& s = impl_->slots[block.name].status;
      report.push_back(block.name + ": " + s.state + (s.reason.empty() ? "" : ": " + s.reason));
      continue;
    }
    report.push_back(impl_->replace(block, current));
    std::lock_guard lock(impl_->mu);
    impl_->slots[block.name].running = std::move(current);
  }
  return report;
}

Result<std::vector<std::string>> PluginHost::checkSettings(const std::vector<config::PluginBlock>& blocks) {
  impl_->refreshTrust();
  std::vector<std::string> notes;
  std::string problems;
  for (const auto& block : blocks) {
    PluginStatus status;
    Failure failure;
    auto library = impl_->openLibrary(block.name, status, failure);
    if (!library) {
      notes.push_back("plugin " + block.name + " " + failure.state + ": " + failure.reason +
                      " (its settings were not checked)");
      continue;
    }
    auto schema = schemaOf(*library->descriptor);
    if (!schema) {
      notes.push_back("plugin " + block.name + " declares an invalid config schema: " + schema.error().message);
      continue;
    }
    kit::config::Diagnostics diagnostics;
    (void)kit::config::validate(block.settings, *schema, "plugins." + block.name, diagnostics);
    if (!diagnostics.empty()) problems += (problems.empty() ? "" : "\n") + diagnostics.format(impl_->options.configPath);
  }
  if (!problems.empty()) return makeError(ErrorCode::BadRequest, problems);
  return notes;
}

void PluginHost::stopAll() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(impl_->mu);
    names = impl_->order;
  }
  // Reverse order of loading, as dependencies would expect.
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    bool running = false;
    {
      std::lock_guard lock(impl_->mu);
      auto slot = impl_->slots.find(*it);
      running = slot != impl_->slots.end() && slot->second.running != nullptr;
    }
    if (running) impl_->unload(*it, "the gateway stopped", "stopped");
  }
}

std::vector<PluginStatus> PluginHost::statuses() const {
  std::lock_guard lock(impl_->mu);
  std::vector<PluginStatus> out;
  for (const auto& name : impl_->order) {
    auto it = impl_->slots.find(name);
    if (it == impl_->slots.end()) continue;
    PluginStatus s = it->second.status;
    if (it->second.running) {
      gh_host& host = *it->second.running->host;
      if (host.crashed.load()) {
        s.state = "failed";
        s.reason = "crashed while handling a request; reload it to restart";
      }
      std::lock_guard hostLock(host.mu);
      switch (host.health) {
        case GH_STATE_DEGRADED: s.health = "degraded"; break;
        case GH_STATE_FAILED: s.health = "failed"; break;
        default: s.health = "running"; break;
      }
      if (!host.healthMessage.empty() && s.reason.empty()) s.reason = host.healthMessage;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace gatehouse::core::plugin_host
