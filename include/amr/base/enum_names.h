#pragma once
#include <array>
#include <string>
#include <utility>

#include "amr/base/error.h"

// One table of names per enum, read and written through the same two functions: the names a
// user types (flags, YAML, model descriptions) are the names amr prints.
namespace amr {

template <typename E, size_t N>
using EnumNames = std::array<std::pair<E, const char*>, N>;

// "a, b or c"
template <typename E, size_t N>
std::string enum_choices(const EnumNames<E, N>& names) {
  std::string s;
  for (size_t i = 0; i < N; ++i) s += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i].second);
  return s;
}

// Throws "`what`: expected a, b or c, got 's'".
template <typename E, size_t N>
E parse_enum(const EnumNames<E, N>& names, const std::string& s, const std::string& what) {
  for (const auto& [value, name] : names)
    if (s == name) return value;
  throw Error(what + ": expected " + enum_choices(names) + ", got '" + s + "'");
}

template <typename E, size_t N>
std::string enum_name(const EnumNames<E, N>& names, E e) {
  for (const auto& [value, name] : names)
    if (value == e) return name;
  return "?";
}

}  // namespace amr
