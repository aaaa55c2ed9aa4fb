#pragma once
#include <optional>
#include <string>

#include "amr/io/pth.h"
#include "amr/model/amr_net.h"

namespace amr {

// The model description: everything AmrNet(options) needs to rebuild a trained network (arch,
// strides, BN mode, classes, one or two branches, the AMM's reduction and Gaussian threshold,
// routing). Every model file amr writes carries it as the record amr_model.json beside the
// tensors (torch.load ignores it), so that cam, train --init-from and forward rebuild exactly
// what was trained: AmrNet(options) is the one builder, this the one description.
std::string describe(const AmrNetOptions& opt);  // JSON text
AmrNetOptions parse_description(const std::string& json, const std::string& what);  // throws naming `what`

// A model file: its tensors and, when written by amr, its description.
struct ModelFile {
  std::string path;
  NamedTensors tensors;
  std::optional<AmrNetOptions> description;
  bool dual() const;            // has compensation.* tensors
  int64_t num_classes() const;  // rows of classifier.weight; throws naming the file without one
};
ModelFile read_model_file(const std::string& path);
void write_model_file(const std::string& path, const NamedTensors& tensors, const AmrNetOptions& description);
void save_model(const std::string& path, AmrNet& net);  // state_dict + net->options()

// What a model file does not say, for files without a description (weights converted from the
// official code or IRN, or written by an older amr): the network is `fallback` with `dual` and
// `num_classes` taken from the tensors.
AmrNet load_model(const ModelFile& file, const AmrNetOptions& fallback);

// The model of a training run: RUN/model.pt, described by itself or (runs of an older amr) by
// the model keys of RUN/config.yaml. `num_classes_or_0` > 0 is checked against the model.
AmrNet load_run_model(const std::string& run_dir, int64_t num_classes_or_0);

}  // namespace amr
