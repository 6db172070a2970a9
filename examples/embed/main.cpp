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

#include "engine.h"

using namespace embed;

namespace {

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
  if (validation_messages() > 0) die(std::to_string(validation_messages()) + " validation message(s)");
  return 0;
}
