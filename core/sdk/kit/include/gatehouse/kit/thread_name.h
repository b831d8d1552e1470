#pragma once
// kit::setThreadName: names the calling thread, as top -H, ps -L, gdb, perf and
// /proc/PID/task/*/comm show it, so that CPU can be attributed per thread (bench/mqtt_cost.py).
// Every long-lived thread of the gateway and the kit is named; a bridge names its own. Linux
// keeps at most 15 bytes; a longer name is cut. Never fails (a name that cannot be set is
// ignored: it is a diagnostic aid only).
#include <pthread.h>

#include <string>
#include <string_view>

namespace gatehouse::kit {

inline void setThreadName(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace gatehouse::kit
