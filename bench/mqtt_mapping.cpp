// mqtt_mapping: the MQTT bridge's payload path without the broker: MappingSet::loadString once,
// then MappingSet::apply(topic, payload) in a loop (parse the JSON payload once, resolve the
// pointers, convert to the declared types, check timestamps, build the updates), for a typical
// small sensor payload and a bigger one. It measures what the JSON reader under the mapping engine
// costs per message, so it builds against the tree before the bridge kit's reader (b8c2694:
// headers "mqtt/...", results Parsed<T>) as well as after it; bench/RESULTS.md run 9 shows how.
//
//   build/bench/mqtt_mapping [--rounds R] [--messages N]     (default 5 rounds of 200000 messages)
//
// Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time: the machines are small
// and shared, and waiting for a CPU is not what the reader costs. Rounds alternate the payloads;
// it prints CPU ns per apply() for each round and the medians. No
// floor (the comparison needs two builds): exit 0 after printing, 2 when it could not run (a
// mapping that does not load, or an apply() that does not give exactly the expected updates).

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if __has_include("gatehouse/bridge/mqtt/mapping.h")
#include "gatehouse/bridge/mqtt/mapping.h"
#else
#include "mqtt/mapping.h"   // the tree before the bridge kit
#endif

namespace {

namespace mqtt = gatehouse::bridge::mqtt;

[[noreturn]] void cannotRun(const std::string& why) {
  std::fprintf(stderr, "mqtt_mapping: cannot run: %s\n", why.c_str());
  std::exit(2);
}

// loadString gives Result<MappingSet> (kit) or Parsed<MappingSet> (before the kit).
template <typename R>
const mqtt::MappingSet& loaded(const R& r) {
  if constexpr (requires { r.value.has_value(); r.error; }) {
    if (!r.value) cannotRun("the mapping does not load: " + r.error);
    return *r.value;
  } else {
    if (!r) cannotRun("the mapping does not load: " + r.message());
    return *r;
  }
}

constexpr const char* kMappings = R"(mappings:
  - topic: sensors/{provider}/env
    service: env
    resources:
      - {resource: temperature, value: /temperature, type: double}
      - {resource: humidity, value: /humidity, type: int}
    timestamp: {pointer: /ts, format: seconds}
  - topic: plant/{provider}/report
    service: line
    resources:
      - {resource: first, value: /readings/0/value, type: double}
      - {resource: last, value: /readings/39/value, type: double}
      - {resource: count, value: /count, type: long}
      - {resource: firmware, value: /fw, type: string}
      - {resource: location, value: /meta/location, type: string}
      - {resource: limits, value: /meta/limits, type: json}
    timestamp: {pointer: /ts, format: millis}
    metadata: {friendlyName: /device}
)";

struct Case {
  const char* name;
  std::string topic;
  std::string payload;
  std::size_t updates;   // what apply() must give for every message
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back(Case{"small", "sensors/dev-17/env", R"({"temperature":21.5,"humidity":40,"ts":1693394285})", 2});
  std::string big = R"({"device":"sensor-0042","fw":"1.2.3","count":1234567890123,"ts":1693394285123,"readings":[)";
  for (int i = 0; i < 40; ++i) {
    big += (i ? "," : "") + std::string(R"({"name":"r)") + std::to_string(i) + R"(","value":)" + std::to_string(20 + i) +
           R"(.25,"unit":"\u00b0C","ok":true})";
  }
  big += R"(],"meta":{"location":"hall 7 / bay \"B\"","limits":{"min":-40,"max":85.5,"alarm":[80,85]},"tags":["a","b"]}})";
  out.push_back(Case{"big", "plant/line-3/report", big, 7});   // 6 resources + the friendlyName
  return out;
}

double nsPerApply(const mqtt::MappingSet& set, const Case& c, std::size_t messages) {
  std::size_t updates = 0;
  timespec t0{}, t1{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (std::size_t i = 0; i < messages; ++i) {
    const auto out = set.apply(c.topic, c.payload);
    updates += out.updates.size();
    if (!out.errors.empty()) cannotRun(std::string(c.name) + " payload gave an error: " + out.errors[0].second);
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  if (updates != messages * c.updates) {
    cannotRun(std::string(c.name) + " payload gave " + std::to_string(updates) + " updates, expected " +
              std::to_string(messages * c.updates));
  }
  const double ns = static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e9 + static_cast<double>(t1.tv_nsec - t0.tv_nsec);
  return ns / static_cast<double>(messages);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::size_t messages = 200000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--messages") == 0 && i + 1 < argc) messages = std::max(1L, std::atol(argv[++i]));
    else cannotRun(std::string("unknown argument ") + argv[i] + " (use --rounds R --messages N)");
  }
  const auto loadedSet = mqtt::MappingSet::loadString(kMappings, "bench.yaml");
  const mqtt::MappingSet& set = loaded(loadedSet);
  const auto all = cases();
  std::printf("mqtt_mapping: MappingSet::apply(topic, payload), %zu messages per round, %d alternated rounds (thread CPU time)\n", messages, rounds);
  for (const auto& c : all) std::printf("  %-5s %4zu-byte payload on %s -> %zu updates each\n", c.name, c.payload.size(), c.topic.c_str(), c.updates);
  for (const auto& c : all) (void)nsPerApply(set, c, messages / 10 + 1);   // warm-up
  std::vector<std::vector<double>> results(all.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < all.size(); ++k) {
      const std::size_t index = (static_cast<std::size_t>(r) + k) % all.size();   // alternate which goes first
      const double ns = nsPerApply(set, all[index], messages);
      results[index].push_back(ns);
      std::printf("  round %d %-5s %9.0f CPU ns/apply\n", r + 1, all[index].name, ns);
    }
  }
  std::printf("medians:\n");
  for (std::size_t k = 0; k < all.size(); ++k) {
    const double m = median(results[k]);
    std::printf("  %-5s %9.0f CPU ns/apply  %9.0f messages per CPU second\n", all[k].name, m, 1e9 / m);
  }
  return 0;
}
