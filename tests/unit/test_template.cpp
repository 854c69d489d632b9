// SPDX-License-Identifier: MIT
#include "check.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/template.hpp"

using namespace koker;

// The template's output over data (JSON text), or "ERROR: message".
static std::string run(const std::string &tmpl, const std::string &data = "{}",
                       const tmpl::Options &opts = {}) {
  try {
    return tmpl::Template::parse(tmpl).execute(json::parse(data, "test"), opts);
  } catch (const Error &e) {
    return std::string("ERROR: ") + e.what();
  }
}

static bool fails(const std::string &tmpl, const std::string &data = "{}",
                  const std::string &part = "") {
  std::string out = run(tmpl, data);
  return out.rfind("ERROR: ", 0) == 0 && out.find(part) != std::string::npos;
}

static const char INSPECT[] =
    R"({"Id":"abc","State":{"Pid":4121,"Running":true,"Status":"running"},
        "Config":{"Env":["A=1","B=2"],"Labels":{"app":"web","tier":"front"},"Cmd":null},
        "NetworkSettings":{"IPAddress":"10.69.0.2","Ports":{}},"Name":"/web"})";

TEST("template: fields, literals and Go's printing") {
  CHECK(run("{{.State.Pid}}", INSPECT) == "4121");
  CHECK(run("ip={{.NetworkSettings.IPAddress}}!", INSPECT) == "ip=10.69.0.2!");
  CHECK(run("{{.Config.Env}}", INSPECT) == "[A=1 B=2]");
  CHECK(run("{{.Config.Labels}}", INSPECT) == "map[app:web tier:front]");
  CHECK(run("{{.Nope}}", INSPECT) == "<no value>");
  CHECK(run("{{.Nope.Deeper}}", INSPECT) == "<no value>");
  CHECK(run("{{.Config.Cmd}}", INSPECT) == "<nil>");
  CHECK(run("{{.State.Running}}", INSPECT) == "true");
  CHECK(run("{{.}}", "{\"a\":\"x\"}") == "map[a:x]");
  CHECK(run("{{\"a\\tb\"}} {{`raw\\n`}} {{42}} {{-1}} {{true}}") == "a\tb raw\\n 42 -1 true");
  CHECK(run("plain text") == "plain text");
  CHECK(run("") == "");
}

TEST("template: docker's functions") {
  CHECK(run("{{json .Config.Labels}}", INSPECT) == R"({"app":"web","tier":"front"})");
  CHECK(run("{{json .State.Pid}}", INSPECT) == "4121");
  CHECK(run("{{json .Missing}}", INSPECT) == "null");
  CHECK(run("{{index .Config.Labels \"app\"}}", INSPECT) == "web");
  CHECK(run("[{{index .Config.Labels \"none\"}}]", INSPECT) == "[]");
  CHECK(run("{{index .Config.Env 1}}", INSPECT) == "B=2");
  CHECK(run("{{join .Config.Env \",\"}}", INSPECT) == "A=1,B=2");
  CHECK(run("{{split \"a:b:c\" \":\"}}") == "[a b c]");
  CHECK(run("{{upper .Name}} {{lower \"AbC\"}} {{title \"hello world\"}}", INSPECT) ==
        "/WEB abc Hello World");
  CHECK(run("{{truncate .Id 2}}|{{pad .Id 1 2}}|", INSPECT) == "ab| abc  |");
  CHECK(run("{{len .Config.Env}} {{len .Config.Labels}} {{len .Id}}", INSPECT) == "2 2 3");
  CHECK(run("{{printf \"%s:%d\" .Id .State.Pid}}", INSPECT) == "abc:4121");
  CHECK(run("{{printf \"%-5s|%5s|%q\" \"a\" \"b\" \"c\"}}") == "a    |    b|\"c\"");
  CHECK(run("{{print 1 2 \"x\" 3}}") == "1 2x3");
  CHECK(run("{{println \"a\" \"b\"}}") == "a b\n");
  CHECK(run("{{slice .Id 1 3}}", INSPECT) == "bc");
  CHECK(run("{{.Id | upper | printf \"<%s>\"}}", INSPECT) == "<ABC>");
  CHECK(run("{{(index .Config.Env 0) | lower}}", INSPECT) == "a=1");
}

