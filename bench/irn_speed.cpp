// amr's side of bench/irn.sh: the sparse random walk and one IRN training step (crop 512, batch 4)
// on the inputs bench/python/official_irn.py wrote. Prints one JSON line.
//   bench_irn walk DIR          -> {"seconds", "peak_mb", "max_abs_vs_official"}
//   bench_irn step DIR STEPS    -> {"seconds_per_step"} (steps 2..STEPS averaged)
// peak_mb: growth of the process's peak RSS over its RSS before the call (VmHWM reset first).
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include <torch/torch.h>

#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/irn/affinity_loss.h"
#include "amr/irn/random_walk.h"
#include "amr/model/irn_net.h"
#include "amr/train/irn_step.h"

namespace {

int64_t status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::map<std::string, at::Tensor> dict(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [k, v] : amr::read_pth(path)) out[k] = v;
  return out;
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int walk(const std::string& dir) {
  auto in = dict(dir + "/walk_in.pth");
  const at::Tensor cams = in.at("cams").pow(1.5);
  const int64_t base = status_kb("VmRSS:");
  reset_peak();
  const auto t = std::chrono::steady_clock::now();
  const at::Tensor rw = amr::random_walk(cams, in.at("edge"), {});
  const double seconds = since(t);
  const int64_t peak = status_kb("VmHWM:");
  const double err = (rw - dict(dir + "/walk_out.pth").at("rw")).abs().max().item<double>();
  std::cout << "{\"seconds\": " << seconds << ", \"peak_mb\": " << (peak - base) / 1024.0 << ", \"max_abs_vs_official\": " << err
            << "}\n";
  return 0;
}

int step(const std::string& dir, int steps) {
  amr::IrnNet net;
  amr::load_state_dict(*net, amr::irn_official_keys(amr::read_pth(dir + "/irn_weights.pth")), true, "irn_weights.pth");
  net->train();
  auto batch = dict(dir + "/irn_batch.pth");
  const amr::PathIndices index = amr::path_indices(10, 128, 128);
  const amr::AffinityLabels labels = amr::affinity_labels(batch.at("label"), index);
  amr::PolySgd sgd(amr::irn_param_groups(*net, 0.1, 1e-4), 1e-4, 0.9, 100);
  double total = 0, loss = 0;
  for (int s = 0; s < steps; ++s) {
    const auto t = std::chrono::steady_clock::now();
    const amr::IrnFeatures f = net->features(batch.at("images"));
    const amr::AffinityLossTerms terms = amr::affinity_displacement_loss(net->edge(f), net->displacement(f), labels, index);
    sgd.zero_grad();
    terms.total.backward();
    sgd.step(s);
    loss = terms.total.item<double>();
    if (s > 0) total += since(t);
  }
  std::cout << "{\"seconds_per_step\": " << total / std::max(1, steps - 1) << ", \"loss\": " << loss << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(2);
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "walk") return walk(argv[2]);
  if (mode == "step" && argc > 3) return step(argv[2], std::stoi(argv[3]));
  std::cerr << "usage: bench_irn walk DIR | step DIR STEPS\n";
  return 2;
}
