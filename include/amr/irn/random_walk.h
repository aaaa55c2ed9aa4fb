#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace amr {

// The random walk of IRN (Ahn et al. 2019, Eq. 9-11; make_sem_seg_labels.py): affinities
// a_ij = 1 - max(boundary on the path i-j) for pixel pairs closer than `radius`, the transition
// matrix T = D^-1 A^beta (column-normalized, self-loops of affinity 1), and the CAMs (times
// 1 - boundary) carried 2^exp_times steps.
struct RandomWalkOptions {
  double beta = 10.0;        // --beta, > 0
  int64_t exp_times = 8;     // --exp-times: 2^exp_times steps, in [0, 16]
  int64_t radius = 5;        // --walk-radius, in [2, 64]
};
void validate(const RandomWalkOptions& opt);  // throws naming the flag

// The sparse transition: for each pixel j, the weights T[j + o_k, j] of its neighbours o_k
// (self included); [neighbours, h, w] float, zero where the neighbour is outside the map.
struct SparseTransition {
  std::vector<std::array<int64_t, 2>> offsets;  // (dy, dx) per neighbour
  at::Tensor weights;                           // [offsets, h, w] float
};
SparseTransition sparse_transition(const at::Tensor& edge, const RandomWalkOptions& opt);

// cams [K, h, w] and edge [h, w] (boundary probabilities in [0, 1], the same stride) -> the
// walked CAMs [K, h, w]. Applies T 2^exp_times times through the neighbourhood: memory
// O(h w radius^2) where the official propagate_to_edge builds and squares a dense (h w)^2
// matrix; the same result up to float rounding.
at::Tensor random_walk(const at::Tensor& cams, const at::Tensor& edge, const RandomWalkOptions& opt);

}  // namespace amr
