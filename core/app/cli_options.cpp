#include "cli_options.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gatehouse::app {

std::string Options::get(const std::string& k, const std::string& def) const {
  auto it = values.find(k);
  return it == values.end() ? def : it->second;
}

std::vector<std::string> Options::all(const std::string& k) const {
  auto it = repeated.find(k);
  return it == repeated.end() ? std::vector<std::string>{} : it->second;
}

bool Options::flag(const std::string& f) const { return std::find(flags.begin(), flags.end(), f) != flags.end(); }

Options parseOptions(const std::vector<std::string_view>& args, std::size_t from, const std::vector<std::string>& valued,
                     const std::vector<std::string>& booleans, const std::vector<std::string>& multi) {
  Options o;
  auto listed = [](const std::vector<std::string>& list, const std::string& key) {
    return std::find(list.begin(), list.end(), key) != list.end();
  };
  for (std::size_t i = from; i < args.size(); ++i) {
    std::string a(args[i]);
    if (a.rfind("--", 0) != 0) {
      o.positional.push_back(a);
      continue;
    }
    std::string key = a.substr(2), value;
    const auto eq = key.find('=');
    const bool inlineValue = eq != std::string::npos;
    if (inlineValue) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    if (listed(booleans, key) && !inlineValue) {
      o.flags.push_back(key);
      continue;
    }
    const bool isMulti = listed(multi, key);
    if (!isMulti && !listed(valued, key)) {
      o.error = "unknown option --" + key;
      return o;
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) {
        o.error = "--" + key + " needs a value";
        return o;
      }
      value = std::string(args[++i]);
    }
    if (isMulti) {
      o.repeated[key].push_back(value);
      continue;
    }
    if (o.values.count(key) != 0) {
      o.error = "--" + key + " given twice";
      return o;
    }
    o.values[key] = value;
  }
  return o;
}

std::optional<std::string> readWhole(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    error = path + ": cannot read";
    return std::nullopt;
  }
  return ss.str();
}

}  // namespace gatehouse::app
