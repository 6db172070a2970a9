#include "gpu/tuner.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gpu/context.h"
#include "gpu/memory.h"
#include "util/file.h"

namespace fovea::gpu {

std::filesystem::path tuning_file(const Context& ctx) {
  const std::filesystem::path dir = cache_dir();
  if (dir.empty()) return {};
  char name[64];
  int n = std::snprintf(name, sizeof name, "tuning-");
  for (uint8_t b : ctx.info().uuid) n += std::snprintf(name + n, sizeof name - n, "%02x", b);
  std::snprintf(name + n, sizeof name - n, "-%u.txt", ctx.info().driver_version);
  return dir / name;
}

double median_replay_ms(Context& ctx, std::span<const std::byte> params, int repeat,
                        const std::function<void(Program&, const std::function<View(uint64_t)>&)>& record) {
  Arena device(ctx, MemoryKind::Device, "timing");
  Arena upload(ctx, MemoryKind::Upload, "timing.upload");
  View step = upload.reserve("params", params.size());
  std::vector<View> views;
  Program p(ctx, "timing");
  p.set_params(step);
  // Views are planned while the op records; their buffer is resolved when
  // the replayer records the command buffer, after the arena is committed.
  record(p, [&](uint64_t floats) {
    std::string name = "t";  // (not "t" + to_string: GCC 12's -Wrestrict false positive)
    name += std::to_string(views.size());
    views.push_back(device.reserve(name, floats * 4));
    return views.back();
  });
  device.commit();
  upload.commit();
  std::memcpy(step.host(), params.data(), params.size());
  // Deterministic non-zero contents, so no shortcut applies.
  for (const View& view : views) {
    std::vector<float> data(view.size / 4);
    for (size_t i = 0; i < data.size(); ++i) data[i] = float((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    gpu::upload(ctx, view, data.data(), view.size);
  }
  Replayer r(p, 1, true);
  auto total = [&] {
    double t = 0;
    for (const auto& e : r.profile()) t += e.total_ms;
    return t;
  };
  std::vector<double> ms;
  for (int i = 0; i < repeat + 2; ++i) {
    const double before = total();
    r.submit(r.acquire());
    r.finish();
    if (i >= 2) ms.push_back(total() - before);  // the first two warm up (JIT, caches)
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

uint32_t tuned_variant(Context& ctx, const std::string& key, uint32_t variants, bool worth,
                       const TuneRecord& record) {
  if (variants < 2 || !ctx.tune) return 0;
  const std::filesystem::path path = tuning_file(ctx);
  if (!path.empty()) {
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string k;
      uint32_t choice = 0;
      if (in >> k >> choice && k == key && choice < variants) return choice;
    }
  }
  if (!worth || !ctx.info().timestamps) return 0;
  std::vector<double> ms;
  const std::vector<std::byte> zeros(kMaxParamBytes);  // every kernel reads a zero parameter block
  try {
    for (uint32_t v = 0; v < variants; ++v)
      ms.push_back(median_replay_ms(ctx, zeros, 3, [&](Program& p, const std::function<View(uint64_t)>& alloc) {
        record(p, v, alloc);
      }));
  } catch (const std::exception&) {
    return 0;  // tuning is an optimisation: the default variant always works
  }
  const uint32_t best = uint32_t(std::min_element(ms.begin(), ms.end()) - ms.begin());
  if (!path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream f(path, std::ios::app);
    f << key << ' ' << best;
    for (double t : ms) f << ' ' << t;
    f << '\n';
  }
  return best;
}

}  // namespace fovea::gpu
