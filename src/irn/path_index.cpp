#include "amr/irn/path_index.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "amr/base/error.h"

namespace amr {
namespace {

std::vector<Offset> half_plane_directions(int64_t r) {
  std::vector<Offset> dirs;
  for (int64_t x = 1; x < r; ++x) dirs.push_back({0, x});
  for (int64_t y = 1; y < r; ++y)
    for (int64_t x = -r + 1; x < r; ++x)
      if (x * x + y * y < r * r) dirs.push_back({y, x});
  return dirs;
}

// Pixels of the bounding box within distance 1 of the segment (0,0)-(dy,dx), farthest first
// (stable: ties keep row-major order, as Python's sort).
std::vector<Offset> path_pixels(const Offset& dir) {
  const int64_t length_sq = dir[0] * dir[0] + dir[1] * dir[1];
  std::vector<Offset> path;
  for (int64_t y = std::min<int64_t>(0, dir[0]); y <= std::max<int64_t>(0, dir[0]); ++y)
    for (int64_t x = std::min<int64_t>(0, dir[1]); x <= std::max<int64_t>(0, dir[1]); ++x) {
      const int64_t cross = dir[0] * x - dir[1] * y;
      if (cross * cross < length_sq) path.push_back({y, x});  // squared distance < 1
    }
  std::stable_sort(path.begin(), path.end(), [](const Offset& a, const Offset& b) {
    return std::abs(a[0]) + std::abs(a[1]) > std::abs(b[0]) + std::abs(b[1]);
  });
  return path;
}

}  // namespace

SearchPaths search_paths(int64_t radius) {
  if (radius < 2 || radius > 64) throw Error("--radius: expected an integer in [2, 64], got " + std::to_string(radius));
  SearchPaths sp;
  sp.radius = radius;
  sp.radius_floor = radius - 1;
  std::vector<std::vector<std::vector<Offset>>> by_count(static_cast<size_t>(radius * 4));
  for (const Offset& dir : half_plane_directions(radius)) {
    std::vector<Offset> path = path_pixels(dir);
    by_count.at(path.size()).push_back(std::move(path));
  }
  for (auto& group : by_count)
    if (!group.empty()) sp.by_length.push_back(std::move(group));
  for (const auto& group : sp.by_length)
    for (const auto& path : group) sp.directions.push_back(path.front());
  return sp;
}

PathIndices path_indices(int64_t radius, int64_t height, int64_t width) {
  PathIndices pi;
  pi.paths = search_paths(radius);
  pi.height = height;
  pi.width = width;
  const int64_t rf = pi.paths.radius_floor, ch = pi.cropped_height(), cw = pi.cropped_width();
  if (ch <= 0 || cw <= 0)
    throw Error("path indices: a " + std::to_string(height) + "x" + std::to_string(width) + " map is too small for radius " +
                std::to_string(radius));
  const at::Tensor full = at::arange(height * width, at::kLong).view({height, width});
  auto window = [&](const Offset& o) { return full.slice(0, o[0], o[0] + ch).slice(1, rf + o[1], rf + o[1] + cw).reshape({-1}); };
  std::vector<at::Tensor> dst;
  for (const auto& group : pi.paths.by_length) {
    std::vector<at::Tensor> paths;
    for (const auto& path : group) {
      std::vector<at::Tensor> pixels;
      for (const Offset& o : path) pixels.push_back(window(o));
      paths.push_back(at::stack(pixels));
    }
    pi.by_length.push_back(at::stack(paths));
    dst.push_back(pi.by_length.back().select(1, 0));
  }
  pi.sources = window({0, 0});
  pi.destinations = at::cat(dst);
  return pi;
}

at::Tensor edge_to_affinity(const at::Tensor& edge, const PathIndices& index) {
  const at::Tensor flat = edge.reshape({edge.size(0), -1});
  if (flat.size(1) != index.height * index.width)
    throw Error("edge_to_affinity: an edge map of " + std::to_string(flat.size(1)) + " pixels, expected " +
                std::to_string(index.height) + "x" + std::to_string(index.width));
  // The max's position is found without autograd; only the chosen pixel is gathered with it: the
  // same values and gradient (to the first maximum of the path, as max_pool2d), without saving
  // and back-propagating through every pixel of every path.
  const int64_t b = flat.size(0);
  std::vector<at::Tensor> chosen;
  for (const at::Tensor& ind : index.by_length) {
    const at::Tensor ind_d = ind.to(flat.device());
    at::Tensor pixel;
    {
      at::NoGradGuard no_grad;
      const at::Tensor on_path = flat.detach().index_select(1, ind_d.reshape({-1})).view({b, ind.size(0), ind.size(1), ind.size(2)});
      const at::Tensor which = std::get<1>(on_path.max(2));  // [B, paths, sources]
      pixel = ind_d.unsqueeze(0).expand({b, -1, -1, -1}).gather(2, which.unsqueeze(2)).squeeze(2);
    }
    chosen.push_back(pixel.reshape({b, -1}));
  }
  const at::Tensor pixels = at::cat(chosen, 1);  // [B, directions * sources]
  return (1 - flat.gather(1, pixels)).view({b, index.destinations.size(0), -1});
}

}  // namespace amr
