// rng reference: Philox-4x32-10 on the CPU, the same integers as
// shaders/rng/philox.glsl, and Fovea's keying on top of it.
#pragma once
#include <array>
#include <cstdint>

namespace fovea::ref {

using Words = std::array<uint32_t, 4>;
Words philox4x32(Words ctr, std::array<uint32_t, 2> key);

// The word of `element` under Fovea's keying (see philox.glsl).
uint32_t philox_bits(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element);
// Uniform in [0, 1) with 24 bits; N(0, 1) by Box-Muller (purposes p, p + 1), in double.
double philox_uniform(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element);
double philox_normal(uint32_t seed, uint32_t stream, uint32_t step, uint32_t purpose, uint64_t element);

}  // namespace fovea::ref
