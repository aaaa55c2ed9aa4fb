#pragma once
#include <cstddef>
#include <functional>

namespace amr {

// Calls fn(i, worker) for i in [0, count) on `threads` threads (0: all cores), worker in
// [0, threads); ATen ops inside fn share the intra-op threads among the workers. The first exception stops the remaining work and is rethrown as amr::Error.
void parallel_for(size_t count, int threads, const std::function<void(size_t i, int worker)>& fn);

// The number of workers parallel_for uses for `threads`.
int worker_count(int threads);

}  // namespace amr
