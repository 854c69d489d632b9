// SPDX-License-Identifier: MIT
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>
namespace unit {
struct Case { const char *name; std::function<void()> fn; };
inline std::vector<Case> &cases() { static std::vector<Case> c; return c; }
inline int failures = 0;
struct Register { Register(const char *n, std::function<void()> f) { cases().push_back({n, std::move(f)}); } };
}
#define KOKER_CONCAT2(a, b) a##b
#define KOKER_CONCAT(a, b) KOKER_CONCAT2(a, b)
#define TEST(name) static void KOKER_CONCAT(test_, __LINE__)(); static unit::Register KOKER_CONCAT(reg_, __LINE__)(name, KOKER_CONCAT(test_, __LINE__)); static void KOKER_CONCAT(test_, __LINE__)()
#define CHECK(cond) do { if (!(cond)) { std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); ++unit::failures; } } while (0)
