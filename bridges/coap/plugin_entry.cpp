// The coap plugin's entry point: everything else is in gatehouse_bridge_coap_lib.
#include <gatehouse/sdk/plugin.h>

#include "coap_bridge.h"

GATEHOUSE_PLUGIN(gatehouse::bridge::coap::CoapBridge, gatehouse::bridge::coap::kCoapConfigSchema,
                 "CoAP devices: a push endpoint over UDP and DTLS-PSK (SenML, JSON, CBOR, text)");
