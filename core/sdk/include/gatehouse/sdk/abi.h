/* Gatehouse plugin ABI, version 1.0 — the only contract between the gateway (the host) and a
 * plugin (a shared library). Pure C: no C++, POCO or standard-library type crosses it.
 *
 * A plugin exports exactly one symbol, GH_PLUGIN_ENTRY_SYMBOL ("gh_plugin_entry"), a function
 * taking nothing and returning a pointer to a const gh_plugin_descriptor with static storage.
 * Before calling anything else the host checks abi_major == GH_ABI_MAJOR,
 * abi_minor <= the host's GH_ABI_MINOR, and struct_size >= the size of the descriptor of the
 * minor the plugin declares; any mismatch refuses the plugin.
 *
 * Compatibility rules (append-only):
 *   - a new minor only appends members at the end of gh_plugin_descriptor and gh_host_api, and
 *     only adds values to the GH_* constant families; a plugin built against minor M runs on any
 *     host of the same major and minor >= M;
 *   - a member that exists is never retyped, reordered or given a new meaning;
 *   - integers with a fixed width are used in every struct (no C enums in structs).
 *
 * Threads (the rule for every function below):
 *   - descriptor functions create, configure, start, stop and destroy are called by the host's
 *     control thread, one at a time, in that order (configure at most once, before start; stop
 *     only after a successful start; destroy last, even after a failed configure or start);
 *   - set and act are called on a host request thread, possibly several at once, only between a
 *     successful start and stop; they must not block: answer later with gh_host_api.complete;
 *   - every gh_host_api function may be called from any thread, including the plugin's own I/O
 *     threads, concurrently, at any time between create returning and destroy being called;
 *   - after stop returns, the plugin must no longer call the host from any thread (join your
 *     threads in stop); calls made anyway are ignored and return GH_ERR_UNAVAILABLE.
 *
 * Ownership: every pointer passed in a call is borrowed for the duration of that call only
 * (copy what you keep); every pointer a plugin returns in its descriptor must stay valid until
 * the library is unloaded. Strings are NUL-terminated UTF-8 unless a size is given.
 *
 * Errors: a function returning gh_status returns GH_OK or one of the GH_ERR_* codes. Functions
 * that take (char* err, size_t err_capacity) write a NUL-terminated message a person can act on
 * into err (truncated to err_capacity, which is at least 256) when they fail. No C++ exception
 * may leave any function of this ABI (the SDK's C++ adapter catches everything).
 */
#ifndef GATEHOUSE_SDK_ABI_H
#define GATEHOUSE_SDK_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GH_ABI_MAJOR 1u
#define GH_ABI_MINOR 0u
#define GH_PLUGIN_ENTRY_SYMBOL "gh_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define GH_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define GH_PLUGIN_EXPORT
#endif

/* --- status codes --------------------------------------------------------------------------- */
typedef int32_t gh_status;
#define GH_OK 0
#define GH_ERR_INVALID_ARGUMENT 1 /* bad name, type, value or parameters (HTTP 400) */
#define GH_ERR_NOT_FOUND 2        /* no such provider/service/resource (404) */
#define GH_ERR_NOT_ALLOWED 3      /* the operation is not allowed on this target (405) */
#define GH_ERR_CONFLICT 4         /* the state does not allow it now (409) */
#define GH_ERR_UNAVAILABLE 5      /* the device or the plugin is not reachable or stopped (503) */
#define GH_ERR_TIMEOUT 6          /* the device did not answer in time (504) */
#define GH_ERR_INTERNAL 7         /* a bug or an unexpected failure (500) */

/* --- plugin kinds --------------------------------------------------------------------------- */
#define GH_PLUGIN_KIND_BRIDGE 1u   /* brings devices in (southbound) */
#define GH_PLUGIN_KIND_SECURITY 2u /* reserved for security modules */

/* --- value types (the model's resource types) ----------------------------------------------- */
#define GH_TYPE_INT 1u     /* 32-bit integer, carried in gh_value.i */
#define GH_TYPE_LONG 2u    /* 64-bit integer, gh_value.i */
#define GH_TYPE_DOUBLE 3u  /* gh_value.d */
#define GH_TYPE_BOOLEAN 4u /* gh_value.i: 0 or 1 */
#define GH_TYPE_STRING 5u  /* gh_value.data/size: UTF-8 text */
#define GH_TYPE_JSON 6u    /* gh_value.data/size: one JSON value as text */
#define GH_TYPE_BYTES 7u   /* gh_value.data/size: raw bytes */

/* --- resource kinds and mutability ---------------------------------------------------------- */
#define GH_KIND_SENSOR 1u
#define GH_KIND_STATE_VARIABLE 2u
#define GH_KIND_PROPERTY 3u
#define GH_KIND_ACTION 4u
#define GH_MUTABILITY_MODIFIABLE 1u /* SET goes to the owner */
#define GH_MUTABILITY_UPDATABLE 2u  /* only the owner pushes */
#define GH_MUTABILITY_FIXED 3u

