// Measures, on the first Vulkan device, the implementation facts
// docs/devices.md relies on: how many loop iterations a lane really runs,
// whether fma() is fused, when a pipeline is compiled (creation or first
// dispatch), and storage-buffer against texel-buffer loads in a dot-product
// loop. Built and run by tools/device_probe/run.sh; a probe, not a test.
#include <vulkan/vulkan.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

void check(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  std::fprintf(stderr, "device_probe: %s failed (VkResult %d)\n", what, int(r));
  std::exit(1);
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

constexpr VkDeviceSize kOutBytes = 1 << 20;   // binding 0: results
constexpr VkDeviceSize kBytes = 64ull << 20;  // the rest: the matrix A

struct Probe {
  VkInstance instance{};
  VkPhysicalDevice physical{};
  VkPhysicalDeviceProperties props{};
  VkDevice device{};
  VkQueue queue{};
  VkCommandPool pool{};
  VkFence fence{};
  VkBuffer buffer{};
  VkDeviceMemory memory{};
  char* mapped = nullptr;
  VkBufferView view{};
  uint32_t texels = 0;
  VkDescriptorSetLayout set_layout{};
  VkPipelineLayout layout{};
  VkDescriptorPool descriptor_pool{};
  VkDescriptorSet set{};
  std::string spirv_dir;
};

void create_device(Probe& p) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ii{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ii.pApplicationInfo = &app;
  check(vkCreateInstance(&ii, nullptr, &p.instance), "vkCreateInstance");
  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(p.instance, &n, &p.physical);
  if (n == 0 || (r != VK_SUCCESS && r != VK_INCOMPLETE)) check(VK_ERROR_INITIALIZATION_FAILED, "no Vulkan device");
  vkGetPhysicalDeviceProperties(p.physical, &p.props);
  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(p.physical, &families, nullptr);
  std::vector<VkQueueFamilyProperties> qf(families);
  vkGetPhysicalDeviceQueueFamilyProperties(p.physical, &families, qf.data());
  uint32_t family = 0;
  while (family < families && !(qf[family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++family;
  if (family == families) check(VK_ERROR_FEATURE_NOT_PRESENT, "a compute queue");
  float priority = 1;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = family;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  check(vkCreateDevice(p.physical, &di, nullptr, &p.device), "vkCreateDevice");
  vkGetDeviceQueue(p.device, family, 0, &p.queue);
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = family;
  check(vkCreateCommandPool(p.device, &pci, nullptr, &p.pool), "vkCreateCommandPool");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(p.device, &fi, nullptr, &p.fence), "vkCreateFence");
}

// One host-visible buffer: results first, then A, also seen as a texel buffer.
void create_buffer(Probe& p) {
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = kBytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  check(vkCreateBuffer(p.device, &bci, nullptr, &p.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(p.device, p.buffer, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(p.physical, &mp);
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = 0;
  while (type < mp.memoryTypeCount &&
         !((req.memoryTypeBits >> type & 1) && (mp.memoryTypes[type].propertyFlags & want) == want))
    ++type;
  if (type == mp.memoryTypeCount) check(VK_ERROR_FEATURE_NOT_PRESENT, "host-visible memory");
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  check(vkAllocateMemory(p.device, &mai, nullptr, &p.memory), "vkAllocateMemory");
  check(vkBindBufferMemory(p.device, p.buffer, p.memory, 0), "vkBindBufferMemory");
  void* m = nullptr;
  check(vkMapMemory(p.device, p.memory, 0, kBytes, 0, &m), "vkMapMemory");
  p.mapped = static_cast<char*>(m);
  p.texels = uint32_t((kBytes - kOutBytes) / 16);
  if (p.texels > p.props.limits.maxTexelBufferElements) p.texels = p.props.limits.maxTexelBufferElements;
  VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  vi.buffer = p.buffer;
  vi.format = VK_FORMAT_R32G32B32A32_SFLOAT;
  vi.offset = kOutBytes;
  vi.range = VkDeviceSize(p.texels) * 16;
  check(vkCreateBufferView(p.device, &vi, nullptr, &p.view), "vkCreateBufferView");
}

// Binding 0: results (storage), 1: A (storage), 2: A (uniform texel buffer).
void create_descriptors(Probe& p) {
  const VkDescriptorSetLayoutBinding b[3] = {
      {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr},
      {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr},
      {2, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr}};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = 3;
  li.pBindings = b;
  check(vkCreateDescriptorSetLayout(p.device, &li, nullptr, &p.set_layout), "vkCreateDescriptorSetLayout");
  const VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, 8};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &p.set_layout;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &pcr;
  check(vkCreatePipelineLayout(p.device, &pli, nullptr, &p.layout), "vkCreatePipelineLayout");
  const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2},
                                         {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1}};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.maxSets = 1;
  dpi.poolSizeCount = 2;
  dpi.pPoolSizes = sizes;
  check(vkCreateDescriptorPool(p.device, &dpi, nullptr, &p.descriptor_pool), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = p.descriptor_pool;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &p.set_layout;
  check(vkAllocateDescriptorSets(p.device, &dai, &p.set), "vkAllocateDescriptorSets");
  const VkDescriptorBufferInfo out{p.buffer, 0, kOutBytes}, a{p.buffer, kOutBytes, VkDeviceSize(p.texels) * 16};
  VkWriteDescriptorSet w[3] = {};
  for (uint32_t i = 0; i < 3; ++i) {
    w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w[i].dstSet = p.set;
    w[i].dstBinding = i;
    w[i].descriptorCount = 1;
    w[i].descriptorType = b[i].descriptorType;
  }
  w[0].pBufferInfo = &out;
  w[1].pBufferInfo = &a;
  w[2].pTexelBufferView = &p.view;
  vkUpdateDescriptorSets(p.device, 3, w, 0, nullptr);
}

VkPipeline make_pipeline(const Probe& p, const char* name, double* create_ms) {
  const std::string path = p.spirv_dir + "/" + name + ".spv";
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
  if (bytes.empty() || bytes.size() % 4) check(VK_ERROR_INITIALIZATION_FAILED, path.c_str());
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = bytes.size();
  mi.pCode = words.data();
  VkShaderModule module;
  check(vkCreateShaderModule(p.device, &mi, nullptr, &module), "vkCreateShaderModule");
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.layout = p.layout;
  VkPipeline pipeline;
  const auto t0 = Clock::now();
  check(vkCreateComputePipelines(p.device, VK_NULL_HANDLE, 1, &ci, nullptr, &pipeline), "vkCreateComputePipelines");
  if (create_ms) *create_ms = ms_since(t0);
  vkDestroyShaderModule(p.device, module, nullptr);
  return pipeline;
}

// One dispatch, submitted alone and waited for; returns the wall time of
// submit + wait in ms.
double dispatch(const Probe& p, VkPipeline pipeline, uint32_t groups, uint32_t push0, uint32_t push1) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = p.pool;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  check(vkAllocateCommandBuffers(p.device, &ai, &cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  check(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &p.set, 0, nullptr);
  const uint32_t push[2] = {push0, push1};
  vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, push);
  vkCmdDispatch(cb, groups, 1, 1);
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr,
                       0, nullptr);
  check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  const auto t0 = Clock::now();
  check(vkQueueSubmit(p.queue, 1, &si, p.fence), "vkQueueSubmit");
  check(vkWaitForFences(p.device, 1, &p.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  const double ms = ms_since(t0);
  vkResetFences(p.device, 1, &p.fence);
  vkFreeCommandBuffers(p.device, p.pool, 1, &cb);
  return ms;
}

void probe_compile_and_loops(const Probe& p) {
  double create_ms = 0;
  VkPipeline loop = make_pipeline(p, "loop", &create_ms);
  const double first = dispatch(p, loop, 1, 1000, 0), second = dispatch(p, loop, 1, 1000, 0);
  std::printf("compile: loop.comp pipeline creation %.1f ms, first dispatch %.1f ms, second %.2f ms\n", create_ms,
              first, second);
  const uint32_t* out = reinterpret_cast<const uint32_t*>(p.mapped);
  const uint32_t cases[][2] = {{65535, 0},      {65536, 0},       {100000, 0}, {1000000, 0},
                               {100000, 1000},  {1000000, 1000},  {65535, 65535}};
  for (const auto& c : cases) {
    std::memset(p.mapped, 0, 256);
    dispatch(p, loop, 1, c[0], c[1]);
    std::printf("loop: asked %u iterations (%s): lane 0 ran %u%s\n", c[0],
                c[1] ? ("outer x inner " + std::to_string(c[1])).c_str() : "one loop", out[0],
                out[0] == c[0] ? "" : "  (cut short)");
  }
}

void probe_fma(const Probe& p) {
  VkPipeline pipeline = make_pipeline(p, "fma", nullptr);
  float* v = reinterpret_cast<float*>(p.mapped);
  const float a = 1.0f + std::ldexp(1.0f, -12);
  v[0] = a;
  v[1] = -(a * a);
  v[2] = -1;
  dispatch(p, pipeline, 1, 0, 0);
  std::printf("fma: fma(a, a, -round(a a)), a = 1 + 2^-12, gave %g (fused: %g, unfused: 0)\n", double(v[2]),
              std::ldexp(1.0, -24));
}

void probe_loads(const Probe& p) {
  const uint32_t k4 = 256;  // 1024 floats per row
  uint32_t rows = 16384;
  if (uint64_t(rows) * k4 > p.texels) rows = p.texels / k4 / 64 * 64;
  float* a = reinterpret_cast<float*>(p.mapped + kOutBytes);
  for (uint64_t i = 0; i < uint64_t(rows) * k4 * 4; ++i) a[i] = float(i * 7919 % 1000) / 1000.0f;
  for (const char* name : {"dot_ssbo", "dot_texel"}) {
    VkPipeline pipeline = make_pipeline(p, name, nullptr);
    dispatch(p, pipeline, rows / 64, k4, 0);  // compile
    double best = 1e30;
    for (int r = 0; r < 7; ++r) best = std::min(best, dispatch(p, pipeline, rows / 64, k4, 0));
    const double flops = 2.0 * rows * k4 * 4;
    std::printf("loads: %s, %u rows x %u floats, best of 7: %.2f ms, %.2f GFLOP/s\n", name, rows, k4 * 4, best,
                flops / best / 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: device_probe SPIRV_DIR (see tools/device_probe/run.sh)\n");
    return 2;
  }
  Probe p;
  p.spirv_dir = argv[1];
  create_device(p);
  std::printf("device: %s (Vulkan %u.%u.%u, driver version 0x%x)\n", p.props.deviceName,
              VK_API_VERSION_MAJOR(p.props.apiVersion), VK_API_VERSION_MINOR(p.props.apiVersion),
              VK_API_VERSION_PATCH(p.props.apiVersion), p.props.driverVersion);
  create_buffer(p);
  create_descriptors(p);
  probe_compile_and_loops(p);
  probe_fma(p);
  probe_loads(p);
  return 0;  // the process exit frees what it created
}
