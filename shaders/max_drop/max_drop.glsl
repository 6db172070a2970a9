// Shared by max_drop/forward and max_drop/backward: the push block
// (MaxDropPush in src/ops/max_drop.cpp) over x: [N, C, H, W] and which
// elements Max-Drop drops.
layout(push_constant) uniform Push {
  uint count;   // N * C * H * W
  uint plane;   // H * W
  uint channels;
  uint across_channels;  // 0: groups are feature maps [n, c]; 1: positions [n, h, w]
  uint stream;  // the layer's Philox stream
  float p;      // probability of dropping a maximal unit
} pc;

layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };        // [N, C, H, W]
layout(std430, set = 0, binding = 2) readonly buffer Maxima { float maxima[]; };  // [groups]

// The group of element e: its feature map n * C + c, or (across channels)
// its position n * H * W + h * W + w.
uint group_of(uint e) {
  if (pc.across_channels == 0u) return e / pc.plane;
  return e / (pc.channels * pc.plane) * pc.plane + e % pc.plane;
}

// Element e is dropped when it equals its group's maximum (every tied
// maximum draws on its own) and its uniform falls below p (keyed by its
// index in the global batch: global_index).
bool dropped(uint e) {
  return x[e] == maxima[group_of(e)] && philox_uniform(P.seed, pc.stream, P.step, 0u, global_index(e, pc.count)) < pc.p;
}