TEST("template: if, else if, range, with, variables") {
  CHECK(run("{{if .State.Running}}up{{else}}down{{end}}", INSPECT) == "up");
  CHECK(run("{{if .Nope}}a{{else if eq .State.Status \"running\"}}b{{else}}c{{end}}", INSPECT) ==
        "b");
  CHECK(run("{{if and .State.Running (gt .State.Pid 1)}}y{{end}}", INSPECT) == "y");
  CHECK(run("{{if or .Nope (not .State.Running)}}y{{else}}n{{end}}", INSPECT) == "n");
  CHECK(run("{{if ne .Id \"x\"}}ne{{end}} {{if lt 1 2}}lt{{end}} {{if eq 2 1 2}}eq{{end}}",
            INSPECT) == "ne lt eq");
  CHECK(run("{{range .Config.Env}}[{{.}}]{{end}}", INSPECT) == "[A=1][B=2]");
  CHECK(run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", INSPECT) ==
        "app=web;tier=front;");
  CHECK(run("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", INSPECT) == "0:A=1 1:B=2 ");
  CHECK(run("{{range .Config.Cmd}}x{{else}}empty{{end}}", INSPECT) == "empty");
  CHECK(run("{{with .State}}{{.Pid}}{{end}}", INSPECT) == "4121");
  CHECK(run("{{with .Nope}}x{{else}}none{{end}}", INSPECT) == "none");
  CHECK(run("{{$id := .Id}}{{range .Config.Env}}{{$id}}{{end}}", INSPECT) == "abcabc");
  CHECK(run("{{range .Config.Env}}{{$.Id}}{{end}}", INSPECT) == "abcabc");
  CHECK(run("a  {{- \" b \" -}}  c") == "a b c");
  CHECK(run("x{{/* a comment */}}y") == "xy");
  CHECK(run("{{if true}}\n{{- .Id -}}\n{{end}}", INSPECT) == "abc");
}

TEST("template: methods and strict fields (docker's typed listings)") {
  tmpl::Options o;
  o.strict = true;
  o.methods["Label"] = [](const json::Value &, const std::vector<json::Value> &args) {
    return json::Value(args.size() == 1 && args[0].as_string() == "app" ? "web" : "");
  };
  CHECK(run("{{.Label \"app\"}}/{{.Label \"x\"}}", "{\"ID\":\"1\"}", o) == "web/");
  CHECK(run("{{.ID}}", "{\"ID\":\"1\"}", o) == "1");
  CHECK(run("{{.Nope}}", "{\"ID\":\"1\"}", o).find("can't evaluate field Nope") !=
        std::string::npos);
}

TEST("template: errors are one line, naming the defect") {
  CHECK(fails("{{.Id", "{}", "unclosed action"));
  CHECK(fails("{{if .A}}x", "{}", "has no {{end}}"));
  CHECK(fails("{{end}}", "{}", "unexpected {{end}}"));
  CHECK(fails("{{else}}", "{}", "unexpected {{else}}"));
  CHECK(fails("{{nosuch .A}}", "{}", "function \"nosuch\" not defined"));
  CHECK(fails("{{\"abc}}", "{}", "unclosed"));
  CHECK(fails("{{$x}}", "{}", "undefined variable: $x"));
  CHECK(fails("{{.A \"arg\"}}", "{\"A\":1}", "can't give argument to non-function"));
  CHECK(fails("{{.Id.Foo}}", "{\"Id\":\"x\"}", "can't evaluate field Foo in type string"));
  CHECK(fails("{{index .A 5}}", "{\"A\":[1]}", "index out of range"));
  CHECK(fails("{{eq .A 1}}", "{\"A\":\"x\"}", "incompatible types"));
  CHECK(fails("{{range .A}}{{end}}", "{\"A\":5}", "range can't iterate over 5"));
  CHECK(fails("{{define \"x\"}}{{end}}", "{}", "not supported"));
  CHECK(fails("{{len}}", "{}", "wrong number of args for len"));
  CHECK(fails("{{(.A}}", "{}", "unclosed left paren"));
  for (const char *t : {"{{.Id", "{{if .A}}x", "{{nosuch}}"}) {
    std::string out = run(t);
    CHECK(out.find('\n') == std::string::npos);
  }
}

TEST("template: listings: table header and aligned columns") {
  auto l = tmpl::parse_listing("table {{.ID}}\t{{.Name}}");
  CHECK(l.kind == tmpl::Listing::Kind::custom && l.header);
  json::Value headers = json::parse(R"({"ID":"CONTAINER ID","Name":"NAMES"})", "h");
  std::vector<json::Value> rows = {json::parse(R"({"ID":"1","Name":"web"})", "r")};
  std::string out = tmpl::render_listing(l, headers, rows, [](size_t, bool) {
    return tmpl::Options{};
  });
  CHECK(out == "CONTAINER ID   NAMES\n1              web\n");
  auto plain = tmpl::parse_listing("{{.Name}}");
  CHECK(!plain.header);
  CHECK(tmpl::render_listing(plain, headers, rows, [](size_t, bool) {
          return tmpl::Options{};
        }) == "web\n");
  // docker's preFormat: \t typed in shell quotes is a tab
  auto typed = tmpl::parse_listing("table {{.ID}}\\t{{.Name}}");
  CHECK(tmpl::render_listing(typed, headers, rows, [](size_t, bool) {
          return tmpl::Options{};
        }) == out);
  CHECK(tmpl::parse_listing("json").kind == tmpl::Listing::Kind::json);
  CHECK(tmpl::parse_listing("table").kind == tmpl::Listing::Kind::table);
}
