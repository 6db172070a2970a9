#version 450
// dot_ssbo.comp's product, loading A through an rgba32f uniform texel buffer
// over the same memory.
layout(local_size_x = 64) in;
layout(push_constant) uniform P { uint k4; } p;  // row length in vec4s
layout(std430, binding = 0) buffer Out { float v[]; } o;
layout(binding = 2) uniform samplerBuffer ta;
void main() {
  uint row = gl_GlobalInvocationID.x;
  vec4 s = vec4(0);
  for (uint k = 0u; k < p.k4; ++k) s += texelFetch(ta, int(row * p.k4 + k)) * texelFetch(ta, int(k));
  o.v[row] = s.x + s.y + s.z + s.w;
}
