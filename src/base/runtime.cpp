#include "amr/base/runtime.h"

#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "amr/base/build_config.h"
#include "amr/base/error.h"

namespace amr {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

bool cpuinfo_has_native_bf16(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;)
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    return false;  // the first processor's flags speak for all
  }
  return false;
}

bool cpu_has_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream ss;
  ss << in.rdbuf();
  return cpuinfo_has_native_bf16(ss.str());
}

Device parse_device(const std::string& s) {
  Device d;
  if (s == "cpu") return d;
  if (s.rfind("cuda", 0) != 0) throw Error("--device: expected cpu, cuda or cuda:K, got '" + s + "'");
  d.kind = Device::Kind::Cuda;
  if (s.size() > 4) {
    const std::string k = s.substr(4);
    if (k.size() < 2 || k[0] != ':' || k.find_first_not_of("0123456789", 1) != std::string::npos || k.size() > 4)
      throw Error("--device: expected cpu, cuda or cuda:K, got '" + s + "'");
    d.index = std::stoi(k.substr(1));
  }
  constexpr bool kCudaBuild = AMR_CUDA_BUILD;
  if (!kCudaBuild)
    throw Error("--device " + s + ": this build of amr runs on the CPU only (build it against a CUDA LibTorch: scripts/build.sh --torch2)");
  const size_t gpus = at::getNumGPUs();
  if (gpus == 0)
    throw Error("--device " + s + ": no CUDA GPU is visible to this process (check the NVIDIA driver and CUDA_VISIBLE_DEVICES)");
  if (d.index >= static_cast<int>(gpus))
    throw Error("--device " + s + ": this machine has " + std::to_string(gpus) + " CUDA GPU(s): cuda:0 .. cuda:" +
                std::to_string(gpus - 1));
  return d;
}

std::string to_string(const Device& d) {
  if (!d.is_cuda()) return "cpu";
  return d.index < 0 ? "cuda" : "cuda:" + std::to_string(d.index);
}

c10::Device torch_device(const Device& d, int local_rank) {
  if (!d.is_cuda()) return c10::Device(c10::kCPU);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(d.index >= 0 ? d.index : local_rank));
}

Runtime configure_runtime(int threads, Device device, int local_ranks) {
  if (!(std::getenv("AMR_MALLOC_TUNING") && std::string(std::getenv("AMR_MALLOC_TUNING")) == "0")) {
    // 1 GiB: activations of a ResNet-50 step stay in the heap between steps (idempotent).
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  const int cores = available_cores();
  if (threads > 4 * cores)
    throw Error("--threads " + std::to_string(threads) + ": this machine has " + std::to_string(cores) +
                " cores (at most " + std::to_string(4 * cores) + " threads; 0 = all cores)");
  Runtime rt;
  rt.threads = threads > 0 ? threads : std::max(1, cores / std::max(1, local_ranks));
  rt.device = device;
  at::set_num_threads(rt.threads);
  at::globalContext().setFlushDenormal(true);
  return rt;
}

}  // namespace amr
