#pragma once
// One line per event on stderr: "2026-11-22T04:10:00.123Z INFO  component: message".
// Never log tokens, keys or payload plaintext. Any thread.

#include <string_view>

namespace gatehouse::core::log {

enum class Level { Trace, Debug, Info, Warn, Error };

void setLevel(Level level) noexcept;
bool parseLevel(std::string_view name, Level& out) noexcept;
bool enabled(Level level) noexcept;
void write(Level level, std::string_view component, std::string_view message);

inline void info(std::string_view component, std::string_view message) { write(Level::Info, component, message); }
inline void warn(std::string_view component, std::string_view message) { write(Level::Warn, component, message); }
inline void error(std::string_view component, std::string_view message) { write(Level::Error, component, message); }
inline void debug(std::string_view component, std::string_view message) { write(Level::Debug, component, message); }

}  // namespace gatehouse::core::log
