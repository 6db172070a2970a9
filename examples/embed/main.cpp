// Embedding Fovea in an application that owns its Vulkan objects (an engine):
//  1. create a VkInstance (validation layer on, messages counted) and a
//     VkDevice with a compute queue;
//  2. put Fashion-MNIST training images and labels in a VkBuffer of our own;
//  3. hand the device to Fovea, train a few epochs from that buffer;
//  4. evaluate and read predictions back on held-out images;
//  5. let Fovea go, then destroy our own objects.
// Exits non-zero on any Fovea error, Vulkan failure or validation message.
//
//   fovea_embed DATA_DIR MODEL_SPEC [EPOCHS] [TRAIN_IMAGES] [TEST_IMAGES] [WEIGHTS_OUT]
#include <fovea/fovea.hpp>
#include <vulkan/vulkan.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int g_messages = 0;  // validation messages seen by our messenger

VkBool32 VKAPI_PTR on_message(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                              const VkDebugUtilsMessengerCallbackDataEXT* d, void*) {
  ++g_messages;
  std::fprintf(stderr, "validation: %s\n", d->pMessage);
  return VK_FALSE;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fovea_embed: %s\n", what.c_str());
  std::exit(1);
}

void vk(VkResult r, const char* what) {
  if (r != VK_SUCCESS) die(std::string(what) + " failed (VkResult " + std::to_string(int(r)) + ")");
}

// An IDX file (gzip-compressed): the payload after its header, at most
// `limit` items of `item_bytes` each.
std::vector<uint8_t> read_idx(const std::string& path, uint32_t dims, size_t item_bytes, uint32_t limit) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) die("cannot open " + path);
  std::vector<uint8_t> header(4 + 4 * dims);
  if (gzread(f, header.data(), unsigned(header.size())) != int(header.size())) die(path + ": short header");
  const uint32_t count = uint32_t(header[4]) << 24 | uint32_t(header[5]) << 16 | uint32_t(header[6]) << 8 | header[7];
  const size_t n = std::min(count, limit);
  std::vector<uint8_t> data(n * item_bytes);
  if (gzread(f, data.data(), unsigned(data.size())) != int(data.size())) die(path + ": short data");
  gzclose(f);
  return data;
}

struct Images {
  std::vector<uint8_t> pixels;   // u8 [n, 1, 28, 28]
  std::vector<uint32_t> labels;  // [n]
};

Images load(const std::string& dir, const char* prefix, uint32_t limit) {
  Images s;
  s.pixels = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", 3, 28 * 28, limit);
  std::vector<uint8_t> l = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 1, 1, limit);
  s.labels.assign(l.begin(), l.end());
  return s;
}

// The application's Vulkan objects.
struct Engine {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t family = 0;
};

