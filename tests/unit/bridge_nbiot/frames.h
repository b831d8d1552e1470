#pragma once
// Sample frames built from the field tables of docs/nbiot-frames.md, for the NB-IoT layout tests.
#include <cstdint>
#include <string>

#include "gatehouse/bridge/nbiot/layout.h"

namespace gatehouse::bridge::nbiot::testing {

inline const std::string kLayoutsPath = std::string(GATEHOUSE_SOURCE_DIR) + "/etc/nbiot/layouts.yaml";

inline void putBig(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The environmental monitor's table: TYPE 1 B, LENGTH 2 B, N_SEND 4 B, IMEI 16 B (ASCII, NUL
// padded), BATTERY_VOLTAGE 2 B (mV), SONOMETER 2 B (dB), TEMPERATURE 2 B (°C x 10, signed),
// HUMIDITY 2 B (% x 10); big-endian.
struct EnvFrame {
  std::uint8_t type = 0x01;
  int length = -1;   // -1: the right value (the bytes after TYPE and LENGTH)
  std::uint32_t nSend = 0x01020304;
  std::string imei = "867724030000123";
  std::uint16_t batteryMv = 3600;
  std::uint16_t soundDb = 55;
  std::int16_t tenthsC = -52;
  std::uint16_t tenthsPercent = 654;
  std::string extra;   // appended after HUMIDITY

  std::string bytes() const {
    std::string body;
    putBig(body, nSend, 4);
    std::string imeiField = imei;
    imeiField.resize(16, '\0');
    body += imeiField;
    putBig(body, batteryMv, 2);
    putBig(body, soundDb, 2);
    putBig(body, static_cast<std::uint16_t>(tenthsC), 2);
    putBig(body, tenthsPercent, 2);
    body += extra;
    std::string out;
    putBig(out, type, 1);
    putBig(out, length < 0 ? body.size() : static_cast<std::uint64_t>(length), 2);
    return out + body;
  }
};

// The crowd counter: SN@WIFI@YYYYDDMM-hh:mm:ss@TEMPERATURE@NUM_WIFI_PKTS@NUM_WIFI_DEVICES, then MAC@RSSI lines.
inline const std::string kCrowdFrame =
    "CC0042@WIFI@20241503-13:45:07@21.5@1234@3\n"
    "AA:BB:CC:DD:EE:01@-67\n"
    "aa-bb-cc-dd-ee-02@-80\r\n"
    "aabbccddee03@-91\n";

inline LayoutSet shippedLayouts() {
  auto set = LayoutSet::loadFile(kLayoutsPath);
  if (!set) throw std::runtime_error(set.message());
  return *set;
}

}  // namespace gatehouse::bridge::nbiot::testing
