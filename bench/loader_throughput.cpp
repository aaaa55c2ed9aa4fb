// Loader throughput (samples/s) of the training pipeline on a dataset, per worker count:
// decode + rescale + flip + crop + normalize + batch, as `amr train` runs it.
// usage: bench_loader DATA_ROOT LIST CROP RESIZE_MIN RESIZE_MAX BATCH WORKERS...
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "amr/data/loader.h"
#include "amr/data/voc.h"
#include "amr/base/runtime.h"

int main(int argc, char** argv) {
  if (argc < 8) {
    std::cerr << "usage: bench_loader DATA_ROOT LIST CROP RESIZE_MIN RESIZE_MAX BATCH WORKERS...\n";
    return 2;
  }
  amr::configure_runtime(1);
  amr::DatasetOptions d;
  d.root = argv[1];
  d.list = argv[2];
  amr::VocDataset ds = amr::open_voc(d);
  std::cout << "| workers | samples/s |\n|---:|---:|\n";
  for (int a = 7; a < argc; ++a) {
    amr::LoaderOptions lo;
    lo.batch = std::atoi(argv[6]);
    lo.workers = std::atoi(argv[a]);
    lo.augment = {std::atoi(argv[4]), std::atoi(argv[5]), true, std::atoi(argv[3])};
    amr::BatchLoader loader(ds, lo);
    loader.start_epoch(0);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t n = 0;
    while (auto b = loader.next()) n += b->images.size(0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "| " << lo.workers << " | " << static_cast<int64_t>(n / s) << " |\n" << std::flush;
  }
  return 0;
}
