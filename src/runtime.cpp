#include "amr/runtime.h"

#include <malloc.h>
#include <sched.h>

#include <cstdlib>
#include <string>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

namespace amr {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

void configure_runtime(int threads) {
  static bool malloc_tuned = false;
  if (!malloc_tuned && !(std::getenv("AMR_MALLOC_TUNING") && std::string(std::getenv("AMR_MALLOC_TUNING")) == "0")) {
    // 1 GiB: activations of a ResNet-50 step stay in the heap between steps.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    malloc_tuned = true;
  }
  at::set_num_threads(threads > 0 ? threads : available_cores());
  at::globalContext().setFlushDenormal(true);
}

}  // namespace amr