/* --- log levels and plugin states ----------------------------------------------------------- */
#define GH_LOG_TRACE 0u
#define GH_LOG_DEBUG 1u
#define GH_LOG_INFO 2u
#define GH_LOG_WARN 3u
#define GH_LOG_ERROR 4u

#define GH_STATE_RUNNING 1u  /* working normally */
#define GH_STATE_DEGRADED 2u /* running, but e.g. its broker or device is unreachable; retrying */
#define GH_STATE_FAILED 3u   /* gave up; the host shows it failed with the message */

/* --- values --------------------------------------------------------------------------------- */
/* A typed value. is_null != 0 means "no value" of that type. For STRING, JSON and BYTES, data
 * points to size bytes (not necessarily NUL-terminated), borrowed for the call. */
typedef struct gh_value {
  uint32_t type;    /* GH_TYPE_* */
  uint32_t is_null; /* 0 or 1 */
  int64_t i;        /* INT, LONG, BOOLEAN */
  double d;         /* DOUBLE */
  const char* data; /* STRING, JSON, BYTES */
  size_t size;
} gh_value;

typedef struct gh_named_value {
  const char* name;
  gh_value value;
} gh_named_value;

/* --- declarations (plugin -> host) ----------------------------------------------------------- */
typedef struct gh_action_param {
  const char* name;
  uint32_t type;     /* GH_TYPE_* */
  uint32_t optional; /* 0 or 1 */
  uint32_t has_min;  /* numeric bounds, checked by the host before act is called */
  uint32_t has_max;
  double min;
  double max;
} gh_action_param;

/* Declares a resource (and its provider and service when missing). Re-declaring with the same
 * type keeps the current value. struct_size = sizeof(gh_resource_decl) of the plugin's SDK. */
typedef struct gh_resource_decl {
  uint32_t struct_size;
  uint32_t kind;       /* GH_KIND_* */
  uint32_t mutability; /* GH_MUTABILITY_* */
  uint32_t type;       /* GH_TYPE_* of the value (ACTION: ignored) */
  const char* provider;
  const char* service;
  const char* resource;
  const char* unit;        /* NULL or "" for none */
  const char* description; /* NULL or "" for none */
  const gh_action_param* params; /* ACTION only; NULL when param_count is 0 */
  size_t param_count;
  uint32_t result_type;       /* ACTION only: GH_TYPE_* of what act answers */
  uint32_t reserved;          /* 0 */
  const char* provider_model; /* NULL or "": model name given to a provider created here */
} gh_resource_decl;

/* --- configuration schema (plugin -> host) and values (host -> plugin) ---------------------- */
#define GH_CONFIG_STRING 1u
#define GH_CONFIG_INT 2u
#define GH_CONFIG_BOOL 3u
#define GH_CONFIG_DOUBLE 4u
#define GH_CONFIG_ENUM 5u        /* a string, one of `allowed` */
#define GH_CONFIG_STRING_LIST 6u /* a YAML sequence of strings */

#define GH_CONFIG_REQUIRED 1u /* the operator must set it (no default) */
#define GH_CONFIG_SECRET 2u   /* never logged or shown; the host redacts it */

/* One key of a plugin's config block. The host validates the operator's block against the
 * plugin's table (unknown, duplicate, wrong-typed, out-of-range keys stop the start with
 * FILE:LINE:COL and the key path) before configure is called. */
typedef struct gh_config_field {
  const char* key;           /* snake_case */
  uint32_t type;             /* GH_CONFIG_* */
  uint32_t flags;            /* GH_CONFIG_REQUIRED | GH_CONFIG_SECRET */
  const char* default_value; /* YAML scalar text ("1000", "true", "sim"); NULL only when REQUIRED
                                (STRING_LIST: ignored, lists default to empty) */
  int64_t min_int;           /* INT bounds (inclusive); 0 and 0 means unbounded */
  int64_t max_int;
  double min_double; /* DOUBLE bounds (inclusive); 0 and 0 means unbounded */
  double max_double;
  const char* allowed;     /* ENUM: the allowed values separated by '|' */
  const char* description; /* one line, for docs and errors */
} gh_config_field;

/* A validated value: type is the field's GH_CONFIG_*; value holds it (STRING/ENUM as
 * GH_TYPE_STRING, INT as GH_TYPE_LONG, BOOL as GH_TYPE_BOOLEAN, DOUBLE as GH_TYPE_DOUBLE);
 * STRING_LIST uses items/item_count instead. Every declared key is present, defaults filled in. */
typedef struct gh_config_entry {
  const char* key;
  uint32_t type;
  uint32_t from_file; /* 1 when the operator wrote it, 0 when defaulted */
  gh_value value;
  const char* const* items;
  size_t item_count;
} gh_config_entry;

