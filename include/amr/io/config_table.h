#pragma once
#include <yaml-cpp/yaml.h>

#include <any>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/yaml_config.h"

// One table of a settings struct's keys: what reads them from YAML, writes them back (numbers in
// the shortest round-trip form), and sets them from typed flags. Every config of amr (training,
// CAMs, evaluation) is read, written and overridden through its table.
namespace amr {

template <typename C>
class ConfigTable {
 public:
  template <typename T>
  using Access = std::function<T&(C&)>;

  template <typename T>
  ConfigTable& add(const std::string& key, T C::*member) {
    return add<T>(key, [member](C& c) -> T& { return c.*member; });
  }
  template <typename T>
  ConfigTable& add(const std::string& key, Access<T> get) {
    fields_.push_back({key,
                       [get](C& c, const YAML::Node& n) { read_value(get(c), n); },
                       [get](const C& c, YAML::Emitter& e) { emit(e, get(const_cast<C&>(c))); },
                       [get](C& c, const std::any& v) { get(c) = std::any_cast<T>(v); }});
    return *this;
  }
  // Read and written by name: parse(text) throws for an unknown name, name(value) prints it.
  template <typename E>
  ConfigTable& add_named(const std::string& key, Access<E> get, std::function<E(const std::string&)> parse,
                         std::function<std::string(E)> name) {
    fields_.push_back({key,
                       [get, parse](C& c, const YAML::Node& n) { get(c) = parse(n.as<std::string>()); },
                       [get, name](const C& c, YAML::Emitter& e) { e << name(get(const_cast<C&>(c))); },
                       [get](C& c, const std::any& v) { get(c) = std::any_cast<E>(v); }});
    return *this;
  }

  bool has(const std::string& key) const { return find(key) != nullptr; }

  // Every key of `map` (unknown keys are errors naming `what`).
  void read(C& c, const YAML::Node& map, const std::string& what) const {
    for (auto it = map.begin(); it != map.end(); ++it) read_key(c, it->first.as<std::string>(), it->second, what);
  }
  void read_key(C& c, const std::string& key, const YAML::Node& value, const std::string& what) const {
    const Field* f = find(key);
    if (!f) throw Error(what + ": unknown key '" + key + "'");
    try {
      f->read(c, value);
    } catch (const YAML::Exception& e) {
      throw Error(what + ": bad value for '" + key + "' (" + e.msg + ")");
    } catch (const Error& e) {
      throw Error(what + ": bad value for '" + key + "' (" + e.what() + ")");
    }
  }
  // A typed value (a flag's) for `key`.
  void set(C& c, const std::string& key, const std::any& value) const {
    const Field* f = find(key);
    if (!f) throw Error("config: no key '" + key + "'");
    f->set(c, value);
  }
  // key: value lines in table order; `comment(key)` may add a comment after a value.
  void write(const C& c, YAML::Emitter& e, const std::function<std::string(const std::string&)>& comment = {}) const {
    for (const auto& f : fields_) {
      e << YAML::Key << f.key << YAML::Value;
      f.write(c, e);
      if (comment && !comment(f.key).empty()) e << YAML::Comment(comment(f.key));
    }
  }

 private:
  struct Field {
    std::string key;
    std::function<void(C&, const YAML::Node&)> read;
    std::function<void(const C&, YAML::Emitter&)> write;
    std::function<void(C&, const std::any&)> set;
  };
  const Field* find(const std::string& key) const {
    for (const auto& f : fields_)
      if (f.key == key) return &f;
    return nullptr;
  }

  template <typename T>
  static void read_value(T& out, const YAML::Node& n) {
    if constexpr (is_optional<T>::value) {
      if (n.IsNull()) out.reset();
      else {
        typename T::value_type v{};
        read_value(v, n);
        out = v;
      }
    } else if constexpr (is_array<T>::value) {
      if (!n.IsSequence() || n.size() != std::tuple_size<T>::value)
        throw YAML::Exception(n.Mark(), "expected a list of " + std::to_string(std::tuple_size<T>::value));
      for (size_t i = 0; i < out.size(); ++i) read_value(out[i], n[i]);
    } else {
      out = n.as<T>();
    }
  }
  template <typename T>
  static void emit(YAML::Emitter& e, const T& v) {
    if constexpr (is_optional<T>::value) {
      if (v) emit(e, *v);
      else e << YAML::Null;
    } else if constexpr (is_array<T>::value || std::is_same_v<T, std::vector<double>> || std::is_same_v<T, std::vector<int64_t>>) {
      e << YAML::Flow << YAML::BeginSeq;
      for (const auto& x : v) emit(e, x);
      e << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, double>) {
      e << shortest_double(v);  // 1e-07, not 9.9999999999999995e-08
    } else {
      e << v;
    }
  }
  template <typename T>
  struct is_optional : std::false_type {};
  template <typename T>
  struct is_optional<std::optional<T>> : std::true_type {};
  template <typename T>
  struct is_array : std::false_type {};
  template <typename T, size_t N>
  struct is_array<std::array<T, N>> : std::true_type {};

  std::vector<Field> fields_;
};

// Values given as typed flags, applied by key through a ConfigTable over the YAML (and under
// --set): no text round trip, no "not given" sentinel.
template <typename C>
class ConfigFlags {
 public:
  void set(const std::string& key, std::any value) { edits_.emplace_back(key, std::move(value)); }
  void apply(C& c, const ConfigTable<C>& table) const {
    for (const auto& [key, value] : edits_) table.set(c, key, value);
  }

 private:
  std::vector<std::pair<std::string, std::any>> edits_;
};

// Defaults < the YAML file (with its bases; none when `yaml_path` is empty) < typed flags.
template <typename C>
C load_config(const ConfigTable<C>& table, const std::string& yaml_path, const ConfigFlags<C>& flags) {
  C c;
  if (!yaml_path.empty()) table.read(c, load_yaml_config(yaml_path, "--config"), "--config " + yaml_path);
  flags.apply(c, table);
  return c;
}

}  // namespace amr
