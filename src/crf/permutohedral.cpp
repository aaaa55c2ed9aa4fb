#include "amr/crf/permutohedral.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace amr {

namespace {

// Open-addressing hash of lattice keys (d coordinates; the (d+1)-th is implied by sum zero).
class KeyTable {
 public:
  KeyTable(int d, size_t expected) : d_(d) {
    size_t cap = 1;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, -1);
    keys_.reserve(expected * static_cast<size_t>(d));
  }
  int size() const { return static_cast<int>(keys_.size() / d_); }
  const int16_t* key(int i) const { return keys_.data() + static_cast<size_t>(i) * d_; }

  // Index of `k`, inserted if `create`; -1 if absent.
  int find(const int16_t* k, bool create) {
    if (create && static_cast<size_t>(size()) * 2 >= slots_.size()) grow();
    size_t h = hash(k) & (slots_.size() - 1);
    while (true) {
      const int e = slots_[h];
      if (e < 0) {
        if (!create) return -1;
        slots_[h] = size();
        keys_.insert(keys_.end(), k, k + d_);
        return slots_[h];
      }
      if (std::memcmp(key(e), k, sizeof(int16_t) * d_) == 0) return e;
      h = (h + 1) & (slots_.size() - 1);
    }
  }

 private:
  size_t hash(const int16_t* k) const {
    size_t h = 0;
    for (int i = 0; i < d_; ++i) h = (h + static_cast<size_t>(static_cast<uint16_t>(k[i]))) * 2531011u;
    return h;
  }
  void grow() {
    std::vector<int> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, -1);
    for (int e = 0; e < size(); ++e) {
      size_t h = hash(key(e)) & (slots_.size() - 1);
      while (slots_[h] >= 0) h = (h + 1) & (slots_.size() - 1);
      slots_[h] = e;
    }
  }
  int d_;
  std::vector<int> slots_;
  std::vector<int16_t> keys_;
};

// Neighbours of every vertex along each lattice axis j: key -/+ 1 except +/- d on axis j;
// (d+1) x m x 2 vertex indices (-1: none).
std::vector<int32_t> lattice_neighbours(KeyTable& table, int d, int m) {
  const int d1 = d + 1;
  std::vector<int32_t> neighbours(static_cast<size_t>(d1) * m * 2);
  std::vector<int16_t> n1(d1), n2(d1);
  for (int j = 0; j <= d; ++j)
    for (int v = 0; v < m; ++v) {
      const int16_t* k = table.key(v);
      for (int i = 0; i < d; ++i) {
        n1[i] = static_cast<int16_t>(k[i] - 1);
        n2[i] = static_cast<int16_t>(k[i] + 1);
      }
      if (j < d) {
        n1[j] = static_cast<int16_t>(k[j] + d);
        n2[j] = static_cast<int16_t>(k[j] - d);
      }
      const size_t at = (static_cast<size_t>(j) * m + v) * 2;
      neighbours[at] = table.find(n1.data(), false);
      neighbours[at + 1] = table.find(n2.data(), false);
    }
  return neighbours;
}

}  // namespace

