/* bench/plugins/bench_plugin.c: the smallest valid Gatehouse plugin, used by
 * bench/plugin_startup.py to measure what loading a signed plugin costs at gateway start.
 *
 * One source, many plugins: the CMakeLists builds it once per name. Compile definitions:
 *   BENCH_NAME      the plugin's name (config key, signed name, descriptor name), e.g. "bench_01"
 *   BENCH_PROVIDER  the one provider it declares, e.g. "bench-01"
 *   PAD_BYTES       optional: adds that many bytes of read-only data, so the file (and what the
 *                   host reads, hashes, seals and maps) really grows without adding any code
 *
 * It is written straight against the C ABI (no SDK adapter, no C++ runtime) so that what is
 * measured is the host's cost per plugin, not the plugin's. Threads: the host's control thread
 * calls create/configure/start/stop/destroy one at a time; this plugin starts no threads.
 */
#include <stdlib.h>
#include <string.h>

#include "gatehouse/sdk/abi.h"

#ifndef BENCH_NAME
#error BENCH_NAME must be defined (the plugin name, e.g. "bench_01")
#endif
#ifndef BENCH_PROVIDER
#error BENCH_PROVIDER must be defined (the provider name, e.g. "bench-01")
#endif

#ifdef PAD_BYTES
/* Never read by the plugin; `used` keeps the linker from dropping it, and a non-zero first byte
 * keeps it out of .bss, so the file itself is PAD_BYTES larger (check with ls -l). */
static const unsigned char pad[PAD_BYTES] __attribute__((used)) = {1};
#endif

struct gh_plugin {
  gh_host* host;
  const gh_host_api* api;
};

static void copyError(char* err, size_t cap, const char* text) {
  if (err != NULL && cap > 0) {
    strncpy(err, text, cap - 1);
    err[cap - 1] = '\0';
  }
}

static gh_plugin* benchCreate(gh_host* host, const gh_host_api* api, char* err, size_t cap) {
  gh_plugin* p = (gh_plugin*)calloc(1, sizeof(gh_plugin));
  if (p == NULL) {
    copyError(err, cap, BENCH_NAME ": out of memory");
    return NULL;
  }
  p->host = host;
  p->api = api;
  return p;
}

static gh_status benchConfigure(gh_plugin* p, const gh_config_entry* entries, size_t count, char* err, size_t cap) {
  (void)p;
  (void)entries;
  (void)count;
  (void)err;
  (void)cap;
  return GH_OK; /* no settings */
}

/* Declares one provider with one sensor and pushes one value: the least a real bridge does. */
static gh_status benchStart(gh_plugin* p, char* err, size_t cap) {
  gh_resource_decl d;
  memset(&d, 0, sizeof(d));
  d.struct_size = sizeof(d);
  d.kind = GH_KIND_SENSOR;
  d.mutability = GH_MUTABILITY_UPDATABLE;
  d.type = GH_TYPE_DOUBLE;
  d.provider = BENCH_PROVIDER;
  d.service = "bench";
  d.resource = "value";
  d.unit = "1";
  d.provider_model = "bench";
  gh_status st = p->api->declare_resource(p->host, &d);
  if (st != GH_OK) {
    copyError(err, cap, p->api->last_error(p->host));
    return st;
  }
  gh_value v;
  memset(&v, 0, sizeof(v));
  v.type = GH_TYPE_DOUBLE;
  v.d = 1.0;
  st = p->api->push(p->host, BENCH_PROVIDER, "bench", "value", &v, 0);
  if (st != GH_OK) {
    copyError(err, cap, p->api->last_error(p->host));
    return st;
  }
  p->api->report_status(p->host, GH_STATE_RUNNING, "bench plugin running");
  return GH_OK;
}

static void benchStop(gh_plugin* p) { (void)p; }
static void benchDestroy(gh_plugin* p) { free(p); }

static const gh_plugin_descriptor kDescriptor = {
    GH_ABI_MAJOR,
    GH_ABI_MINOR,
    (uint32_t)sizeof(gh_plugin_descriptor),
    GH_PLUGIN_KIND_BRIDGE,
    BENCH_NAME,
    "1.0.0",
    "start-up benchmark plugin (bench/plugins)",
    NULL, /* no config schema */
    0,
    benchCreate,
    benchConfigure,
    benchStart,
    benchStop,
    benchDestroy,
    NULL, /* set: nothing is modifiable */
    NULL, /* act: no actions */
};

GH_PLUGIN_EXPORT const gh_plugin_descriptor* gh_plugin_entry(void) { return &kDescriptor; }
