// The context's VkPipelineCache on disk: loaded when a context starts,
// saved when it ends.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gpu/context.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::gpu {

// The pipeline cache lives in $XDG_CACHE_HOME/fovea (or ~/.cache/fovea), one
// file per device UUID and driver version; a file the driver does not accept
// is ignored, never fatal.
static std::filesystem::path cache_path(const DeviceInfo& d) {
  const std::filesystem::path dir = cache_dir();
  if (dir.empty()) return {};
  char name[80];
  std::snprintf(name, sizeof name, "pipelines-%04x-%04x-", d.vendor_id, d.device_id);
  std::string file = name;
  for (uint8_t b : d.uuid) {
    char hx[3];
    std::snprintf(hx, sizeof hx, "%02x", b);
    file += hx;
  }
  return dir / (file + ".bin");
}

void Context::load_pipeline_cache() {
  std::vector<char> data;
  std::filesystem::path p = cache_path(info_);
  if (!p.empty()) {
    std::ifstream f(p, std::ios::binary);
    if (f) data.assign(std::istreambuf_iterator<char>(f), {});
  }
  // The header carries vendor, device and cache UUID; the driver rejects a
  // mismatch itself, but we check to stay safe on drivers that do not.
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical_, &props);
  if (data.size() < 16 + VK_UUID_SIZE ||
      std::memcmp(data.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    data.clear();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  if (vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    check(vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_), "vkCreatePipelineCache");
  }
}

void Context::save_pipeline_cache() {
  std::filesystem::path p = cache_path(info_);
  if (p.empty()) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || !size) return;
  std::vector<char> data(size);
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return;  // a cache we cannot write only costs compile time
  std::filesystem::path tmp = p;
  tmp += ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(data.data(), std::streamsize(size));
    if (!f) return;
  }
  std::filesystem::rename(tmp, p, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace fovea::gpu
