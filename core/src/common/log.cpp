#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace gatehouse::core::log {

namespace {
std::atomic<int> gLevel{static_cast<int>(Level::Info)};

const char* name(Level l) {
  switch (l) {
    case Level::Trace: return "TRACE";
    case Level::Debug: return "DEBUG";
    case Level::Info: return "INFO ";
    case Level::Warn: return "WARN ";
    case Level::Error: return "ERROR";
  }
  return "INFO ";
}
}  // namespace

void setLevel(Level level) noexcept { gLevel.store(static_cast<int>(level)); }

bool parseLevel(std::string_view n, Level& out) noexcept {
  if (n == "trace") out = Level::Trace;
  else if (n == "debug") out = Level::Debug;
  else if (n == "info") out = Level::Info;
  else if (n == "warn") out = Level::Warn;
  else if (n == "error") out = Level::Error;
  else return false;
  return true;
}

bool enabled(Level level) noexcept { return static_cast<int>(level) >= gLevel.load(std::memory_order_relaxed); }

void write(Level level, std::string_view component, std::string_view message) {
  if (!enabled(level)) return;
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  line.reserve(64 + message.size());
  line += stamp;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ ", static_cast<int>(ms));
  line += frac;
  line += name(level);
  line += ' ';
  line += component;
  line += ": ";
  // One event, one line: control characters in messages are shown escaped.
  for (char c : message) {
    if (c == '\n') line += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) line += '?';
    else line += c;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace gatehouse::core::log
