#include "amr/train/run_dir.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/model_file.h"

namespace fs = std::filesystem;

namespace amr {
namespace {


NamedTensors prefixed(const NamedTensors& t, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [k, v] : t) out.emplace_back(prefix + k, v);
  return out;
}

void write_checkpoint(const std::string& path, AmrNet& net, const PolySgd& opt, const Position& pos) {
  NamedTensors all = prefixed(state_dict(*net), "model.");
  for (auto& kv : prefixed(opt.state(), "optim.")) all.push_back(kv);
  all.emplace_back("meta.epoch", torch::tensor(pos.epoch, torch::kInt64));
  all.emplace_back("meta.samples", torch::tensor(pos.samples, torch::kInt64));
  all.emplace_back("meta.step", torch::tensor(pos.step, torch::kInt64));
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    all.emplace_back("meta.torch_rng", gen.get_state());
  }
  write_pth(path, all);
}

Position read_checkpoint(const std::string& path, AmrNet& net, PolySgd& opt) {
  NamedTensors all = read_pth(path);
  NamedTensors model, optim;
  Position pos;
  for (const auto& [k, v] : all) {
    if (starts_with(k, "model.")) model.emplace_back(k.substr(6), v);
    else if (starts_with(k, "optim.")) optim.emplace_back(k.substr(6), v);
    else if (k == "meta.epoch") pos.epoch = v.item<int64_t>();
    else if (k == "meta.samples") pos.samples = v.item<int64_t>();
    else if (k == "meta.step") pos.step = v.item<int64_t>();
    else if (k == "meta.torch_rng") {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(v);
    }
  }
  load_state_dict(*net, model, /*strict=*/true, path);
  opt.load_state(optim, path);
  return pos;
}

// Keeps the log lines of steps <= `step` (a resumed run rewrites what came after).
void truncate_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t(0)) > step) continue;
    } catch (const std::exception&) {
      continue;  // a line cut by the interruption
    }
    kept += line + "\n";
  }
  in.close();
  write_text_atomically(path, kept);
}

}  // namespace

RunDir::RunDir(std::string path, bool resume, bool writer, bool overwrite) : path_(std::move(path)), writer_(writer) {
  if (path_.empty()) throw Error("--out: required (the run directory)");
  if (!writer_) return;
  if (resume && overwrite) throw Error("--resume and --overwrite: give one of them");
  if (resume && !fs::exists(last_checkpoint())) throw Error("--resume: no " + last_checkpoint() + " to resume from");
  ensure_dir(path_, "--out");
  lock_fd_ = ::open((path_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error("--out " + path_ + ": cannot create " + path_ + "/.lock");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw Error("--out " + path_ + ": another amr train is writing this run directory");
  }
  remove_stale_temp_files(path_);  // e.g. last.pt.tmp.<pid> of a run killed while checkpointing
  std::vector<fs::path> outputs;
  for (const auto& e : fs::directory_iterator(path_)) {
    const std::string name = e.path().filename().string();
    if (name == "last.pt" || name == "model.pt" || (starts_with(name, "epoch_") && e.path().extension() == ".pt"))
      outputs.push_back(e.path());
  }
  if (resume || outputs.empty()) return;
  if (!overwrite)
    throw Error("--out " + path_ + ": holds a run already (" + outputs.front().filename().string() +
                "); --resume continues it, --overwrite starts it again");
  for (const auto& p : outputs) fs::remove(p);
}

RunDir::~RunDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void RunDir::write_config(const TrainConfig& c) const {
  if (!writer_) return;
  const std::string yaml = to_yaml(c);
  write_text_atomically(path_ + "/config.yaml", yaml);
}

void RunDir::open_log(bool resume, int64_t resumed_step) {
  if (!writer_) return;
  const std::string log_path = path_ + "/log.jsonl";
  if (resume) {
    truncate_log(log_path, resumed_step);
  } else {
    std::error_code ec;
    fs::remove(log_path, ec);
  }
  log_.open(log_path, std::ios::app);
  if (!log_) throw Error("--out " + path_ + ": cannot write log.jsonl");
}

void RunDir::log(const nlohmann::json& line) {
  if (writer_) log_ << line.dump() << "\n" << std::flush;
}

void RunDir::save_checkpoint(AmrNet& net, const PolySgd& opt, const Position& pos) const {
  if (writer_) write_checkpoint(last_checkpoint(), net, opt, pos);
}

Position RunDir::load_checkpoint(AmrNet& net, PolySgd& opt) const { return read_checkpoint(last_checkpoint(), net, opt); }

void RunDir::save_epoch(AmrNet& net, int64_t epoch) const {
  if (writer_) save_model(path_ + "/epoch_" + std::to_string(epoch) + ".pt", net);
}

void RunDir::save_final(AmrNet& net) const {
  if (writer_) save_model(path_ + "/model.pt", net);
}

}  // namespace amr