Engine create_engine() {
  Engine e;
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "fovea_embed";
  app.apiVersion = VK_API_VERSION_1_1;
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pNext = &features;
  ici.pApplicationInfo = &app;
  ici.enabledLayerCount = 1;
  ici.ppEnabledLayerNames = &layer;
  ici.enabledExtensionCount = 1;
  ici.ppEnabledExtensionNames = &ext;
  vk(vkCreateInstance(&ici, nullptr, &e.instance), "vkCreateInstance (with the validation layer)");
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
  mci.pfnUserCallback = on_message;
  auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(e.instance, "vkCreateDebugUtilsMessengerEXT"));
  vk(create_messenger(e.instance, &mci, nullptr, &e.messenger), "vkCreateDebugUtilsMessengerEXT");

  uint32_t n = 1;
  VkResult r = vkEnumeratePhysicalDevices(e.instance, &n, &e.physical);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0) die("no Vulkan device");
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(e.physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(e.physical, &nq, qf.data());
  while (e.family < nq && !(qf[e.family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++e.family;
  if (e.family == nq) die("the device has no compute queue");
  const float priority = 1;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = e.family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  vk(vkCreateDevice(e.physical, &dci, nullptr, &e.device), "vkCreateDevice");
  return e;
}

void destroy_engine(Engine& e) {
  vkDestroyDevice(e.device, nullptr);
  auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(e.instance, "vkDestroyDebugUtilsMessengerEXT"));
  destroy_messenger(e.instance, e.messenger, nullptr);
  vkDestroyInstance(e.instance, nullptr);
}

// A host-visible, coherent buffer the application fills; TRANSFER_SRC so
// Fovea can copy batches out of it.
struct HostBuffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
};

HostBuffer make_buffer(const Engine& e, const void* data, VkDeviceSize bytes) {
  HostBuffer b;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  vk(vkCreateBuffer(e.device, &bci, nullptr, &b.buffer), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(e.device, b.buffer, &req);
  VkPhysicalDeviceMemoryProperties props;
  vkGetPhysicalDeviceMemoryProperties(e.physical, &props);
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = 0;
  while (type < props.memoryTypeCount &&
         !((req.memoryTypeBits >> type & 1) && (props.memoryTypes[type].propertyFlags & want) == want))
    ++type;
  if (type == props.memoryTypeCount) die("no host-visible coherent memory type");
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  vk(vkAllocateMemory(e.device, &mai, nullptr, &b.memory), "vkAllocateMemory");
  vk(vkBindBufferMemory(e.device, b.buffer, b.memory, 0), "vkBindBufferMemory");
  void* mapped = nullptr;
  vk(vkMapMemory(e.device, b.memory, 0, bytes, 0, &mapped), "vkMapMemory");
  std::memcpy(mapped, data, bytes);  // coherent: visible to the device's next submission
  vkUnmapMemory(e.device, b.memory);
  return b;
}

void destroy_buffer(const Engine& e, HostBuffer& b) {
  vkDestroyBuffer(e.device, b.buffer, nullptr);
  vkFreeMemory(e.device, b.memory, nullptr);
}

template <class T>
T take(fovea::api::Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

void check(const fovea::api::Result<void>& r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) die("usage: fovea_embed DATA_DIR MODEL_SPEC [EPOCHS] [TRAIN_IMAGES] [TEST_IMAGES] [WEIGHTS_OUT]");
  const std::string data_dir = argv[1], spec = argv[2];
  const uint32_t epochs = argc > 3 ? uint32_t(std::atoi(argv[3])) : 3;
  const uint32_t train_n = argc > 4 ? uint32_t(std::atoi(argv[4])) : 2000;
  const uint32_t test_n = argc > 5 ? uint32_t(std::atoi(argv[5])) : 1000;
  const std::string weights_out = argc > 6 ? argv[6] : "";

  const Images train = load(data_dir, "train", train_n);
  const Images test = load(data_dir, "t10k", test_n);
  Engine engine = create_engine();
  HostBuffer images = make_buffer(engine, train.pixels.data(), train.pixels.size());
  HostBuffer labels = make_buffer(engine, train.labels.data(), train.labels.size() * sizeof(uint32_t));
  const uint32_t rows = uint32_t(train.labels.size());
  {
    using namespace fovea::api;
    Device device = take(Device::adopt(engine.instance, engine.physical, engine.device, engine.family), "adopt");
    std::printf("device: %s\n", device.name().c_str());
    TrainerOptions opts;
    opts.spec_path = spec;
    opts.batch = 64;
    opts.optimizer = "sgd";
    opts.lr = 0.05;
    opts.seed = 7;
    const ChannelStats stats = take(channel_stats(train.pixels, 1, 28 * 28), "channel_stats");
    opts.mean = stats.mean;
    opts.std = stats.std;
    Trainer trainer = take(Trainer::create(device, opts), "Trainer::create");
    const uint64_t image_bytes = trainer.image_bytes();

    for (uint32_t epoch = 1; epoch <= epochs; ++epoch) {
      double loss = 0, correct = 0;
      for (uint32_t first = 0; first < rows; first += trainer.batch()) {
        const uint32_t n = std::min(trainer.batch(), rows - first);
        const Metrics m = take(trainer.step_from_buffer(images.buffer, first * image_bytes, labels.buffer,
                                                        first * sizeof(uint32_t), n),
                               "step_from_buffer");
        loss += m.loss * double(n);
        correct += m.accuracy * double(n);
      }
      std::printf("epoch %u  train_loss %.4f  train_acc %.4f\n", epoch, loss / rows, correct / rows);
    }

    const Metrics eval = take(trainer.evaluate(test.pixels, test.labels), "evaluate");
    const std::vector<float> logits = take(trainer.predict(test.pixels), "predict");
    uint64_t right = 0;
    for (size_t i = 0; i < test.labels.size(); ++i) {
      const float* row = logits.data() + i * trainer.classes();
      right += uint32_t(std::max_element(row, row + trainer.classes()) - row) == test.labels[i];
    }
    std::printf("test  loss %.4f  acc %.4f  (evaluate, %llu images)\n", eval.loss, eval.accuracy,
                (unsigned long long)eval.images);
    std::printf("predictions: %llu of %zu right, accuracy %.4f\n", (unsigned long long)right, test.labels.size(),
                double(right) / double(test.labels.size()));
    if (!weights_out.empty()) check(trainer.save(weights_out), "save");
  }  // Fovea's trainer and device are gone here; our objects are still ours.

  destroy_buffer(engine, images);
  destroy_buffer(engine, labels);
  destroy_engine(engine);
  if (g_messages > 0) die(std::to_string(g_messages) + " validation message(s)");
  return 0;
}
