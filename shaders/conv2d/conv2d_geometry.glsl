// The geometry every conv2d kernel shares (push constants), PyTorch's
// Conv2d: y[b, o, oh, ow] = bias[o] + sum over c in o's group, i < KH, j < KW
// of w[o, c', i, j] * x[b, c, oh*SH - PH + i*DH, ow*SW - PW + j*DW], taps
// outside the input reading 0.
layout(push_constant) uniform Push {
  uint C, H, W;      // input channels and plane
  uint OH, OW;       // output plane
  uint KH, KW;
  uint SH, SW, PH, PW, DH, DW;
  uint batch;
} pc;
