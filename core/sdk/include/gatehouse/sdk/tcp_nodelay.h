#pragma once
// Moved to the bridge kit: gatehouse/kit/tcp_nodelay.h (gatehouse::kit::enableTcpNoDelayTo,
// gatehouse::kit::portOfUri). This forwarder only keeps the northbound MQTT publisher
// (core/src/northbound/mqtt_publisher.cpp, moved into the kit on another branch) compiling.
// TODO(kit merge): delete this file once that publisher includes <gatehouse/kit/tcp_nodelay.h>;
// new code must include the kit header.

#include <gatehouse/kit/tcp_nodelay.h>

namespace gatehouse::sdk {
using kit::enableTcpNoDelayTo;
using kit::portOfUri;
}  // namespace gatehouse::sdk
