#include "amr/cam/cam_file.h"

#include <torch/torch.h>

#include <filesystem>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/npy_dict.h"
#include "amr/io/npz.h"

namespace amr {

void check_xi(double xi, const std::string& flag) {
  if (!(xi >= 0.0 && xi <= 1.0)) throw Error(flag + ": expected xi in [0, 1], got " + std::to_string(xi));
}

at::Tensor fuse_branches(const at::Tensor& cam_s, const at::Tensor& cam_c, double xi) {
  check_xi(xi, "xi");
  if (cam_s.sizes() != cam_c.sizes())
    throw Error("xi fusion: branch CAMs of shapes " + c10::str(cam_s.sizes()) + " and " + c10::str(cam_c.sizes()));
  return xi * cam_s + (1.0 - xi) * cam_c;
}

at::Tensor CamFile::fused(double x, const std::string& what) const {
  if (!has_branches()) throw Error(what + ": no cam_s/cam_c (write the CAMs with amr cam --save-branches)");
  return fuse_branches(cam_s, cam_c, x).contiguous();
}

void write_cam_file(const std::string& path, const CamFile& f) {
  std::vector<int32_t> keys(f.keys.begin(), f.keys.end());
  NamedArrays arrays = {{"keys", torch::tensor(keys, torch::kInt32).view({static_cast<int64_t>(keys.size())})},
                        {"cam", f.cam.to(torch::kFloat32)}};
  if (f.cam_stride4.defined()) arrays.emplace_back("cam_stride4", f.cam_stride4.to(torch::kFloat32));
  if (f.cam_s.defined()) arrays.emplace_back("cam_s", f.cam_s.to(torch::kFloat32));
  if (f.cam_c.defined()) arrays.emplace_back("cam_c", f.cam_c.to(torch::kFloat32));
  if (f.xi) arrays.emplace_back("xi", torch::tensor({*f.xi}, torch::kFloat64));
  if (f.boundary.defined()) arrays.emplace_back("boundary", f.boundary.to(torch::kFloat32));
  write_npz(path, arrays);
}

namespace {

// The official make_cam's .npy dict: keys, cam (stride 4), high_res -> amr's arrays.
NamedArrays official_cam_arrays(const std::string& path) {
  NamedArrays out;
  for (const auto& [k, v] : read_npy_dict(path)) {
    if (k == "keys") out.emplace_back("keys", v);
    else if (k == "high_res") out.emplace_back("cam", v);
    else if (k == "cam") out.emplace_back("cam_stride4", v);
  }
  return out;
}

}  // namespace

std::string find_cam_file(const std::string& dir, const std::string& id) {
  const std::string npz = dir + "/" + id + ".npz", npy = dir + "/" + id + ".npy";
  return !std::filesystem::exists(npz) && std::filesystem::exists(npy) ? npy : npz;
}

CamFile read_cam_file(const std::string& path, int64_t num_classes, bool need_branches) {
  const NamedArrays a = ends_with(path, ".npy") ? official_cam_arrays(path) : read_npz(path);
  auto optional = [&](const std::string& key) {
    for (const auto& [k, v] : a)
      if (k == key) return v;
    return at::Tensor();
  };
  CamFile f;
  const at::Tensor keys = npz_get(a, "keys", path).to(torch::kLong).contiguous();
  if (keys.dim() != 1) throw Error(path + ": keys must be 1-D, got shape " + c10::str(keys.sizes()));
  f.keys.assign(keys.data_ptr<int64_t>(), keys.data_ptr<int64_t>() + keys.numel());
  for (int64_t k : f.keys)
    if (k < 0 || (num_classes > 0 && k >= num_classes))
      throw Error(path + ": class index " + std::to_string(k) + " out of range (dataset has " +
                  std::to_string(num_classes) + " classes)");
  auto check_map = [&](at::Tensor t, const std::string& name) {
    if (!t.defined()) return t;
    t = t.to(torch::kFloat32).contiguous();
    if (t.dim() != 3 || t.size(0) != keys.numel())
      throw Error(path + ": " + name + " has shape " + c10::str(t.sizes()) + ", expected [" + std::to_string(keys.numel()) +
                  ", H, W]");
    if (!torch::isfinite(t).all().item<bool>()) throw Error(path + ": " + name + " has NaN or infinite values");
    return t;
  };
  f.cam = check_map(npz_get(a, "cam", path), "cam");
  f.cam_s = check_map(optional("cam_s"), "cam_s");
  f.cam_c = check_map(optional("cam_c"), "cam_c");
  f.cam_stride4 = check_map(optional("cam_stride4"), "cam_stride4");
  const std::vector<int64_t> s4{f.cam.size(0), (f.cam.size(1) + 3) / 4, (f.cam.size(2) + 3) / 4};
  if (f.cam_stride4.defined() && f.cam_stride4.sizes() != c10::IntArrayRef(s4))
    throw Error(path + ": cam_stride4 has shape " + c10::str(f.cam_stride4.sizes()) + ", expected " + c10::str(c10::IntArrayRef(s4)) +
                " (cam " + c10::str(f.cam.sizes()) + " at stride 4)");
  if (at::Tensor b = optional("boundary"); b.defined()) {
    f.boundary = b.to(torch::kFloat32).contiguous();
    if (f.boundary.sizes() != c10::IntArrayRef(s4).slice(1))
      throw Error(path + ": boundary has shape " + c10::str(f.boundary.sizes()) + ", expected " +
                  c10::str(c10::IntArrayRef(s4).slice(1)) + " (cam " + c10::str(f.cam.sizes()) + " at stride 4)");
    if (!torch::isfinite(f.boundary).all().item<bool>()) throw Error(path + ": boundary has NaN or infinite values");
  }
  for (const at::Tensor* t : {&f.cam_s, &f.cam_c})
    if (t->defined() && t->sizes() != f.cam.sizes())
      throw Error(path + ": branch CAM of shape " + c10::str(t->sizes()) + " differs from cam " + c10::str(f.cam.sizes()));
  if (need_branches && !f.has_branches())
    throw Error(path + ": no cam_s/cam_c (write the CAMs with amr cam --save-branches)");
  if (at::Tensor xi = optional("xi"); xi.defined()) {
    if (xi.numel() != 1) throw Error(path + ": xi must hold one value");
    f.xi = xi.to(torch::kFloat64).item<double>();
    check_xi(*f.xi, path + ": xi");
  }
  return f;
}

bool valid_cam_file(const std::string& path) {
  if (!std::filesystem::exists(path)) return false;
  try {
    // Files of an older amr lack the stride-4 map the IRN stage needs: --resume redoes them.
    return read_cam_file(path, 0).cam_stride4.defined();
  } catch (const Error&) {
    return false;
  }
}

cv::Mat cam_to_prediction(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                          double threshold) {
  cv::Mat pred(h, w, CV_8UC1);
  // Compared in the CAM's precision: IRN pads the float32 CAMs with the threshold, so a CAM value
  // equal to float(threshold) is a tie that the background wins.
  const float t = static_cast<float>(threshold);
  const size_t plane = static_cast<size_t>(h) * w;
  for (int y = 0; y < h; ++y) {
    uint8_t* row = pred.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const size_t o = static_cast<size_t>(y) * w + x;
      int best = -1;
      float best_v = 0;
      for (int k = 0; k < n; ++k) {
        const float v = cam[k * plane + o];
        if (best < 0 || v > best_v) best = k, best_v = v;
      }
      if (has_background) {
        // IRN: a background channel of value `threshold` placed first wins ties.
        row[x] = (best < 0 || best_v <= t) ? 0 : static_cast<uint8_t>(keys[best] + 1);
      } else {
        row[x] = best < 0 ? 255 : static_cast<uint8_t>(keys[best]);
      }
    }
  }
  return pred;
}

}  // namespace amr
