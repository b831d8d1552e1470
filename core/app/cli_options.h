#pragma once
// Command-line helpers shared by the `gatehouse plugin ...` and `gatehouse e2e ...` commands:
// `--name value` / `--name=value` options, boolean flags, repeatable options and positional
// arguments; reading a whole file. Main thread of a short-lived process only.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::app {

struct Options {
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> repeated;   // options allowed more than once
  std::vector<std::string> flags;
  std::vector<std::string> positional;
  std::string error;   // "" when the arguments parsed

  bool has(const std::string& k) const { return values.count(k) != 0 || repeated.count(k) != 0; }
  std::string get(const std::string& k, const std::string& def = {}) const;
  std::vector<std::string> all(const std::string& k) const;   // every value of a repeatable option
  bool flag(const std::string& f) const;
};

// Parses args[from..]: `valued` take a value and may appear once, `multi` take a value and may
// repeat, `booleans` take none. Anything else starting with "--" is an error (Options::error).
Options parseOptions(const std::vector<std::string_view>& args, std::size_t from, const std::vector<std::string>& valued,
                     const std::vector<std::string>& booleans, const std::vector<std::string>& multi = {});

// The whole file, or nullopt with `error` = "PATH: cannot open: REASON".
std::optional<std::string> readWhole(const std::string& path, std::string& error);

}  // namespace gatehouse::app
