#include "amr/data/transforms.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

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
  if (opt.resize_long_max > 0) {
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
