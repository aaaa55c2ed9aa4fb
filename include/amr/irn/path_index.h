#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

// IRN's inter-pixel paths (Ahn et al. 2019, Sec. 3.2; misc/indexing.py PathIndex): every
// direction (dy, dx) with 0 < dy^2 + dx^2 < radius^2 in the lower half-plane (dy > 0, or dy = 0
// and dx > 0), each with the pixels within distance 1 of the segment from (0, 0) to (dy, dx).
// The affinity of a pair is 1 - (the largest boundary score on its path).
using Offset = std::array<int64_t, 2>;  // (dy, dx)
struct SearchPaths {
  int64_t radius = 0;
  int64_t radius_floor = 0;  // ceil(radius) - 1: the largest |dx| of a direction
  // Paths grouped by their pixel count, shortest group first, in the official order; each
  // path lists its pixels farthest first, so path[0] is the direction itself.
  std::vector<std::vector<std::vector<Offset>>> by_length;
  std::vector<Offset> directions;  // path[0] of every path, group after group
};
SearchPaths search_paths(int64_t radius);  // radius >= 2; throws naming --radius

// The paths as flat indices into a height x width map, for every source pixel of the cropped
// grid (rows [0, height - radius_floor), columns [radius_floor, width - radius_floor)).
struct PathIndices {
  SearchPaths paths;
  int64_t height = 0, width = 0;
  std::vector<at::Tensor> by_length;  // per group: [paths, path length, sources] int64
  at::Tensor sources;                 // [sources] int64
  at::Tensor destinations;            // [directions, sources] int64
  int64_t cropped_height() const { return height - paths.radius_floor; }
  int64_t cropped_width() const { return width - 2 * paths.radius_floor; }
};
PathIndices path_indices(int64_t radius, int64_t height, int64_t width);

// Affinities from a boundary map: edge [B, height * width] (or [B, 1, height, width]) ->
// [B, directions, sources], 1 - max(edge on the path). The max keeps its index, so the gradient
// goes to one pixel of the path as in the official max_pool2d.
at::Tensor edge_to_affinity(const at::Tensor& edge, const PathIndices& index);

}  // namespace amr
