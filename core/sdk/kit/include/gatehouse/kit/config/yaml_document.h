#pragma once
// Turning untrusted YAML text into a yaml-cpp node tree, with the caps that keep a hostile or
// broken file from hurting the process: a size limit, and a nesting limit checked on the raw text
// BEFORE yaml-cpp sees it (its parser recurses once per nesting level, so deep input could
// otherwise exhaust the stack).
//
// Threads: free functions without shared state; any thread may call them concurrently.

#include <cstddef>
#include <optional>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "gatehouse/kit/config/diagnostics.h"

namespace gatehouse::kit::config {

struct YamlLimits {
  std::size_t maxBytes = 1024 * 1024;   // 1 MiB: real configs are a few KiB
  int maxDepth = 64;                    // nested collections; real configs need fewer than 8
};

struct TextPosition {
  int line = 0;     // 1-based
  int column = 0;   // 1-based
};

// Scans YAML text (without parsing it) and returns where the nesting of collections first goes
// beyond `maxDepth`, or nullopt. Counts block indentation levels, "- "/"? " entries and flow
// brackets outside quoted strings, comments and block scalars. It errs on the side of counting
// too much (e.g. a multi-line plain scalar's continuation line counts as a level), which is
// harmless at a limit of 64. Linear time; never reads out of bounds on any input.
std::optional<TextPosition> findNestingBeyond(std::string_view text, int maxDepth);

// Parses `text` as exactly one YAML document. On success returns the root node, which is a Null
// node for an empty or comment-only text. Otherwise returns nullopt and adds the reasons to
// `diagnostics`: over the size limit, nesting too deep, YAML syntax error (position from the
// parser), more than one document. Never throws.
std::optional<YAML::Node> parseYamlDocument(std::string_view text, const YamlLimits& limits,
                                            Diagnostics& diagnostics);

}  // namespace gatehouse::kit::config
