#include "amr/irn/random_walk.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/irn/path_index.h"

namespace amr {
namespace {

void check_edge(const at::Tensor& edge) {
  if (edge.dim() != 2 || edge.size(0) < 1 || edge.size(1) < 1)
    throw Error("random walk: expected a boundary map [h, w], got " + c10::str(edge.sizes()));
  if (!at::isfinite(edge).all().item<bool>()) throw Error("random walk: the boundary map holds NaN or infinite values");
}

// 1 - max(edge on the path) for every direction, from shifted views of the padded map: the values
// of edge_to_affinity without its index tensors (memory O(directions x pixels)). [directions, ch, cw].
at::Tensor path_affinities(const at::Tensor& padded, const SearchPaths& sp, int64_t ch, int64_t cw) {
  std::vector<at::Tensor> out;
  for (const auto& group : sp.by_length)
    for (const auto& path : group) {
      at::Tensor m;
      for (const Offset& o : path) {
        const at::Tensor v = padded.slice(0, o[0], o[0] + ch).slice(1, sp.radius_floor + o[1], sp.radius_floor + o[1] + cw);
        m = m.defined() ? at::maximum(m, v) : v.clone();
      }
      out.push_back(1 - m);
    }
  return at::stack(out);
}

// One step v <- v T over the padded maps: out[j] = sum_k weights[k, j] * in[j + o_k].
void walk_step(const double* in, double* out, const float* weights, const std::vector<std::array<int64_t, 2>>& offsets, int64_t h,
               int64_t w, int64_t pad) {
  const int64_t pw = w + 2 * pad;
  at::parallel_for(0, h, 8, [&](int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) {
      double* dst = out + (y + pad) * pw + pad;
      std::fill(dst, dst + w, 0.0);
      for (size_t k = 0; k < offsets.size(); ++k) {
        const float* wk = weights + static_cast<int64_t>(k) * h * w + y * w;
        const double* src = in + (y + pad + offsets[k][0]) * pw + pad + offsets[k][1];
        for (int64_t x = 0; x < w; ++x) dst[x] += wk[x] * src[x];
      }
    }
  });
}

}  // namespace

void validate(const RandomWalkOptions& opt) {
  if (!(opt.beta > 0) || !std::isfinite(opt.beta)) throw Error("--beta: expected a number > 0, got " + shortest_double(opt.beta));
  if (opt.exp_times < 0 || opt.exp_times > 16)
    throw Error("--exp-times: expected an integer in [0, 16] (2^exp_times steps), got " + std::to_string(opt.exp_times));
  if (opt.radius < 2 || opt.radius > 64) throw Error("--walk-radius: expected an integer in [2, 64], got " + std::to_string(opt.radius));
}

SparseTransition sparse_transition(const at::Tensor& edge, const RandomWalkOptions& opt) {
  validate(opt);
  check_edge(edge);
  const int64_t h = edge.size(0), w = edge.size(1), r = opt.radius;
  // The official layout: the map padded with boundary 1 (r columns each side, r rows below),
  // sources on its cropped grid; image pixel (y, x) is source (y, x + 1).
  const SearchPaths sp = search_paths(r);
  const at::Tensor padded = at::constant_pad_nd(edge.to(at::kFloat).contiguous(), {r, r, 0, r}, 1.0);
  const at::Tensor aff = path_affinities(padded, sp, h + r - sp.radius_floor, w + 2 * r - 2 * sp.radius_floor);
  const at::Tensor forward = aff.slice(1, 0, h).slice(2, 1, w + 1).pow(opt.beta);  // A[j, j + d]

  SparseTransition t;
  std::vector<at::Tensor> weights{at::ones({h, w}, at::kFloat)};
  t.offsets.push_back({0, 0});
  const auto& dirs = sp.directions;
  for (size_t d = 0; d < dirs.size(); ++d) {
    const int64_t dy = dirs[d][0], dx = dirs[d][1];
    at::Tensor fwd = at::zeros({h, w}, at::kFloat), back = at::zeros({h, w}, at::kFloat);
    // Pairs (j, j + d) inside the map; A is symmetric, so j + d sees j with the same weight.
    const int64_t y1 = h - dy, x0 = std::max<int64_t>(0, -dx), x1 = std::min(w, w - dx);
    if (y1 > 0 && x1 > x0) {
      const at::Tensor a = forward[static_cast<int64_t>(d)].slice(0, 0, y1).slice(1, x0, x1);
      fwd.slice(0, 0, y1).slice(1, x0, x1).copy_(a);
      back.slice(0, dy, h).slice(1, x0 + dx, x1 + dx).copy_(a);
    }
    weights.push_back(fwd);
    t.offsets.push_back({dy, dx});
    weights.push_back(back);
    t.offsets.push_back({-dy, -dx});
  }
  at::Tensor stacked = at::stack(weights);
  t.weights = (stacked / stacked.sum(0, true)).contiguous();  // column sums of A^beta (self-loop 1 > 0)
  return t;
}

at::Tensor random_walk(const at::Tensor& cams, const at::Tensor& edge, const RandomWalkOptions& opt) {
  const SparseTransition t = sparse_transition(edge, opt);
  const int64_t h = edge.size(0), w = edge.size(1);
  if (cams.dim() != 3 || cams.size(1) != h || cams.size(2) != w)
    throw Error("random walk: CAMs " + c10::str(cams.sizes()) + " do not match the boundary map " + c10::str(edge.sizes()));
  const int64_t pad = opt.radius - 1, steps = int64_t{1} << opt.exp_times;
  // Double accumulation: 2^8 float32 steps drift by ~2e-4 of the maximum.
  at::Tensor start = (cams.to(at::kDouble) * (1 - edge.to(at::kDouble))).contiguous();
  at::Tensor a = at::constant_pad_nd(start, {pad, pad, pad, pad}, 0.0).contiguous(), b = at::zeros_like(a);
  const int64_t plane = a.size(1) * a.size(2);
  for (int64_t k = 0; k < cams.size(0); ++k) {
    double* in = a.data_ptr<double>() + k * plane;
    double* out = b.data_ptr<double>() + k * plane;
    for (int64_t s = 0; s < steps; ++s) {
      walk_step(in, out, t.weights.data_ptr<float>(), t.offsets, h, w, pad);
      std::swap(in, out);
    }
    if (steps % 2 == 1) std::copy(in, in + plane, out);  // odd: the result is in b; back to a
  }
  return a.slice(1, pad, pad + h).slice(2, pad, pad + w).to(at::kFloat).contiguous();
}

}  // namespace amr
