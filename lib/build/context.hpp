// SPDX-License-Identifier: MIT
#pragma once
#include "build/dockerignore.hpp"
#include <string>
#include <vector>

// The build context: the directory `koker build` was given, as the builder sees it through
// .dockerignore. docker sends the context as a tar and resolves COPY's sources in it; koker
// reads the directory in place with the same rules: an ignored path does not exist for COPY,
// a source's symlinks resolve inside the context (a link out of it is "outside the build
// context"), and a source's checksum (the cache key) covers paths, types, modes, link targets
// and bytes, never times or the context's owners.
namespace koker::build_context {

class Context {
public:
  // dir "" is no context (`koker build -` with a Dockerfile on stdin): every COPY fails.
  // read_ignore false: another stage's or image's root (COPY --from), which has no
  // .dockerignore. The Dockerfile and .dockerignore are read whatever .dockerignore says,
  // but COPY sees them only when it does not list them (moby's classic builder drops them
  // from the context then, BuildKit never sends them).
  explicit Context(std::string dir, bool read_ignore = true);
  bool empty() const { return m_dir.empty(); }
  const std::string &dir() const { return m_dir; }

  // The context paths a COPY or ADD source names ("" for the context's root): with a wildcard
  // (* ? [), every path Go's filepath.Match matches, sorted; else the path itself, a symlink
  // resolved inside the context. Error when nothing is found or it is ignored, naming src.
  std::vector<std::string> sources(const std::string &src) const;
  // Whether .dockerignore leaves rel (relative to the context) out.
  bool excluded(const std::string &rel) const;
  // For an excluded directory: whether an exception could re-include something below it.
  bool descend_excluded(const std::string &rel) const { return m_ignore.must_descend(rel); }
  // "file:<hex>" or "dir:<hex>": the content of rel (and all below it that is not ignored).
  std::string checksum(const std::string &rel) const;
  // The host path of rel.
  std::string path(const std::string &rel) const { return rel.empty() ? m_dir : m_dir + "/" + rel; }

private:
  std::string resolve(const std::string &rel, const std::string &shown) const;
  void walk(const std::string &rel, std::vector<std::string> &out) const;
  std::string m_dir;
  dockerignore::Matcher m_ignore;
};

} // namespace koker::build_context
