// include/fovea/data.hpp: load_data reads the sources `--data` reads into
// host memory for a Trainer, and reports bad input as an error value.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fovea/data.hpp"
#include "support/image_files.h"

namespace fs = std::filesystem;
namespace api = fovea::api;

TEST_CASE("api: load_data decodes class folders and manifests to the model's input, errors as values", "[api]") {
  const fs::path root = fs::temp_directory_path() / ("fovea_api_data_" + std::to_string(::getpid()));
  fs::remove_all(root);
  std::vector<uint8_t> px(10 * 8 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(7 + i * 5 % 240);
  for (const char* f : {"train/cat/1.png", "train/dog/1.png", "train/dog/2.png", "test/cat/9.png"}) {
    fs::create_directories((root / f).parent_path());
    fovea::test::write_png((root / f).string(), 10, 8, 3, px);
  }
  api::DataOptions o;
  o.channels = 1, o.height = 4, o.width = 5, o.classes = 2;
  o.resize = "stretch";
  auto d = api::load_data(root.string(), o);
  REQUIRE(d.ok());
  CHECK(d.value().kind == "folders");
  CHECK(d.value().classes == std::vector<std::string>{"cat", "dog"});
  CHECK(d.value().train.count == 3);
  CHECK(d.value().train.images.size() == 3 * 20);
  CHECK(d.value().train.labels == std::vector<uint32_t>{0, 1, 1});
  REQUIRE(d.value().test);
  CHECK(d.value().test->count == 1);
  CHECK_FALSE(d.value().val);
  // A bad image is an Io error naming it; a bad option InvalidArgument.
  std::ofstream(root / "train/dog/3.png") << "no";
  auto bad = api::load_data(root.string(), o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == api::ErrorCode::Io);
  CHECK_THAT(bad.error().message, Catch::Contains("3.png"));
  o.skip_bad_images = true;
  auto skipped = api::load_data(root.string(), o);
  REQUIRE(skipped.ok());
  CHECK(skipped.value().skipped.size() == 1);
  o.resize = "zoom";
  CHECK(api::load_data(root.string(), o).error().code == api::ErrorCode::InvalidArgument);
  fs::remove_all(root);
}