PermutohedralLattice::PermutohedralLattice(const float* features, int n, int d) : n_(n), d_(d) {
  const int d1 = d + 1;
  offset_.resize(static_cast<size_t>(n) * d1);
  barycentric_.resize(static_cast<size_t>(n) * d1);
  // Scale so that the lattice blur ([1 2 1] along each of the d+1 axes) has unit variance.
  std::vector<float> scale(d);
  const float inv_std = std::sqrt(2.0f / 3.0f) * d1;
  for (int i = 0; i < d; ++i) scale[i] = inv_std / std::sqrt(static_cast<float>((i + 1) * (i + 2)));
  // canonical[r][i]: the r-th remainder-r vertex of the canonical simplex.
  std::vector<int> canonical(static_cast<size_t>(d1) * d1);
  for (int r = 0; r <= d; ++r) {
    for (int i = 0; i <= d - r; ++i) canonical[r * d1 + i] = r;
    for (int i = d - r + 1; i <= d; ++i) canonical[r * d1 + i] = r - d1;
  }
  KeyTable table(d, static_cast<size_t>(n) * d1 / 4 + 16);
  std::vector<float> elevated(d1), bary(d1 + 1);
  std::vector<int> rem0(d1), rank(d1);
  std::vector<int16_t> key(d);
  for (int p = 0; p < n; ++p) {
    const float* f = features + static_cast<size_t>(p) * d;
    // Elevate onto the hyperplane sum(x) = 0 of R^{d+1}.
    float sm = 0;
    for (int j = d; j > 0; --j) {
      const float cf = f[j - 1] * scale[j - 1];
      elevated[j] = sm - j * cf;
      sm += cf;
    }
    elevated[0] = sm;
    // Nearest remainder-0 point, then the simplex (ranks of the differences).
    int sum = 0;
    for (int i = 0; i <= d; ++i) {
      const int rd = static_cast<int>(std::round(elevated[i] / d1));
      rem0[i] = rd * d1;
      sum += rd;
    }
    std::fill(rank.begin(), rank.end(), 0);
    for (int i = 0; i < d; ++i) {
      const float di = elevated[i] - rem0[i];
      for (int j = i + 1; j <= d; ++j)
        if (di < elevated[j] - rem0[j])
          ++rank[i];
        else
          ++rank[j];
    }
    for (int i = 0; i <= d; ++i) {
      rank[i] += sum;
      if (rank[i] < 0) {
        rank[i] += d1;
        rem0[i] += d1;
      } else if (rank[i] > d) {
        rank[i] -= d1;
        rem0[i] -= d1;
      }
    }
    std::fill(bary.begin(), bary.end(), 0.0f);
    for (int i = 0; i <= d; ++i) {
      const float v = (elevated[i] - rem0[i]) / d1;
      bary[d - rank[i]] += v;
      bary[d - rank[i] + 1] -= v;
    }
    bary[0] += 1.0f + bary[d1];
    for (int r = 0; r <= d; ++r) {
      for (int i = 0; i < d; ++i) key[i] = static_cast<int16_t>(rem0[i] + canonical[r * d1 + rank[i]]);
      offset_[static_cast<size_t>(p) * d1 + r] = table.find(key.data(), true);
      barycentric_[static_cast<size_t>(p) * d1 + r] = bary[r];
    }
  }
  m_ = table.size();
  neighbours_ = lattice_neighbours(table, d, m_);
}

void PermutohedralLattice::filter(const float* in, float* out, int vs) const {
  const int d1 = d_ + 1;
  // Row 0 of the vertex buffers is a zero row that absent neighbours (-1) point to.
  std::vector<float> values(static_cast<size_t>(m_ + 1) * vs, 0.0f), blurred(values.size(), 0.0f);
  for (int p = 0; p < n_; ++p)  // splat
    for (int r = 0; r < d1; ++r) {
      const size_t o = static_cast<size_t>(offset_[static_cast<size_t>(p) * d1 + r] + 1) * vs;
      const float w = barycentric_[static_cast<size_t>(p) * d1 + r];
      const float* x = in + static_cast<size_t>(p) * vs;
      for (int k = 0; k < vs; ++k) values[o + k] += w * x[k];
    }
  for (int j = 0; j <= d_; ++j) {  // blur with [1 2 1]/2 along each axis
    const int32_t* nb = neighbours_.data() + static_cast<size_t>(j) * m_ * 2;
    for (int v = 0; v < m_; ++v) {
      const float* self = &values[static_cast<size_t>(v + 1) * vs];
      const float* a = &values[static_cast<size_t>(nb[2 * v] + 1) * vs];
      const float* b = &values[static_cast<size_t>(nb[2 * v + 1] + 1) * vs];
      float* dst = &blurred[static_cast<size_t>(v + 1) * vs];
      for (int k = 0; k < vs; ++k) dst[k] = self[k] + 0.5f * (a[k] + b[k]);
    }
    values.swap(blurred);
  }
  const float alpha = 1.0f / (1.0f + std::pow(2.0f, -static_cast<float>(d_)));
  for (int p = 0; p < n_; ++p) {  // slice
    float* y = out + static_cast<size_t>(p) * vs;
    std::fill(y, y + vs, 0.0f);
    for (int r = 0; r < d1; ++r) {
      const size_t o = static_cast<size_t>(offset_[static_cast<size_t>(p) * d1 + r] + 1) * vs;
      const float w = alpha * barycentric_[static_cast<size_t>(p) * d1 + r];
      for (int k = 0; k < vs; ++k) y[k] += w * values[o + k];
    }
  }
}

}  // namespace amr
