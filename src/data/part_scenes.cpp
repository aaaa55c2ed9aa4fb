// PartScenes: objects made of a large body and a small class-specific part, so that a plain
// CAM can find the class from the part alone and stop there (the partial activation AMR's
// compensation branch is meant to fix). The class is told by the part's shape and colour; the
// body's colour, texture and shape family come from a bank shared by all classes, each
// attribute being the class's signature with probability body_signal.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "amr/base/error.h"
#include "scene_canvas.h"

namespace amr {

const std::vector<std::string>& part_scene_classes() {
  static const std::vector<std::string> names = {"disc", "triangle", "cross", "square", "star", "bar"};
  return names;
}

namespace scene {
namespace {

// Muted body colours (the shared bank) and saturated part colours (one per part shape).
const cv::Vec3f kBodyColours[] = {{150, 118, 96},  {108, 138, 104}, {112, 116, 156},
                                  {158, 148, 106}, {138, 106, 136}, {104, 138, 148}};
const cv::Vec3f kPartColours[] = {{235, 40, 40}, {40, 205, 60}, {50, 80, 235}, {245, 205, 30}, {230, 55, 220}, {35, 215, 230}};
constexpr int kBodyColourCount = 6, kTextureCount = 4, kShapeCount = 3;

struct BodyStyle {
  int colour = 0, texture = 0, shape = 0;
};

// Each attribute is the class's signature with probability `signal`, else uniform over the bank
// (which includes the signature, so at 0 the body is independent of the class).
BodyStyle draw_body_style(int part_shape, double signal, SampleRng& rng) {
  auto attribute = [&](int signature, int count) {
    return rng.uniform(0, 1) < signal ? signature : static_cast<int>(rng.integer(0, count - 1));
  };
  BodyStyle b;
  b.colour = attribute(part_shape % kBodyColourCount, kBodyColourCount);
  b.texture = attribute(part_shape % kTextureCount, kTextureCount);
  b.shape = attribute(part_shape % kShapeCount, kShapeCount);
  return b;
}

std::vector<cv::Point> polygon(cv::Point2d c, const std::vector<cv::Point2d>& unit, double scale, double angle) {
  const double ca = std::cos(angle), sa = std::sin(angle);
  std::vector<cv::Point> pts;
  for (const auto& p : unit)
    pts.emplace_back(static_cast<int>(std::lround(c.x + scale * (ca * p.x - sa * p.y))),
                     static_cast<int>(std::lround(c.y + scale * (sa * p.x + ca * p.y))));
  return pts;
}

std::vector<cv::Point2d> regular(int n, double radius, double phase = 0) {
  std::vector<cv::Point2d> v;
  for (int i = 0; i < n; ++i) {
    const double t = phase + 2 * M_PI * i / n;
    v.emplace_back(radius * std::cos(t), radius * std::sin(t));
  }
  return v;
}

// Body shape families: ellipse, rectangle, hexagon; half-axes a >= b, rotated by angle.
void fill_body(cv::Mat& m, cv::Point2d c, double a, double b, double angle, int shape) {
  if (shape == 0) {
    cv::ellipse(m, cv::Point(static_cast<int>(c.x), static_cast<int>(c.y)),
                cv::Size(static_cast<int>(a), static_cast<int>(b)), angle * 180 / M_PI, 0, 360, cv::Scalar(1), cv::FILLED);
    return;
  }
  std::vector<cv::Point2d> unit = shape == 1 ? std::vector<cv::Point2d>{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}
                                             : regular(6, 1.0);
  for (auto& p : unit) p = {p.x * a, p.y * b};
  cv::fillConvexPoly(m, polygon(c, unit, 1.0, angle), cv::Scalar(1));
}

// Part shapes, with the scale r chosen so that every shape covers about pi r^2.
void fill_part(cv::Mat& m, cv::Point2d c, double r, double angle, int shape) {
  switch (shape) {
    case 0:
      cv::circle(m, cv::Point(static_cast<int>(c.x), static_cast<int>(c.y)), static_cast<int>(std::lround(r)), cv::Scalar(1),
                 cv::FILLED);
      return;
    case 1:
      cv::fillConvexPoly(m, polygon(c, regular(3, 1.0), r * 1.55, angle), cv::Scalar(1));
      return;
    case 2: {
      const std::vector<cv::Point2d> h = {{-1, -0.3}, {1, -0.3}, {1, 0.3}, {-1, 0.3}};
      cv::fillConvexPoly(m, polygon(c, h, r * 1.6, angle), cv::Scalar(1));
      cv::fillConvexPoly(m, polygon(c, h, r * 1.6, angle + M_PI / 2), cv::Scalar(1));
      return;
    }
    case 3:
      cv::fillConvexPoly(m, polygon(c, regular(4, 1.0, M_PI / 4), r * 1.25, angle), cv::Scalar(1));
      return;
    case 4: {
      std::vector<cv::Point2d> star;
      for (int i = 0; i < 10; ++i) {
        const double t = M_PI * i / 5, rad = i % 2 ? 0.45 : 1.0;
        star.emplace_back(rad * std::cos(t), rad * std::sin(t));
      }
      cv::fillPoly(m, std::vector<std::vector<cv::Point>>{polygon(c, star, r * 1.75, angle)}, cv::Scalar(1));
      return;
    }
    default:
      cv::fillConvexPoly(m, polygon(c, {{-1, -0.33}, {1, -0.33}, {1, 0.33}, {-1, 0.33}}, r * 1.55, angle), cv::Scalar(1));
  }
}

float texture(int kind, int x, int y) {
  switch (kind) {
    case 1: return (y / 4) % 2 ? 28.f : -28.f;                  // horizontal stripes
    case 2: return (x / 4) % 2 ? 28.f : -28.f;                  // vertical stripes
    case 3: return ((x / 6) + (y / 6)) % 2 ? 28.f : -28.f;      // checker
    default: return 0.f;                                        // flat
  }
}

struct Object {
  cv::Mat body, part;  // 0/1 masks over the scene; disjoint (the part is drawn over the body)
};

// One object with its centre at c: a body of half-axes (a, b) and, straddling the body's
// outline in a random direction, a part covering 10-20% of the object.
Object draw_object(int s, cv::Point2d c, double a, double b, const BodyStyle& style, int part_shape, SampleRng& rng) {
  Object o;
  o.body = cv::Mat::zeros(s, s, CV_8UC1);
  fill_body(o.body, c, a, b, rng.uniform(0, M_PI), style.shape);
  // Walk from the centre outwards to the body's outline.
  const double dir = rng.uniform(0, 2 * M_PI), dx = std::cos(dir), dy = std::sin(dir);
  cv::Point2d edge = c;
  for (double t = 0; t < 2 * a + 2; t += 0.5) {
    const int x = static_cast<int>(std::lround(c.x + t * dx)), y = static_cast<int>(std::lround(c.y + t * dy));
    if (x < 0 || y < 0 || x >= s || y >= s || !o.body.at<uint8_t>(y, x)) break;
    edge = {c.x + t * dx, c.y + t * dy};
  }
  const double target = rng.uniform(0.12, 0.18), angle = rng.uniform(0, 2 * M_PI);
  const double body_area = std::max(1.0, static_cast<double>(cv::countNonZero(o.body)));
  double r = std::sqrt(target * body_area / M_PI);
  for (int iteration = 0; iteration < 4; ++iteration) {  // the part's share of the union, to target
    o.part = cv::Mat::zeros(s, s, CV_8UC1);
    fill_part(o.part, edge, r, angle, part_shape);
    const double part_px = cv::countNonZero(o.part), union_px = cv::countNonZero(o.part | o.body);
    if (part_px < 1) break;
    const double share = part_px / union_px;
    if (std::abs(share - target) < 0.01) break;
    r *= std::sqrt(target / share);
  }
  o.body.setTo(0, o.part);
  return o;
}

}  // namespace

Scene make_part_scene(const ScenesOptions& opt, const std::vector<int>& part_shapes, uint64_t split, uint64_t index) {
  SampleRng rng(opt.seed, split, index);
  const int s = static_cast<int>(opt.size);
  cv::Mat img = background(s, rng, opt.background == "textured");
  cv::Mat label(s, s, CV_8UC1, cv::Scalar(0)), parts(s, s, CV_8UC1, cv::Scalar(0));
  const int64_t n = rng.integer(opt.min_objects, opt.max_objects);
  // Large objects (default 0.5-0.7 of the side, 0.6-0.85 alone): at 128 px and output stride 8
  // the short axis spans >= 6 CAM cells, so a CAM can cover the part alone.
  const double min_frac = opt.object_scale[0] > 0 ? opt.object_scale[0] : (n == 1 ? 0.6 : 0.5);
  const double max_frac = opt.object_scale[1] > 0 ? opt.object_scale[1] : (n == 1 ? 0.85 : 0.7);
  for (int64_t k = 0; k < n; ++k) {
    const int cls = static_cast<int>(rng.integer(0, static_cast<int64_t>(part_shapes.size()) - 1));
    const int shape = part_shapes[static_cast<size_t>(cls)];
    const BodyStyle style = draw_body_style(shape, opt.body_signal, rng);
    const double a = rng.uniform(min_frac, max_frac) * s / 2, b = a * rng.uniform(0.75, 0.95);
    // Place where the new object hides < 30% of the others and none of their parts, so that
    // every tagged object shows its part; an object with no such place is not drawn.
    Object o;
    bool placed = false;
    for (int attempt = 0; attempt < 30 && !placed; ++attempt) {
      const cv::Point2d c(rng.uniform(a * 0.8, s - a * 0.8), rng.uniform(a * 0.8, s - a * 0.8));
      o = draw_object(s, c, a, b, style, shape, rng);
      const cv::Mat mine = o.body | o.part;
      const int area = cv::countNonZero(mine);
      const int hidden = cv::countNonZero(mine & (label > 0)), hidden_parts = cv::countNonZero(mine & (parts == 2));
      placed = area > 0 && hidden < 0.3 * area && hidden_parts == 0;
    }
    if (!placed) continue;
    cv::Vec3f body_colour = kBodyColours[style.colour] + random_colour(rng, -14, 14);
    cv::Vec3f part_colour = kPartColours[shape] + random_colour(rng, -18, 18);
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x) {
        const bool in_part = o.part.at<uint8_t>(y, x) != 0;
        if (!in_part && !o.body.at<uint8_t>(y, x)) continue;
        const float noise = static_cast<float>(rng.uniform(-8, 8));
        const float t = in_part ? 0.f : texture(style.texture, x, y);
        const cv::Vec3f base = in_part ? part_colour : body_colour;
        img.at<cv::Vec3f>(y, x) = base + cv::Vec3f(t + noise, t + noise, t + noise);
        label.at<uint8_t>(y, x) = static_cast<uint8_t>(cls + 1);
        parts.at<uint8_t>(y, x) = in_part ? 2 : 1;
      }
  }
  Scene sc = finish_scene(img, label, static_cast<int>(part_shapes.size()));
  sc.parts = parts;
  sc.parts.setTo(255, sc.mask == 255);
  return sc;
}

}  // namespace scene
}  // namespace amr
