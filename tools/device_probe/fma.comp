#version 450
// r = fma(a, a, c) with c = -round(a * a): the rounding error of a * a when
// the device fuses the multiply and add, 0 when it rounds the product first.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer Out { float v[]; } o;
void main() {
  float a = o.v[0], c = o.v[1];
  precise float r = fma(a, a, c);
  o.v[2] = r;
}
