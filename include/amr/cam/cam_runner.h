#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "amr/cam/cam_file.h"
#include "amr/cam/make_cam.h"
#include "amr/base/runtime.h"
#include "amr/model/options.h"

namespace amr {

struct CamRunOptions {
  std::string run;      // a training run directory (config.yaml + model.pt)
  std::string weights;  // or a model file (amr writes its description into it)
  // Only for --weights files without a model description (converted from the official code or
  // IRN): the network's arch (unset: resnet50), strides (unset: 2,2,2,1) and the compensation
  // AMMs' Gaussian threshold (unset: tau 0, relative). Given with a described model, they must
  // agree with the description.
  std::optional<std::string> arch;
  std::optional<std::array<int64_t, 4>> strides;
  std::optional<double> tau;
  std::optional<TauMode> tau_mode;
  std::string data, list, out;
  bool labels_from_masks = false;
  CamOptions cam;
  int shard_index = 0, shard_count = 1;
  bool fold_batchnorm = true;  // BN folded into the convolutions (inference speed-up)
  // Activations channels-last (NHWC): auto = when the list's first image has >= 256 x 256
  // pixels (measured on 2 cores: ResNet-50 x 2 at 448 px 1.14x faster, ResNet-18 x 2 at 96 px
  // 0.92x); cam.channels_last is then set for every image of the run.
  enum class MemoryFormat { Auto, ChannelsLast, Contiguous } memory_format = MemoryFormat::Auto;
  bool resume = false;
  bool quiet = false;
  bool check_only = false;  // write nothing: verify OUT (see check_cam_coverage), no model needed
  std::string profile;      // set: write CamProfile's seconds (plus decode / write) to this JSON file
};

struct CamRunSummary {
  size_t written = 0, skipped = 0, in_shard = 0;
  double seconds = 0;
};

// `amr cam`: one CAMS/<id>.npz per image of the list (keys int32 [n], cam float32 [n, H, W];
// with keep_branches also cam_s, cam_c), written atomically; --resume skips valid files.
// The networks run on rt.device (the CAM files are written from the CPU).
CamRunSummary run_cam(const CamRunOptions& opt, const Runtime& rt);

// Whether OUT holds exactly the CAMs of `ids`: one valid <id>.npz each and no other .npz
// (after shards written by several processes or hosts).
struct CamCoverage {
  size_t expected = 0, valid = 0;
  std::vector<std::string> missing;  // absent or invalid
  std::vector<std::string> extra;    // .npz files of ids not in the list
  bool complete() const { return missing.empty() && extra.empty(); }
};
CamCoverage check_cam_coverage(const std::string& out, const std::vector<std::string>& ids);

// Flag parsers; each throws naming its flag.
void parse_shard(const std::string& spec, CamRunOptions* opt);
struct Shard {
  int index = 0, count = 1;  // this process does the ids i with i % count == index
};
Shard parse_shard_spec(const std::string& spec);  // "i/n"; throws naming --shard  // "i/n" -> shard index/count
CamRunOptions::MemoryFormat parse_memory_format(const std::string& s);  // --memory-format
std::string memory_format_name(CamRunOptions::MemoryFormat f);
std::array<int64_t, 4> parse_strides(const std::string& s);          // --strides a,b,c,d

}  // namespace amr
