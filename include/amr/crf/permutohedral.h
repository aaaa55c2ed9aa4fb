#pragma once
#include <cstdint>
#include <vector>

namespace amr {

// Gaussian filtering on the permutohedral lattice (Adams, Baek & Davis, Eurographics 2010):
// out_i ~ sum_j exp(-|f_i - f_j|^2 / 2) v_j in O(N d^2) instead of O(N^2), for features already
// divided by the kernel's standard deviations. The approximation is up to a global constant
// factor, which the CRF's symmetric normalization removes.
class PermutohedralLattice {
 public:
  // `features`: n points x d values, row-major.
  PermutohedralLattice(const float* features, int n, int d);

  // `in`, `out`: n x value_size, row-major (may alias).
  void filter(const float* in, float* out, int value_size) const;

  int points() const { return n_; }
  int vertices() const { return m_; }

 private:
  int n_, d_, m_ = 0;
  std::vector<int32_t> offset_;     // n x (d+1): lattice vertex of each simplex corner
  std::vector<float> barycentric_;  // n x (d+1)
  std::vector<int32_t> neighbours_; // (d+1) x m x 2: vertex index -1 .. m-1 along each axis
};

}  // namespace amr
