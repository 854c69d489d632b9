// SPDX-License-Identifier: MIT
#pragma once
// .dockerignore as docker reads it (moby's patternmatcher and ignorefile, read, not copied):
// one pattern a line, "#" lines are comments, each pattern cleaned as Go's filepath.Clean and
// made relative to the context root, "!" an exception, the last matching pattern wins, a
// pattern matches a path or one of its parent directories. "*", "?" and "[...]" never match
// "/" ("*.log" matches only at the root), "**" matches any number of directories.
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace koker::dockerignore {

// Go's filepath.Clean on a slash-separated path: "a//b/./c/.." -> "a/b", "" -> ".".
std::string clean(std::string_view path);

// The patterns of a .dockerignore file's text: comments and blank lines dropped, each
// cleaned, a leading "/" dropped, "!" kept in front.
std::vector<std::string> read_patterns(std::string_view text);

class Matcher {
public:
  // patterns as read_patterns gives them. always: context paths that are never excluded
  // (the Dockerfile and ".dockerignore" themselves). Throws Error on a malformed pattern
  // ("[" unclosed, a lone "!").
  explicit Matcher(const std::vector<std::string> &patterns,
                   std::vector<std::string> always = {".dockerignore"});
  // Whether the path (relative to the context root, "/"-separated) is left out of the
  // context: the last pattern matching it or a parent directory of it decides.
  bool excluded(std::string_view path) const;
  // For an excluded directory: whether the walk must still go into it, because an exception
  // ("!pattern") could match something below it.
  bool must_descend(std::string_view dir) const;
  bool has_exceptions() const { return m_exceptions; }

private:
  struct Pattern {
    std::string text;               // cleaned, without "!"
    bool exception = false;
    std::regex re;                  // the whole path must match
    std::vector<std::string> parts; // text split on "/"
  };
  bool matches(const Pattern &p, const std::string &path) const;
  std::vector<Pattern> m_patterns;
  std::vector<std::string> m_always;
  bool m_exceptions = false;
};

} // namespace koker::dockerignore
