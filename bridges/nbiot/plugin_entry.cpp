// The nbiot plugin's entry point: everything else is in gatehouse_bridge_nbiot_lib.
#include <gatehouse/sdk/plugin.h>

#include "nbiot_bridge.h"

GATEHOUSE_PLUGIN(gatehouse::bridge::nbiot::NbiotBridge, gatehouse::bridge::nbiot::kNbiotConfigSchema,
                 "NB-IoT devices over UDP through declarative frame layouts; downlinks on the next uplink");
