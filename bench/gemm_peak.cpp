// fp32 GEMM throughput of this machine through libtorch (at::mm, 2048^3): the peak that
// bench/speed.sh relates a training step's FLOPs to. Usage: bench_gemm [threads]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  at::set_num_threads(argc > 1 ? std::atoi(argv[1]) : 2);
  const int64_t n = 2048;
  at::Tensor a = at::randn({n, n}), b = at::randn({n, n}), c = at::empty({n, n});
  std::vector<double> gflops;
  for (int r = 0; r < 8; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gflops.push_back(2.0 * n * n * n / s / 1e9);
  }
  std::cout << *std::max_element(gflops.begin(), gflops.end()) << "\n";
}
