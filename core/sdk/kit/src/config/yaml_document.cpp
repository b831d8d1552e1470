#include "gatehouse/kit/config/yaml_document.h"

#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/eventhandler.h>

namespace gatehouse::kit::config {

namespace {

bool isBlankChar(char c) { return c == ' ' || c == '\t'; }

// True when the indicator at line[i] is followed by a space or the end of the line.
bool followedBySpace(std::string_view line, std::size_t i) {
  return i + 1 >= line.size() || isBlankChar(line[i + 1]);
}

// State carried from line to line by findNestingBeyond.
class NestingScanner {
 public:
  explicit NestingScanner(int maxDepth) : maxDepth_(maxDepth) {}

  // Returns the 1-based column where the depth goes beyond the limit, or 0.
  int scanLine(std::string_view line) {
    std::size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    const bool blank = indent == line.size() || line[indent] == '#';

    if (blockScalarParent_ >= 0) {
      // Content of a literal/folded scalar is text: brackets and dashes in it mean nothing.
      if (blank || static_cast<long>(indent) > blockScalarParent_) return 0;
      blockScalarParent_ = -1;
    }

    std::size_t i = 0;
    if (quote_ == 0 && flowDepth_ == 0) {
      // Block context: the indentation says how deep this line is.
      if (blank) return 0;
      if (indent == 0 && line[0] == '%') return 0;   // directive
      if (indent == 0 && line.size() >= 3 && (line.substr(0, 3) == "---" || line.substr(0, 3) == "...") &&
          followedBySpace(line, 2)) {
        blockIndents_.clear();   // a new document starts at depth zero
        i = 3;
      } else {
        while (!blockIndents_.empty() && blockIndents_.back() > indent) blockIndents_.pop_back();
        if (blockIndents_.empty() || blockIndents_.back() < indent) {
          blockIndents_.push_back(indent);
          if (tooDeep()) return static_cast<int>(indent) + 1;
        }
        i = indent;
      }
      atValueStart_ = true;
    }

    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (quote_ != 0) {
        if (quote_ == '"' && c == '\\') {
          ++i;   // escaped character, possibly the quote itself
        } else if (c == quote_) {
          quote_ = 0;   // a doubled '' inside single quotes reopens on the next character
          atValueStart_ = false;
        }
        continue;
      }
      if (isBlankChar(c)) continue;
      if (c == '#' && (i == 0 || isBlankChar(line[i - 1]))) break;   // comment to end of line

      if (atValueStart_) {
        if (c == '"' || c == '\'') {
          quote_ = c;
          continue;
        }
        if (c == '[' || c == '{') {
          ++flowDepth_;
          if (tooDeep()) return static_cast<int>(i) + 1;
          continue;   // the next character starts the first entry
        }
        if (flowDepth_ == 0 && (c == '|' || c == '>')) {
          blockScalarParent_ = static_cast<long>(indent);
          return 0;
        }
        if (flowDepth_ == 0 && (c == '-' || c == '?') && followedBySpace(line, i)) {
          // "- - x" nests a sequence per dash; whatever follows sits one level deeper.
          blockIndents_.push_back(i + 2);
          if (tooDeep()) return static_cast<int>(i) + 1;
          continue;
        }
      }

      if (flowDepth_ > 0) {
        if (c == '[' || c == '{') {
          // Inside flow context plain scalars cannot contain brackets, so this always nests.
          ++flowDepth_;
          if (tooDeep()) return static_cast<int>(i) + 1;
          atValueStart_ = true;
          continue;
        }
        if (c == ']' || c == '}') {
          --flowDepth_;
          atValueStart_ = false;
          continue;
        }
        if (c == ',') {
          atValueStart_ = true;
          continue;
        }
        if (c == ':' && (followedBySpace(line, i) || (i + 1 < line.size() && (line[i + 1] == ',' ||
                                                                              line[i + 1] == ']' ||
                                                                              line[i + 1] == '}')))) {
          atValueStart_ = true;
          continue;
        }
      } else if (c == ':' && followedBySpace(line, i)) {
        atValueStart_ = true;   // "key: value": the value may open a flow collection or be quoted
        continue;
      }
      atValueStart_ = false;   // inside a plain scalar
    }
    return 0;
  }

 private:
  bool tooDeep() const {
    return static_cast<long>(blockIndents_.size()) + flowDepth_ > static_cast<long>(maxDepth_);
  }

  int maxDepth_;
  std::vector<std::size_t> blockIndents_;   // columns of the open block collections
  long flowDepth_ = 0;                      // open [ and { (flow context ignores indentation)
  char quote_ = 0;                          // '"' or '\'' inside a quoted scalar (may span lines)
  long blockScalarParent_ = -1;             // >= 0 while skipping a block scalar's lines
  bool atValueStart_ = true;                // next non-blank character starts a node
};

// Counts the documents of a stream and remembers where the second one starts.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++count == 2) secondStart = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  int count = 0;
  YAML::Mark secondStart;
};

}  // namespace

std::optional<TextPosition> findNestingBeyond(std::string_view text, int maxDepth) {
  NestingScanner scanner(maxDepth);
  std::size_t pos = 0;
  int lineNo = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++lineNo;
    if (const int column = scanner.scanLine(line); column > 0) return TextPosition{lineNo, column};
    if (end == text.size()) break;
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<YAML::Node> parseYamlDocument(std::string_view text, const YamlLimits& limits,
                                            Diagnostics& diagnostics) {
  if (text.size() > limits.maxBytes) {
    diagnostics.add(Diagnostic{0, 0, {},
                               "the file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(limits.maxBytes) + " bytes"});
    return std::nullopt;
  }
  if (const auto at = findNestingBeyond(text, limits.maxDepth)) {
    diagnostics.add(Diagnostic{at->line, at->column, {},
                               "nesting is deeper than " + std::to_string(limits.maxDepth) +
                                   " levels; a configuration never needs that"});
    return std::nullopt;
  }
  try {
    // YAML::LoadAll loops forever on some malformed input (e.g. ",?": the parser keeps reporting
    // a new empty document without consuming anything), so count documents ourselves, stopping
    // at the second, then build the tree of the first with YAML::Load.
    {
      std::istringstream stream{std::string(text)};
      YAML::Parser parser(stream);
      DocumentCounter counter;
      for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
      }
      if (counter.count > 1) {
        diagnostics.add(counter.secondStart, {},
                        "a second YAML document starts here; the configuration must be one document");
        return std::nullopt;
      }
    }
    return YAML::Load(std::string(text));   // a Null node for an empty or comment-only text
  } catch (const YAML::Exception& e) {
    diagnostics.add(e.mark, {}, "YAML syntax error: " + (e.msg.empty() ? std::string("unreadable input") : e.msg));
  } catch (const std::exception& e) {
    diagnostics.add(Diagnostic{0, 0, {}, std::string("cannot parse the file: ") + e.what()});
  }
  return std::nullopt;
}

}  // namespace gatehouse::kit::config
