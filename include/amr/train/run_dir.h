#pragma once
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "amr/model/amr_net.h"
#include "amr/train/config.h"
#include "amr/train/optimizer.h"

namespace amr {

// Where a run stands: epochs done, samples of the current epoch consumed, optimizer steps.
struct Position {
  int64_t epoch = 0, samples = 0, step = 0;
};

// A training run's directory and every file in it; the one place that writes them (and so the
// one place that will decide which process writes when training runs on several):
//   config.yaml   the resolved config (run-time settings such as threads left out)
//   log.jsonl     one JSON object per step and per epoch
//   last.pt       model + optimizer + position + RNG: what --resume continues from
//   epoch_<n>.pt  the model after epoch n; model.pt the final one (both carry the model description)
// In a data-parallel job only rank 0 is the writer; the other ranks' RunDir touches nothing.
class RunDir {
 public:
  // Creates the directory (throws naming --out) and locks it (RUN/.lock, released when the
  // process ends, however it ends): a second writer is refused. `resume` requires last.pt; a
  // directory that already holds a run (last.pt or model.pt) is refused unless `resume` or
  // `overwrite` (which removes its checkpoints and models first, so that they never outlive
  // the config and log of another run).
  RunDir(std::string path, bool resume, bool writer = true, bool overwrite = false);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  bool writer() const { return writer_; }
  const std::string& path() const { return path_; }
  std::string last_checkpoint() const { return path_ + "/last.pt"; }

  void write_config(const TrainConfig& c) const;
  // A fresh run empties log.jsonl; a resumed one keeps the lines up to `resumed_step`.
  void open_log(bool resume, int64_t resumed_step);
  void log(const nlohmann::json& line);

  void save_checkpoint(AmrNet& net, const PolySgd& opt, const Position& pos) const;
  Position load_checkpoint(AmrNet& net, PolySgd& opt) const;
  void save_epoch(AmrNet& net, int64_t epoch) const;
  void save_final(AmrNet& net) const;

 private:
  std::string path_;
  bool writer_;
  int lock_fd_ = -1;
  std::ofstream log_;
};

}  // namespace amr
