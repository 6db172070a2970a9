#version 450
// One optimizer step over every parameter of the model, torch.optim's rules
// (PyTorch 1.13, its default single-tensor code path), one kernel
// specialised by KIND (ops::Optimizer; keep the numbers in step):
//   p: [count] parameters, g: [count] gradients,
//   S: the optimizer's k state arrays, array j at S[j * stride], stride =
//      count rounded up to 4 so every array starts 16-byte aligned.
// Per-step scalars: P.lr, and P.optim (ops::OptimCoefficients, computed on
// the host in double from the step count). Each expression keeps torch's
// order of float operations (mul_ then add_; addcdiv's p + v * (a / b)),
// so the two round alike.
// Each lane updates 4 values with 16-byte loads and stores (on lavapipe
// scalar storage-buffer access costs per lane); the last count % 4 values
// go through scalar aliases of the parameter and gradient bindings, padded
// to a vec4 with zeros (every rule maps zeros to finite state for eps > 0;
// the padding lanes of the state arrays are never read for a parameter).
#include "common.glsl"
layout(local_size_x = 64) in;

layout(constant_id = 0) const uint KIND = 0u;
const uint SGD = 0u, NESTEROV = 1u, ADAGRAD = 2u, RMSPROP = 3u, ADADELTA = 4u, ADAM = 5u,
           ADAMW = 6u, ADAMAX = 7u, NADAM = 8u, AMSGRAD = 9u;

layout(std430, set = 0, binding = 1) buffer Param { vec4 p4[]; };
layout(std430, set = 0, binding = 2) readonly buffer Grad { vec4 g4[]; };
layout(std430, set = 0, binding = 3) buffer State { vec4 s4[]; };
layout(std430, set = 0, binding = 1) buffer ParamTail { float p1[]; };
layout(std430, set = 0, binding = 2) readonly buffer GradTail { float g1[]; };

layout(push_constant) uniform Push {
  uint count;
  uint stride4;  // state array stride, in vec4
  float momentum, weight_decay, beta1, beta2, eps, alpha, rho;
  uint centered;
} pc;

vec4 state(uint j, uint e) { return s4[j * pc.stride4 + e]; }
void set_state(uint j, uint e, vec4 v) { s4[j * pc.stride4 + e] = v; }

// The new value of 4 parameters p with gradients g; e: their vec4 index.
vec4 update(vec4 p, vec4 g, uint e) {
  const float lr = P.lr;
  if (KIND == ADAMW) {
    p *= P.optim.z;  // decoupled decay: p *= 1 - lr * weight_decay
  } else if (pc.weight_decay != 0.0) {
    g += pc.weight_decay * p;  // L2: g' = g + weight_decay * p
  }
  if (KIND == SGD || KIND == NESTEROV) {
    // buf = momentum buf + g'; p -= lr (nesterov ? g' + momentum buf : buf)
    vec4 buf = pc.momentum * state(0u, e) + g;
    set_state(0u, e, buf);
    p -= lr * (KIND == NESTEROV ? g + pc.momentum * buf : buf);
  } else if (KIND == ADAGRAD) {
    // sum += g'^2; p -= lr g' / (sqrt(sum) + eps)   (lr_decay 0)
    vec4 sum = state(0u, e) + g * g;
    set_state(0u, e, sum);
    p -= lr * (g / (sqrt(sum) + pc.eps));
  } else if (KIND == RMSPROP) {
    // sq = alpha sq + (1 - alpha) g'^2; centered: ga = alpha ga + (1 - alpha) g',
    // avg = sqrt(sq - ga^2) + eps (else sqrt(sq) + eps); momentum > 0:
    // buf = momentum buf + g' / avg, p -= lr buf; else p -= lr g' / avg.
    vec4 sq = pc.alpha * state(0u, e) + (1.0 - pc.alpha) * g * g;
    set_state(0u, e, sq);
    vec4 avg;
    if (pc.centered != 0u) {
      vec4 ga = pc.alpha * state(1u, e) + (1.0 - pc.alpha) * g;
      set_state(1u, e, ga);
      avg = sqrt(sq - ga * ga) + pc.eps;
    } else {
      avg = sqrt(sq) + pc.eps;
    }
    if (pc.momentum > 0.0) {
      uint b = pc.centered != 0u ? 2u : 1u;
      vec4 buf = pc.momentum * state(b, e) + g / avg;
      set_state(b, e, buf);
      p -= lr * buf;
    } else {
      p -= lr * (g / avg);
    }
  } else if (KIND == ADADELTA) {
    // sq = rho sq + (1 - rho) g'^2; delta = sqrt(acc + eps) / sqrt(sq + eps) g';
    // acc = rho acc + (1 - rho) delta^2; p -= lr delta
    vec4 sq = pc.rho * state(0u, e) + (1.0 - pc.rho) * g * g;
    vec4 acc = state(1u, e);
    vec4 delta = sqrt(acc + pc.eps) / sqrt(sq + pc.eps) * g;
    set_state(0u, e, sq);
    set_state(1u, e, pc.rho * acc + (1.0 - pc.rho) * delta * delta);
    p -= lr * delta;
  } else {
    // The Adam family: first moment m; second moment v (AdaMax: the
    // infinity norm u instead).
    vec4 m = pc.beta1 * state(0u, e) + (1.0 - pc.beta1) * g;
    set_state(0u, e, m);
    if (KIND == ADAMAX) {
      // u = max(beta2 u, |g'| + eps); p -= lr / (1 - beta1^t) m / u
      vec4 u = max(pc.beta2 * state(1u, e), abs(g) + pc.eps);
      set_state(1u, e, u);
      p -= P.optim.x * (m / u);
    } else {
      vec4 v = pc.beta2 * state(1u, e) + (1.0 - pc.beta2) * g * g;
      set_state(1u, e, v);
      if (KIND == NADAM) {
        // denom = sqrt(v / (1 - beta2^t)) + eps; p -= c1 g' / denom, then
        // p -= c2 m / denom (two roundings, as torch's two addcdiv_)
        vec4 denom = sqrt(v / P.optim.z) + pc.eps;
        p -= P.optim.x * (g / denom);
        p -= P.optim.y * (m / denom);
      } else {
        // Adam, AdamW, AMSGrad (v replaced by the running max of v):
        // p -= lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        if (KIND == AMSGRAD) {
          v = max(state(2u, e), v);
          set_state(2u, e, v);
        }
        p -= P.optim.x * (m / (sqrt(v) / P.optim.y + pc.eps));
      }
    }
  }
  return p;
}

void main() {
  uint full = pc.count / 4u;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint e = gl_GlobalInvocationID.x; e < full; e += stride) p4[e] = update(p4[e], g4[e], e);
  uint r = pc.count - 4u * full;  // 0..3 values left
  if (gl_GlobalInvocationID.x == 0u && r != 0u) {
    uint b = 4u * full;
    vec4 p = vec4(p1[b], r > 1u ? p1[b + 1u] : 0.0, r > 2u ? p1[b + 2u] : 0.0, 0.0);
    vec4 g = vec4(g1[b], r > 1u ? g1[b + 1u] : 0.0, r > 2u ? g1[b + 2u] : 0.0, 0.0);
    p = update(p, g, full);
    p1[b] = p.x;
    if (r > 1u) p1[b + 1u] = p.y;
    if (r > 2u) p1[b + 2u] = p.z;
  }
}
