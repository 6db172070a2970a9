#version 450
// out[row] = A[row, :] . A[0, :], loading A from a storage buffer.
layout(local_size_x = 64) in;
layout(push_constant) uniform P { uint k4; } p;  // row length in vec4s
layout(std430, binding = 0) buffer Out { float v[]; } o;
layout(std430, binding = 1) readonly buffer A { vec4 a[]; };
void main() {
  uint row = gl_GlobalInvocationID.x;
  vec4 s = vec4(0);
  for (uint k = 0u; k < p.k4; ++k) s += a[row * p.k4 + k] * a[k];
  o.v[row] = s.x + s.y + s.z + s.w;
}
