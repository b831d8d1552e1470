#pragma once
// GATEHOUSE_PLUGIN(BridgeClass, schema, "description"): the plugin's one exported entry point.
// Include this header in exactly one .cpp of the plugin (by convention plugin_entry.cpp):
//
//   #include <gatehouse/sdk/plugin.h>
//   #include "my_bridge.h"
//   GATEHOUSE_PLUGIN(my::MyBridge, my::kMySchema, "Brings My devices in");
//
// It defines extern "C" gh_plugin_entry() returning a static descriptor (ABI version, kind
// bridge, name, version, the schema's table and the adapter's exception-safe trampolines).
// `schema` names a ConfigSchema object with static storage duration (namespace scope).
// The name and version come from GH_PLUGIN_NAME / GH_PLUGIN_VERSION, which CMake's
// gatehouse_add_plugin(NAME ... VERSION ...) defines, so that they always equal the signed
// manifest's.

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/bridge.h"

#if !defined(GH_PLUGIN_NAME) || !defined(GH_PLUGIN_VERSION)
#error "GH_PLUGIN_NAME and GH_PLUGIN_VERSION are not defined: build the plugin with gatehouse_add_plugin(<target> NAME <name> VERSION <x.y.z> SOURCES ...) from GatehousePlugin.cmake (find_package(GatehouseSDK)), which defines them to match the signed manifest."
#endif

#define GATEHOUSE_PLUGIN(BridgeClass, schema, description)                                       \
  extern "C" GH_PLUGIN_EXPORT const gh_plugin_descriptor* gh_plugin_entry(void) noexcept {       \
    static const gh_plugin_descriptor gatehouse_sdk_descriptor_ =                                \
        ::gatehouse::sdk::detail::makeDescriptor<BridgeClass, &schema>(GH_PLUGIN_NAME,           \
                                                                       GH_PLUGIN_VERSION,        \
                                                                       description);             \
    return &gatehouse_sdk_descriptor_;                                                           \
  }                                                                                              \
  static_assert(sizeof(GH_PLUGIN_NAME) > 1 && sizeof(GH_PLUGIN_VERSION) > 1,                     \
                "GH_PLUGIN_NAME and GH_PLUGIN_VERSION must be non-empty string literals")
