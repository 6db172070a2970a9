// The API's private state (Device::Impl, Trainer::Impl) and the helpers its
// files share: guarded() turns every exception into an api::Error. Every
// step path (step(), record_step() and the sliced parts) goes through the
// Trainer's train::Session, which fills the step parameters and upload
// slots the same way for all of them.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "fovea/fovea.hpp"
#include "gpu/context.h"
#include "gpu/recorder.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "ops/optim.h"
#include "train/evaluate.h"
#include "train/session.h"
#include "util/error.h"

namespace fovea::api {

struct Device::Impl {
  std::unique_ptr<gpu::Context> ctx;
};

struct Trainer::Impl {
  // Members in this order so the model and its replayers go before the
  // device they live on.
  std::shared_ptr<Device::Impl> device;
  nn::ModelSpec spec;
  std::vector<double> mean, std;
  std::unique_ptr<nn::Model> model;
  std::unique_ptr<train::Session> session;  // its programs, ring slots and step counter
  uint32_t accumulate = 1;                  // micro-batches per step
  double lr = 0;
  uint64_t seed = 0;
  train::StepRate rate() const {
    train::StepRate r;
    r.lr = lr;
    return r;
  }
  // Recorded steps not finished yet, oldest first (record_step, sliced parts).
  std::deque<StepTicket> in_flight;
  uint32_t next_slot = 0;  // the step slot of the next recorded step (ring slots slot * accumulate + k)
  // measure_step's times per dispatch (empty: not measured) and the sliced
  // mode's part ends (dispatch indices; empty: one part).
  StepTimes times;
  PartPlan plan;
  std::vector<size_t> part_ends;
};

// An error the API raises itself, with its code.
struct ApiError {
  ErrorCode code;
  std::string message;
};

[[noreturn]] inline void fail(std::string message) {
  throw ApiError{ErrorCode::InvalidArgument, std::move(message)};
}

// Runs `fn`; a fovea::Error becomes an error of code `code` (Vulkan when it
// names a Vulkan failure), anything else an Internal error.
template <class T, class F>
Result<T> guarded(ErrorCode code, F&& fn) noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const ApiError& e) {
    return Error{e.code, e.message};
  } catch (const fovea::Error& e) {
    const std::string m = e.what();
    const bool vulkan = m.find("VK_ERROR") != std::string::npos || m.find("device was lost") != std::string::npos ||
                        m.find("out of device memory") != std::string::npos;
    return Error{vulkan ? ErrorCode::Vulkan : code, m};
  } catch (const std::bad_alloc&) {
    return Error{ErrorCode::Internal, "out of host memory"};
  } catch (const std::exception& e) {
    return Error{ErrorCode::Internal, std::string("internal error: ") + e.what()};
  } catch (...) {
    return Error{ErrorCode::Internal, "internal error: an unknown exception"};
  }
}

inline Metrics metrics_of(const train::Totals& t) { return {t.mean_loss(), t.accuracy(), t.count}; }

// Refuses `what` while recorded steps are in flight.
void refuse_in_flight(const Trainer::Impl& t, const char* what);

}  // namespace fovea::api
