#version 450
// The host application's own per-frame work in examples/embed/frame.cpp: a
// shader that writes an image (SIZE x SIZE RGBA8 pixels, packed in uints)
// of a few iterations of z = z^2 + c, moving with the frame number.
layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, set = 0, binding = 0) writeonly buffer Image { uint pixels[]; };
layout(push_constant) uniform Push { uint frame; uint size; } pc;

void main() {
  uvec2 p = gl_GlobalInvocationID.xy;
  if (p.x >= pc.size || p.y >= pc.size) return;
  float t = float(pc.frame) * 0.01;
  vec2 c = vec2(-0.8 + 0.2 * cos(t), 0.156 + 0.1 * sin(t));
  vec2 z = (vec2(p) / float(pc.size) - 0.5) * 3.0;
  uint n = 0u;
  for (; n < 64u && dot(z, z) < 4.0; ++n) z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
  uint v = n * 4u;
  pixels[p.y * pc.size + p.x] = v | (v / 2u) << 8 | (255u - v) << 16 | 255u << 24;
}
