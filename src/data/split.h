// Which training images a run uses, the seeded validation holdout, the
// cross-validation protocols (holdout, k-fold, stratified, repeated random
// sub-sampling, leave-p-out) and the per-epoch shuffle. Deterministic across platforms: the generator and the
// shuffle are our own code, not std::uniform_int_distribution.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "util/rng.h"

namespace fovea::data {

// In-place Fisher-Yates shuffle driven by rng.below().
void shuffle(std::vector<uint32_t>& v, Rng& rng);

// Parses --val-split: "N" (an image count) or "F" with 0 <= F < 1 (a
// fraction of the images kept by --limit, rounded down). Throws fovea::Error
// naming --val-split and the value on anything else.
struct ValSpec {
  bool is_fraction = true;
  double fraction = 1.0 / 12.0;
  uint64_t count = 0;
};
ValSpec parse_val_split(const std::string& text);

struct Split {
  std::vector<uint32_t> train;  // indices into the training file, ascending
  std::vector<uint32_t> val;    // indices into the training file, ascending
};

// Keeps the first `limit` images of the training file (0 = all), then holds
// out a seeded random subset of them for validation. Throws fovea::Error
// when the holdout would leave no training image, or limit > available.
Split make_split(uint32_t available, uint32_t limit, const ValSpec& val, uint64_t seed);

// The number of validation images a holdout of `n` images takes: the
// fraction rounded down (forgiving the last-bit error of a decimal fraction)
// or the count. Throws fovea::Error naming --val-split when it leaves no
// training image.
uint64_t holdout_count(uint64_t n, const ValSpec& val);

// Cross-validation: how the kept images are split into (train, val) pairs.
enum class Protocol {
  holdout,             // one seeded random holdout of --val-split images
  stratified_holdout,  // per class, the class's share of --val-split (within one image)
  repeated_random,     // --repeats independent holdouts (random sub-sampling)
  kfold,               // --folds seeded folds; each is the validation set once
  stratified_kfold,    // folds holding each class's n_c / K images (within one)
  leave_p_out,         // every p-subset is the validation set once (or a seeded sample)
};
// "holdout", "stratified-holdout", "repeated-random", "kfold",
// "stratified-kfold", "leave-p-out"; throws fovea::Error naming --protocol.
Protocol parse_protocol(const std::string& name);
std::string protocol_name(Protocol p);
// The cv options the protocol reads ("--val-split", "--folds", "--repeats",
// "--p", "--max-splits"); giving any other is an error.
std::vector<std::string> protocol_options(Protocol p);

struct CvSettings {
  Protocol protocol = Protocol::stratified_kfold;
  ValSpec val;              // holdout protocols: the validation size (default 1/12)
  uint32_t folds = 5;       // kfold protocols: K, 2 <= K <= n
  uint32_t repeats = 1;     // k-fold (repeated k-fold), stratified-holdout, repeated-random
  uint32_t p = 1;           // leave-p-out: 1 <= p < n
  uint32_t max_splits = 0;  // leave-p-out: sample this many distinct p-subsets (0 = all)
};

// More splits than this are refused: each trains a whole model, and each
// holds its index lists in memory (1000 x 60000 images is 240 MB).
constexpr uint32_t kMaxCvSplits = 1000;

// C(n, p) in floating point (from log-gamma; inf past double's range).
double leave_p_out_count(uint32_t n, uint32_t p);

struct CvSplit {
  uint32_t repeat = 0;  // 0-based: which shuffle (repeated protocols)
  uint32_t fold = 0;    // 0-based: which fold, holdout or p-subset within the repeat
  Split split;          // values from `kept`, ascending
};

// The splits of `kept` (ascending image indices; labels[i] is the class of
// kept[i], read by the stratified protocols only). Every split's train and
// val are disjoint and cover `kept`; a repeat's k folds cover `kept` once.
// Deterministic in (kept, labels, settings, seed). Throws fovea::Error naming
// the option and value on impossible settings and past kMaxCvSplits.
std::vector<CvSplit> make_cv_splits(const std::vector<uint32_t>& kept,
                                    const std::vector<uint32_t>& labels, const CvSettings& cv,
                                    uint64_t seed);

// The visiting order of `indices` in epoch `epoch` (0-based): a shuffle
// seeded from (seed, epoch), independent of every other epoch.
std::vector<uint32_t> epoch_order(const std::vector<uint32_t>& indices, uint64_t seed,
                                  uint32_t epoch);

}  // namespace fovea::data
