#include "gpu/kernel.h"

#include <vector>

#include "util/error.h"

namespace fovea::gpu {

Context::KernelTable::KernelTable(Context& c) : ctx(c) {
  VkDescriptorSetLayoutBinding b[kFirstTexelBinding + kMaxTexelBindings]{};
  b[0].binding = 0;
  b[0].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
  b[0].descriptorCount = 1;
  b[0].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  for (uint32_t i = 1; i <= kMaxStorageBindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  for (uint32_t i = kFirstTexelBinding; i < kFirstTexelBinding + kMaxTexelBindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dci.bindingCount = kFirstTexelBinding + kMaxTexelBindings;
  dci.pBindings = b;
  check(vkCreateDescriptorSetLayout(ctx.device(), &dci, nullptr, &set_layout),
        "vkCreateDescriptorSetLayout");
  VkPushConstantRange pc{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes};
  VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  lci.setLayoutCount = 1;
  lci.pSetLayouts = &set_layout;
  lci.pushConstantRangeCount = 1;
  lci.pPushConstantRanges = &pc;
  check(vkCreatePipelineLayout(ctx.device(), &lci, nullptr, &layout), "vkCreatePipelineLayout");
}

Context::KernelTable::~KernelTable() {
  for (auto& [name, k] : kernels) vkDestroyPipeline(ctx.device(), k.pipeline, nullptr), --ctx.live_objects().pipelines;
  vkDestroyPipelineLayout(ctx.device(), layout, nullptr);
  vkDestroyDescriptorSetLayout(ctx.device(), set_layout, nullptr);
}

const Kernel& Context::KernelTable::get(std::string_view shader, std::span<const uint32_t> spec) {
  std::string key(shader);
  if (!spec.empty()) {
    key += "<";
    for (size_t i = 0; i < spec.size(); ++i) {
      if (i) key += ',';
      key += std::to_string(spec[i]);
    }
    key += ">";
  }
  std::lock_guard<std::mutex> lock(mutex);  // Trainers on one context may build kernels from two threads
  if (auto it = kernels.find(key); it != kernels.end()) return it->second;

  std::span<const uint32_t> code = embedded_spirv(shader);
  if (code.empty()) throw Error("no embedded shader named " + std::string(shader));
  VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mci.codeSize = code.size() * sizeof(uint32_t);
  mci.pCode = code.data();
  VkShaderModule module;
  check(vkCreateShaderModule(ctx.device(), &mci, nullptr, &module), "vkCreateShaderModule");

  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i)
    entries[i] = {i, uint32_t(i * sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size_bytes(), spec.data()};
  VkComputePipelineCreateInfo pci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pci.stage.module = module;
  pci.stage.pName = "main";
  pci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  pci.layout = layout;
  Kernel k;
  k.name = key;
  k.layout = layout;
  k.set_layout = set_layout;
  VkResult r = vkCreateComputePipelines(ctx.device(), ctx.pipeline_cache(), 1, &pci, nullptr,
                                        &k.pipeline);
  vkDestroyShaderModule(ctx.device(), module, nullptr);
  check(r, ("vkCreateComputePipelines(" + key + ")").c_str());
  ++ctx.live_objects().pipelines;
  return kernels.emplace(key, k).first->second;
}

}  // namespace fovea::gpu
