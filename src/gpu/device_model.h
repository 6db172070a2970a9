// The device model's entry point for the context and the device selection:
// a physical device described as DeviceInfo (declared with the rest of the
// device model's functions in gpu/context.h: describe, apply_limits,
// require_minimums). It knows no Context.
#pragma once
#include <vulkan/vulkan.h>

#include <string>

#include "gpu/context.h"

namespace fovea::gpu {

// Everything Fovea reads about `pd`: properties, limits, subgroup support,
// features and extensions (each chained only where the device defines it).
// `limits` clamps it (apply_limits; "" = none).
DeviceInfo query_device(VkInstance instance, VkPhysicalDevice pd, const std::string& limits);

}  // namespace fovea::gpu
