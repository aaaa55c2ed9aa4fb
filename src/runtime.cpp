#include "amr/runtime.h"

#include <malloc.h>
#include <sched.h>

#include <cstdlib>
#include <string>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "amr/io/error.h"

namespace amr {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") {
    if (!at::hasCUDA()) throw Error("--device cuda: this LibTorch build or machine has no CUDA device");
    return Device::Cuda;
  }
  throw Error("--device: expected cpu or cuda, got '" + s + "'");
}

std::string to_string(Device d) { return d == Device::Cuda ? "cuda" : "cpu"; }

Runtime configure_runtime(int threads, Device device) {
  static bool malloc_tuned = false;
  if (!malloc_tuned && !(std::getenv("AMR_MALLOC_TUNING") && std::string(std::getenv("AMR_MALLOC_TUNING")) == "0")) {
    // 1 GiB: activations of a ResNet-50 step stay in the heap between steps.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    malloc_tuned = true;
  }
  const int cores = available_cores();
  if (threads > 4 * cores)
    throw Error("--threads " + std::to_string(threads) + ": this machine has " + std::to_string(cores) +
                " cores (at most " + std::to_string(4 * cores) + " threads; 0 = all cores)");
  Runtime rt;
  rt.threads = threads > 0 ? threads : cores;
  rt.device = device;
  at::set_num_threads(rt.threads);
  at::globalContext().setFlushDenormal(true);
  return rt;
}

}  // namespace amr
