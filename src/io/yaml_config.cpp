#include "amr/io/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "amr/base/error.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;  // a config is a page of keys; anything larger is not one
constexpr int kMaxBaseDepth = 16;

// The top-level mapping, keys checked unique.
YAML::Node checked_mapping(const YAML::Node& root, const std::string& what) {
  if (!root || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw Error(what + ": expected a mapping of key: value");
  std::set<std::string> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (!it->first.IsScalar()) throw Error(what + ": keys must be plain names");
    const std::string key = it->first.Scalar();
    if (!seen.insert(key).second) throw Error(what + ": key '" + key + "' given twice");
  }
  return root;
}

YAML::Node parse_text(const std::string& text, const std::string& what) {
  try {
    return checked_mapping(YAML::Load(text), what);
  } catch (const YAML::Exception& e) {
    throw Error(what + ": not valid YAML (" + e.msg + ")");
  }
}

std::string read_config_text(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(what + ": cannot open (no such file)");
  if (fs::file_size(path, ec) > kMaxConfigBytes) throw Error(what + ": larger than 1 MiB (not a config)");
  std::ifstream in(path);
  if (!in) throw Error(what + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void merge_into(YAML::Node& into, const YAML::Node& from) {
  for (auto it = from.begin(); it != from.end(); ++it) into[it->first.Scalar()] = it->second;
}

YAML::Node load(const fs::path& path, const std::string& flag, std::vector<fs::path>& chain) {
  const std::string what = flag + " " + path.string();
  const fs::path canonical = fs::weakly_canonical(path);
  for (const auto& p : chain)
    if (p == canonical) throw Error(what + ": _base_ files include each other (a cycle)");
  if (static_cast<int>(chain.size()) >= kMaxBaseDepth) throw Error(what + ": _base_ chain deeper than 16 files");
  chain.push_back(canonical);
  const YAML::Node own = parse_text(read_config_text(path.string(), what), what);
  YAML::Node merged(YAML::NodeType::Map);
  const YAML::Node& own_const = own;
  if (const YAML::Node bases = own_const["_base_"]) {
    std::vector<std::string> names;
    try {
      if (bases.IsSequence()) names = bases.as<std::vector<std::string>>();
      else names.push_back(bases.as<std::string>());
    } catch (const YAML::Exception&) {
      throw Error(what + ": _base_: expected a file name or a list of them");
    }
    for (const auto& name : names) merge_into(merged, load(path.parent_path() / name, flag, chain));
  }
  for (auto it = own.begin(); it != own.end(); ++it)
    if (it->first.Scalar() != "_base_") merged[it->first.Scalar()] = it->second;
  chain.pop_back();
  return merged;
}

}  // namespace

YAML::Node load_yaml_config(const std::string& path, const std::string& flag) {
  std::vector<fs::path> chain;
  return load(path, flag, chain);
}

YAML::Node parse_yaml_mapping(const std::string& text, const std::string& what) {
  YAML::Node n = parse_text(text, what);
  const YAML::Node& c = n;
  if (c["_base_"]) throw Error(what + ": _base_ is only for config files");
  return n;
}

}  // namespace amr
