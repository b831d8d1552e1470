#include "gatehouse/kit/config/diagnostics.h"

#include <algorithm>

#include <yaml-cpp/mark.h>


namespace gatehouse::kit::config {

std::string formatDiagnostic(std::string_view fileName, const Diagnostic& diagnostic) {
  std::string out(fileName);
  if (diagnostic.line > 0) {
    out += ':' + std::to_string(diagnostic.line) + ':' + std::to_string(diagnostic.column);
  }
  out += ": ";
  if (!diagnostic.keyPath.empty()) out += diagnostic.keyPath + ": ";
  out += diagnostic.message;
  return out;
}

namespace {
// Messages can carry text from elsewhere (yaml-cpp's own messages quote the offending byte); a
// control character there must not break the one-problem-per-line output.
void escapeControlCharacters(std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  text = std::move(out);
}
}  // namespace

void Diagnostics::add(Diagnostic diagnostic) {
  escapeControlCharacters(diagnostic.keyPath);
  escapeControlCharacters(diagnostic.message);
  ++total_;
  if (kept_.size() < limit_) kept_.push_back(std::move(diagnostic));
}

void Diagnostics::add(const YAML::Mark& mark, std::string keyPath, std::string message) {
  Diagnostic d;
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.keyPath = std::move(keyPath);
  d.message = std::move(message);
  add(std::move(d));
}

std::string Diagnostics::format(std::string_view fileName) const {
  std::vector<const Diagnostic*> ordered;
  ordered.reserve(kept_.size());
  for (const auto& d : kept_) ordered.push_back(&d);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return a->line != b->line ? a->line < b->line : a->column < b->column;
  });
  std::string out;
  for (const auto* d : ordered) {
    if (!out.empty()) out += '\n';
    out += formatDiagnostic(fileName, *d);
  }
  if (omitted() > 0) {
    if (!out.empty()) out += '\n';
    out += std::string(fileName) + ": " + std::to_string(omitted()) + " more problems not shown";
  }
  return out;
}

}  // namespace gatehouse::kit::config
