// The mqtt plugin's entry point: everything else is in gatehouse_bridge_mqtt_lib.
#include <gatehouse/sdk/plugin.h>

#include "mqtt_bridge.h"

GATEHOUSE_PLUGIN(gatehouse::bridge::mqtt::MqttBridge, gatehouse::bridge::mqtt::kMqttConfigSchema,
                 "MQTT devices through declarative topic mappings; TLS/mTLS; SET/ACT over command topics");
