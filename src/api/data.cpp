// include/fovea/data.hpp over data::open_source. Nothing throws across.
#include "fovea/data.hpp"

#include <new>

#include "data/source.h"
#include "util/error.h"

namespace fovea::api {
namespace {

ImageData image_data(data::ImageSet&& s) {
  return {s.count, s.channels, s.height, s.width, std::move(s.pixels), std::move(s.labels), std::move(s.files)};
}

}  // namespace

Result<DataSet> load_data(const std::string& path, const DataOptions& o) {
  try {
    data::SourceOptions so;
    so.channels = o.channels, so.height = o.height, so.width = o.width, so.classes = o.classes;
    so.skip_bad = o.skip_bad_images;
    so.class_names = o.class_names;
    so.decode.threads = o.threads;
    so.decode.cache = !o.cache_dir.empty();
    so.decode.cache_dir = o.cache_dir;
    try {
      so.resize = data::parse_resize(o.resize);
    } catch (const fovea::Error& e) {
      return Error{ErrorCode::InvalidArgument, std::string("load_data: ") + e.what()};
    }
    data::Source s = data::open_source(path, so);
    DataSet d;
    d.kind = s.kind;
    d.train = image_data(std::move(s.train));
    if (s.val) d.val = image_data(std::move(*s.val));
    if (s.test) d.test = image_data(std::move(*s.test));
    d.classes = std::move(s.classes);
    d.skipped = std::move(s.skipped);
    return d;
  } catch (const fovea::Error& e) {
    return Error{ErrorCode::Io, e.what()};
  } catch (const std::bad_alloc&) {
    return Error{ErrorCode::Internal, "load_data: out of host memory"};
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("load_data: internal error: ") + e.what()};
  } catch (...) {
    return Error{ErrorCode::Internal, "load_data: internal error: an unknown exception"};
  }
}

}  // namespace fovea::api
