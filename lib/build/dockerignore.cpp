// SPDX-License-Identifier: MIT
#include "build/dockerignore.hpp"
#include "base/error.hpp"

#include <algorithm>

namespace koker::dockerignore {
namespace {

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_slash(std::string_view s) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t slash = s.find('/', pos);
    parts.emplace_back(s.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos)
      return parts;
    pos = slash + 1;
  }
}

void literal(std::string &re, char c) {
  if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos)
    re += '\\';
  re += c;
}

// A pattern as an ECMAScript regular expression over the whole path, the way moby's
// patternmatcher compiles it: "*" is [^/]*, "?" is [^/], "**" (and "**/") any number of
// directories, "\" escapes the next character. A class "[...]" ("[^...]" negated) never
// matches "/", as in Go's filepath.Match.
std::string to_regex(const std::string &pattern) {
  std::string re = "^";
  size_t n = pattern.size();
  for (size_t i = 0; i < n; ++i) {
    char c = pattern[i];
    if (c == '*') {
      if (i + 1 < n && pattern[i + 1] == '*') {
        ++i;
        if (i + 1 < n && pattern[i + 1] == '/')
          ++i;
        re += i + 1 == n ? ".*" : "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (c == '?') {
      re += "[^/]";
    } else if (c == '\\') {
      if (i + 1 < n)
        literal(re, pattern[++i]);
      else
        re += "\\\\";
    } else if (c == '[') {
      std::string cls = "(?!/)[";
      size_t j = i + 1;
      if (j < n && pattern[j] == '^') {
        cls += '^';
        ++j;
      }
      size_t first = j;
      for (; j < n && (pattern[j] != ']' || j == first); ++j) {
        char k = pattern[j];
        if (k == ']' && j == first)
          throw Error(cat("bad pattern \"", printable(pattern, 60), "\": empty character class"));
        if (k == '\\') {
          if (j + 1 >= n)
            break;
          k = pattern[++j];
          cls += '\\';
          cls += k;
        } else if (k == '-' && j != first && j + 1 < n && pattern[j + 1] != ']') {
          cls += '-';
        } else if (k == '/') {
          throw Error(cat("bad pattern \"", printable(pattern, 60), "\": \"/\" in a character class"));
        } else {
          literal(cls, k);
        }
      }
      if (j >= n)
        throw Error(cat("bad pattern \"", printable(pattern, 60), "\": \"[\" without \"]\""));
      re += cls + "]";
      i = j;
    } else {
      literal(re, c);
    }
  }
  return re + "$";
}

} // namespace

std::string clean(std::string_view path) {
  bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string> out;
  for (const auto &part : split_slash(path)) {
    if (part.empty() || part == ".")
      continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..")
        out.pop_back();
      else if (!rooted)
        out.push_back(part);
      continue;
    }
    out.push_back(part);
  }
  std::string r = rooted ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i)
    r += (i ? "/" : "") + out[i];
  return r.empty() ? "." : r;
}

std::vector<std::string> read_patterns(std::string_view text) {
  std::vector<std::string> patterns;
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    // A comment is a "#" in the first column; "  #x" is a pattern, as docker reads it.
    if (!line.empty() && line[0] == '#')
      continue;
    std::string_view p = trim(line);
    if (p.empty())
      continue;
    bool exception = p[0] == '!';
    if (exception)
      p = trim(p.substr(1));
    std::string cleaned;
    if (!p.empty()) {
      cleaned = clean(p);
      if (cleaned.size() > 1 && cleaned[0] == '/')
        cleaned.erase(0, 1);
    }
    patterns.push_back((exception ? "!" : "") + cleaned);
  }
  return patterns;
}

Matcher::Matcher(const std::vector<std::string> &patterns, std::vector<std::string> always) {
  for (auto &a : always)
    m_always.push_back(clean(a));
  for (const auto &raw : patterns) {
    std::string_view t = trim(raw);
    if (t.empty())
      continue;
    Pattern p;
    if (t[0] == '!') {
      p.exception = true;
      t.remove_prefix(1);
      if (t.empty())
        throw Error("illegal exclusion pattern: \"!\"");
      m_exceptions = true;
    }
    p.text = clean(t);
    try {
      p.re = std::regex(to_regex(p.text), std::regex::ECMAScript);
    } catch (const std::regex_error &) {
      throw Error(cat("bad pattern \"", printable(p.text, 60), "\" in .dockerignore"));
    }
    p.parts = split_slash(p.text);
    m_patterns.push_back(std::move(p));
  }
}

bool Matcher::matches(const Pattern &p, const std::string &path) const {
  return std::regex_match(path, p.re);
}

bool Matcher::excluded(std::string_view path_in) const {
  std::string path = clean(path_in);
  if (path.size() > 1 && path[0] == '/')
    path.erase(0, 1);
  if (std::find(m_always.begin(), m_always.end(), path) != m_always.end())
    return false;
  std::vector<std::string> parents = split_slash(path);
  parents.pop_back(); // the path's own name
  bool matched = false;
  for (const auto &p : m_patterns) {
    // An exclusion pattern only matters while unmatched, an exception only once matched.
    if (p.exception != matched)
      continue;
    bool match = matches(p, path);
    std::string parent;
    for (size_t i = 0; !match && i < parents.size(); ++i) {
      parent += (i ? "/" : "") + parents[i];
      match = matches(p, parent);
    }
    if (match)
      matched = !p.exception;
  }
  return matched;
}

bool Matcher::must_descend(std::string_view dir_in) const {
  if (!m_exceptions)
    return false;
  std::vector<std::string> dir = split_slash(clean(dir_in));
  for (const auto &p : m_patterns) {
    if (!p.exception)
      continue;
    bool could = true;
    for (size_t i = 0; i < dir.size(); ++i) {
      if (i >= p.parts.size()) {
        could = false; // the exception names this directory or one above: not below
        break;
      }
      const std::string &part = p.parts[i];
      if (part.find("**") != std::string::npos)
        break; // any depth: it could match below
      if (!std::regex_match(dir[i], std::regex(to_regex(part), std::regex::ECMAScript))) {
        could = false;
        break;
      }
      if (i + 1 == dir.size() && p.parts.size() == dir.size())
        could = false;
    }
    if (could)
      return true;
  }
  return false;
}

} // namespace koker::dockerignore
