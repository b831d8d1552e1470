// The sim plugin's entry point: everything else is in gatehouse_bridge_sim_lib.
#include <gatehouse/sdk/plugin.h>

#include "sim_bridge.h"

GATEHOUSE_PLUGIN(gatehouse::bridge::sim::SimBridge, gatehouse::bridge::sim::kSimConfigSchema,
                 "Simulated temperature sensors and dimmable lights, for trying the gateway out");
