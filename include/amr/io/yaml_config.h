#pragma once
#include <string>

#include <yaml-cpp/node/node.h>

// YAML config files that compose, as mmsegmentation's: `_base_: other.yaml` (or a list of
// files), each path relative to the file that names it; the file's own keys override its bases',
// later bases override earlier ones. A key given twice in one file, a cycle of bases or a
// top level that is not a mapping is an error naming the file.
namespace amr {

// The merged mapping of `path` and its bases (without `_base_`). `flag` names the source in
// errors (e.g. "--config").
YAML::Node load_yaml_config(const std::string& path, const std::string& flag);

// One YAML text (no bases allowed: there is no file to resolve them against); `what` names it.
YAML::Node parse_yaml_mapping(const std::string& text, const std::string& what);

}  // namespace amr
