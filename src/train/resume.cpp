// `fovea train --resume DIR` (train/resume.h).
#include "train/resume.h"

#include "util/error.h"

namespace fovea::train {

namespace fs = std::filesystem;

CheckpointState resume_run(const fs::path& out, nn::Model& model, const Ranks& ranks, RunResult& result) {
  CheckpointState resumed = read_checkpoint((out / "checkpoint.safetensors").string(), model);
  if (resumed.world_size != ranks.size)
    throw Error("--resume: the run in " + out.string() + " was trained by " + std::to_string(resumed.world_size) +
                " rank(s); resume it with as many (mpirun -np " + std::to_string(resumed.world_size) + "), not " +
                std::to_string(ranks.size));
  // summary.json, then report.html end a run (atomically): one killed before its report redoes the test and both.
  if (!resumed.stop_reason.empty() && fs::exists(out / "summary.json") && fs::exists(out / "report.html"))
    throw Error("--resume: the run in " + out.string() + " is finished (" + resumed.stop_reason + " after epoch " +
                std::to_string(resumed.epoch) + "); nothing to resume");
  result.epochs = cut_metrics(out / "metrics.jsonl", resumed.epoch, ranks.writer());
  result.resumed_at = resumed.epoch;
  return resumed;
}

}  // namespace fovea::train