/* --- host callbacks (host -> plugin, called by the plugin) ----------------------------------- */
typedef struct gh_host gh_host;     /* opaque: the host's handle for one plugin instance */
typedef uint64_t gh_request_id;     /* identifies one SET or ACT awaiting its answer */

typedef struct gh_host_api {
  uint32_t struct_size; /* sizeof(gh_host_api) of the host; check before using a later member */
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved;

  /* Creates the provider (with its admin service) when missing; idempotent. model may be NULL. */
  gh_status (*declare_provider)(gh_host* host, const char* provider, const char* model);
  /* Creates or redefines a resource; the plugin becomes the owner that answers its SET/ACT. */
  gh_status (*declare_resource)(gh_host* host, const gh_resource_decl* decl);
  /* Stores a new value; unknown names are created as SENSOR resources of the value's type.
   * timestamp_ms: milliseconds since the Unix epoch, 0 = now; an update older than the stored
   * one is ignored (GH_OK). The hot path: cheap, never blocks on slow subscribers. */
  gh_status (*push)(gh_host* host, const char* provider, const char* service, const char* resource,
                    const gh_value* value, int64_t timestamp_ms);
  gh_status (*set_metadata)(gh_host* host, const char* provider, const char* service,
                            const char* resource, const char* key, const gh_value* value,
                            int64_t timestamp_ms);
  /* Removes a provider this plugin declared, with everything under it. */
  gh_status (*remove_provider)(gh_host* host, const char* provider);
  /* Answers a SET (result = the value the device accepted) or an ACT (result = the action's
   * result, may be NULL). Exactly once per request id; status != GH_OK fails the request with
   * message (may be NULL). Unknown or already answered ids are ignored. */
  void (*complete)(gh_host* host, gh_request_id request, gh_status status, const gh_value* result,
                   const char* message);
  /* Tells the operator how the plugin is doing (GET /sensinact/runtime/plugins). */
  void (*report_status)(gh_host* host, uint32_t state, const char* message);
  /* One line in the gateway's log, attributed to the plugin. Never log secrets or payloads. */
  void (*log)(gh_host* host, uint32_t level, const char* message);
  /* The message of the last failed call made by this thread, valid until this thread's next
   * call into the host. Never NULL. */
  const char* (*last_error)(gh_host* host);
} gh_host_api;

/* --- the descriptor (plugin -> host) ---------------------------------------------------------- */
typedef struct gh_plugin gh_plugin; /* opaque: the plugin's instance */

typedef struct gh_plugin_descriptor {
  uint32_t abi_major;   /* GH_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* GH_ABI_MINOR the plugin was built with */
  uint32_t struct_size; /* sizeof(gh_plugin_descriptor) as the plugin was built */
  uint32_t kind;        /* GH_PLUGIN_KIND_* */
  const char* name;     /* [a-z0-9_-]{1,64}; equals the signed manifest's name */
  const char* version;  /* semantic version "MAJOR.MINOR.PATCH"; equals the manifest's */
  const char* description;
  const gh_config_field* config_fields; /* the plugin's config schema; may be NULL */
  size_t config_field_count;

  /* Makes an instance bound to host/api (both valid until destroy returns). NULL on failure,
   * with a message in err. Must not start threads or do I/O. */
  gh_plugin* (*create)(gh_host* host, const gh_host_api* api, char* err, size_t err_capacity);
  /* Receives the validated config block: one entry per declared field. */
  gh_status (*configure)(gh_plugin* plugin, const gh_config_entry* entries, size_t count, char* err,
                         size_t err_capacity);
  /* Declares devices and starts the plugin's threads. May block briefly (a few seconds at most);
   * connect to remote peers asynchronously and report GH_STATE_DEGRADED while retrying. */
  gh_status (*start)(gh_plugin* plugin, char* err, size_t err_capacity);
  /* Stops and joins every thread of the plugin; no host call may follow. */
  void (*stop)(gh_plugin* plugin);
  /* Frees the instance. */
  void (*destroy)(gh_plugin* plugin);
  /* SET on a MODIFIABLE resource the plugin declared; value is already of the declared type.
   * Answer with api->complete(host, request, ...), now or later, from any thread. May be NULL
   * (the host answers "not allowed"). */
  void (*set)(gh_plugin* plugin, gh_request_id request, const char* provider, const char* service,
              const char* resource, const gh_value* value);
  /* ACT on an ACTION resource; params are validated and in declared order. May be NULL. */
  void (*act)(gh_plugin* plugin, gh_request_id request, const char* provider, const char* service,
              const char* resource, const gh_named_value* params, size_t param_count);
} gh_plugin_descriptor;

/* The one exported symbol's type. */
typedef const gh_plugin_descriptor* (*gh_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GATEHOUSE_SDK_ABI_H */
