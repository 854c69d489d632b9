// SPDX-License-Identifier: MIT
#pragma once
#include "base/json.hpp"
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// Go's text/template as docker's --format uses it, over a json::Value: {{.A.B}} fields,
// $variables, "strings", numbers, pipelines (a | f), (sub pipelines), {{if}} {{else if}}
// {{else}} {{end}}, {{range [$i,] $v := ...}}, {{with}}, {{- trims -}}, {{/* comments */}},
// Go's functions (and or not len index print printf println eq ne lt le gt ge slice) and
// docker's (json join split title lower upper pad truncate). Values print as Go prints them:
// a list as [a b], an object as map[k:v], a missing member as <no value>.
namespace koker::tmpl {

// A method the data offers beside its members, as `{{.Label "k"}}` on docker ps: called with
// the value it is reached on (dot) and the arguments.
using Method = std::function<json::Value(const json::Value &dot, const std::vector<json::Value> &args)>;

struct Options {
  // An unknown member is an error ("can't evaluate field X"), as on docker's typed listings
  // (ps, images, info); otherwise <no value>, as docker inspect's fallback over a JSON map.
  bool strict = false;
  std::map<std::string, Method, std::less<>> methods;
};

struct Node;

class Template {
public:
  // Throws Error("template parsing error: ...") for a malformed template.
  static Template parse(std::string_view text);
  // Throws Error("template: executing ...") when a field, function or type does not fit.
  std::string execute(const json::Value &data, const Options &opts = {}) const;

private:
  std::shared_ptr<const Node> m_root;
};

// A listing's --format: "table" (koker's default columns), "json" (one JSON array),
// "table TEMPLATE" (a header row, then a row per item, columns aligned at its tabs) or
// TEMPLATE (a line per item).
struct Listing {
  enum class Kind { table, json, custom } kind = Kind::table;
  bool header = false; // "table TEMPLATE"
  Template tmpl;
};
// Parses --format's value; a template error is a usage error (125) naming it.
Listing parse_listing(std::string_view format);
// The lines of a custom listing: rows through the template (with the options for_row gives
// row i), and with the header the template over headers (every field its column's title)
// first, columns aligned as koker's tables are.
std::string render_listing(const Listing &l, const json::Value &headers,
                           const std::vector<json::Value> &rows,
                           const std::function<Options(size_t row, bool header)> &options_for);

} // namespace koker::tmpl
