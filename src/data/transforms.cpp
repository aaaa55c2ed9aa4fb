#include "amr/data/transforms.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>

namespace amr {

SampleRng::SampleRng(uint64_t seed, uint64_t epoch, uint64_t index) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(epoch),
                    static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)};
  gen_.seed(seq);
}

// Own mappings from the 64-bit stream: std:: distributions are implementation-defined.
double SampleRng::uniform(double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(gen_() >> 11) * (1.0 / 9007199254740992.0));
}
int64_t SampleRng::integer(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(gen_() % static_cast<uint64_t>(hi - lo + 1));
}
bool SampleRng::coin() { return (gen_() >> 63) != 0; }

Augmented augment(const cv::Mat& rgb, const cv::Mat& mask, const AugmentOptions& opt, SampleRng& rng) {
  Augmented out;
  cv::Mat img = rgb, m = mask;
  if (opt.scale_max > 0) {
    const double scale = rng.uniform(opt.scale_min, opt.scale_max);
    const cv::Size size(std::max(1, static_cast<int>(std::nearbyint(img.cols * scale))),
                        std::max(1, static_cast<int>(std::nearbyint(img.rows * scale))));
    if (size != img.size()) {
      cv::resize(img, img, size, 0, 0, cv::INTER_CUBIC);
      if (!m.empty()) cv::resize(m, m, size, 0, 0, cv::INTER_NEAREST_EXACT);
    }
  } else if (opt.resize_long_max > 0) {
    const int64_t target = rng.integer(opt.resize_long_min, opt.resize_long_max);
    const double scale = static_cast<double>(target) / std::max(img.cols, img.rows);
    const cv::Size size(std::max(1, static_cast<int>(std::lround(img.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(img.rows * scale))));
    if (size != img.size()) {
      cv::resize(img, img, size, 0, 0, cv::INTER_LINEAR);
      if (!m.empty()) cv::resize(m, m, size, 0, 0, cv::INTER_NEAREST);
    }
  }
  if (opt.hflip && rng.coin()) {
    cv::Mat fi, fm;  // not in place: img/m may still share the caller's pixels
    cv::flip(img, fi, 1);
    img = fi;
    if (!m.empty()) {
      cv::flip(m, fm, 1);
      m = fm;
    }
  }
  if (opt.crop <= 0) {
    out.image = img;
    out.valid = cv::Mat(img.size(), CV_8UC1, cv::Scalar(1));
    out.mask = m;
    return out;
  }
  const int c = static_cast<int>(opt.crop);
  // Window of the image that is kept, and where it lands in the c x c canvas.
  auto place = [&](int len, int* src, int* dst) {
    if (len > c) {
      *src = static_cast<int>(rng.integer(0, len - c));
      *dst = 0;
    } else {
      *src = 0;
      *dst = static_cast<int>(rng.integer(0, c - len));
    }
  };
  int sy, dy, sx, dx;
  place(img.rows, &sy, &dy);
  place(img.cols, &sx, &dx);
  const int h = std::min(c, img.rows), w = std::min(c, img.cols);
  out.image = cv::Mat(c, c, CV_8UC3, cv::Scalar(0, 0, 0));
  out.valid = cv::Mat(c, c, CV_8UC1, cv::Scalar(0));
  img(cv::Rect(sx, sy, w, h)).copyTo(out.image(cv::Rect(dx, dy, w, h)));
  out.valid(cv::Rect(dx, dy, w, h)).setTo(1);
  if (!m.empty()) {
    out.mask = cv::Mat(c, c, CV_8UC1, cv::Scalar(255));
    m(cv::Rect(sx, sy, w, h)).copyTo(out.mask(cv::Rect(dx, dy, w, h)));
  }
  return out;
}

std::vector<CutoutBox> draw_cutout_centres(int64_t h, int64_t w, int64_t boxes, SampleRng& rng) {
  std::vector<CutoutBox> out;
  for (int64_t n = 0; n < boxes; ++n) {
    CutoutBox b;
    b.y = rng.integer(0, h - 1);
    b.x = rng.integer(0, w - 1);
    out.push_back(b);
  }
  return out;
}

at::Tensor cutout_mask(int64_t h, int64_t w, int64_t side, const std::vector<CutoutBox>& centres) {
  at::Tensor mask = torch::ones({h, w}, torch::kFloat32);
  for (const auto& c : centres) {
    // As the official: [clip(c - side//2), clip(c + side//2)), so an odd side covers side - 1.
    const int64_t y1 = std::clamp<int64_t>(c.y - side / 2, 0, h), y2 = std::clamp<int64_t>(c.y + side / 2, 0, h);
    const int64_t x1 = std::clamp<int64_t>(c.x - side / 2, 0, w), x2 = std::clamp<int64_t>(c.x + side / 2, 0, w);
    if (y2 > y1 && x2 > x1) mask.slice(0, y1, y2).slice(1, x1, x2).zero_();
  }
  return mask;
}

void apply_cutout(at::Tensor& chw, int64_t side, int64_t boxes, SampleRng& rng) {
  if (side <= 0) return;
  const int64_t h = chw.size(-2), w = chw.size(-1);
  chw.mul_(cutout_mask(h, w, side, draw_cutout_centres(h, w, boxes, rng)));
}

at::Tensor to_normalized_tensor(const cv::Mat& rgb, const cv::Mat& valid) {
  const int h = rgb.rows, w = rgb.cols;
  at::Tensor t = torch::empty({3, h, w}, torch::kFloat32);
  float* dst = t.data_ptr<float>();
  const size_t plane = static_cast<size_t>(h) * w;
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = rgb.ptr<uint8_t>(y);
    const uint8_t* v = valid.empty() ? nullptr : valid.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const size_t o = static_cast<size_t>(y) * w + x;
      for (int ch = 0; ch < 3; ++ch)
        dst[ch * plane + o] = (v && !v[x]) ? 0.f : (row[3 * x + ch] / 255.f - kImageNetMean[ch]) / kImageNetStd[ch];
    }
  }
  return t;
}

}  // namespace amr
