#include "reference/dense.h"

namespace fovea::ref {

void gemm(const GemmShape& g, const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& c) {
  for (uint64_t i = 0; i < g.M; ++i)
    for (uint64_t j = 0; j < g.N; ++j) {
      double s = bias.empty() ? 0.0 : bias[j];
      for (uint64_t k = 0; k < g.K; ++k) s += a[i * g.a_rs + k * g.a_ks] * b[k * g.b_ks + j * g.b_cs];
      c[i * g.c_rs + j] = s;
    }
}

Tensor dense_forward(uint32_t batch, uint32_t in, uint32_t out, const Tensor& x, const Tensor& w,
                     const Tensor& b) {
  Tensor y(uint64_t(batch) * out);
  for (uint64_t n = 0; n < batch; ++n)
    for (uint64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (uint64_t i = 0; i < in; ++i) s += x[n * in + i] * w[o * in + i];
      y[n * out + o] = s;
    }
  return y;
}

Tensor dense_backward_input(uint32_t batch, uint32_t in, uint32_t out, const Tensor& dy,
                            const Tensor& w) {
  Tensor dx(uint64_t(batch) * in, 0.0);
  for (uint64_t n = 0; n < batch; ++n)
    for (uint64_t o = 0; o < out; ++o)
      for (uint64_t i = 0; i < in; ++i) dx[n * in + i] += dy[n * out + o] * w[o * in + i];
  return dx;
}

Tensor dense_backward_weight(uint32_t batch, uint32_t in, uint32_t out, const Tensor& x,
                             const Tensor& dy) {
  Tensor dw(uint64_t(out) * in, 0.0);
  for (uint64_t n = 0; n < batch; ++n)
    for (uint64_t o = 0; o < out; ++o)
      for (uint64_t i = 0; i < in; ++i) dw[o * in + i] += dy[n * out + o] * x[n * in + i];
  return dw;
}

Tensor dense_backward_bias(uint32_t batch, uint32_t out, const Tensor& dy) {
  Tensor db(out, 0.0);
  for (uint64_t n = 0; n < batch; ++n)
    for (uint64_t o = 0; o < out; ++o) db[o] += dy[n * out + o];
  return db;
}

}  // namespace fovea::ref
