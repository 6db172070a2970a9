// loss: fused softmax + cross-entropy with integer labels (mean over the
// valid rows of the batch), writing per-row [loss, correct] for the metrics.
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// Three passes over the classes run in one invocation: 3 x 16384 stays under
// lavapipe's 65,535 loop iterations per invocation.
constexpr uint32_t kMaxClasses = 16384;

// logits [batch, classes]; labels u32 [batch]; dlogits [batch, classes]
// (written only with `gradient`); stats [batch, 2].
void record_softmax_xent(Program& p, uint32_t batch, uint32_t classes, const View& logits,
                         const View& labels, const View& dlogits, const View& stats,
                         bool gradient, const std::string& label);

}  // namespace fovea::ops
