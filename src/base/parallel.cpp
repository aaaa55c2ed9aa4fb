#include "amr/base/parallel.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "amr/base/error.h"
#include "amr/base/runtime.h"

namespace amr {

int worker_count(int threads) { return threads > 0 ? threads : available_cores(); }

void parallel_for(size_t count, int threads, const std::function<void(size_t, int)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  const int workers = worker_count(threads);
  // Nested parallelism bounded: each worker's ATen ops get an equal share of the intra-op
  // threads (workers x share <= the process's threads), not the full count each.
  const int share = std::max(1, at::get_num_threads() / workers);
  auto work = [&](int worker) {
    at::internal::lazy_init_num_threads();  // after it, the thread's own OpenMP setting holds
    omp_set_num_threads(share);
    for (size_t i; (i = next++) < count;) {
      try {
        fn(i, worker);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.empty()) failure = e.what();
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < workers; ++t) pool.emplace_back(work, t);
  for (auto& t : pool) t.join();
  if (!failure.empty()) throw Error(failure);
}

}  // namespace amr
