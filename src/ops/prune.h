// prune: magnitude pruning with a fixed mask. After every optimizer step the
// zeroed entries of the parameter block are set to 0 again, in the
// parameters and in each optimizer state array (ops/optim.h: `arrays` arrays
// of `stride` floats parallel to the parameters), so a pruned weight stays 0
// in every forward pass and carries no momentum or running average into the
// next step. The mask is a list of indices into the parameter block (from
// ops/prune_select.h), uploaded once.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

struct PruneMask {
  uint64_t count = 0;      // indices in the list
  uint64_t params = 0;     // floats in the parameter block (every index is below it)
  uint32_t arrays = 0;     // optimizer state arrays (optimizer_state_arrays)
  uint64_t stride = 0;     // floats from one state array to the next (optimizer_state_stride)
};

// indices: u32 [count]; params: [params] floats; state: arrays x stride
// floats (an invalid View{} when arrays is 0). Every params[i] and state[a *
// stride + i] for i in the list becomes 0; nothing else is written. An
// index >= params is skipped (the host never writes one). Throws
// fovea::Error naming `label` for an empty list, a block of 2^32 floats or
// more, or views too small.
void record_prune_mask(Program& p, const PruneMask& m, const View& indices, const View& params, const View& state,
                       const std::string& label);

}  // namespace fovea::ops
