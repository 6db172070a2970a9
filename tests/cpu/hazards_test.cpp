// Where the recorder puts barriers: the hazard tracker's answers for small
// dispatch sequences, one hazard kind at a time.
#include <catch2/catch.hpp>

#include "gpu/hazards.h"

using namespace fovea::gpu;

namespace {
ByteRange R(uint64_t buffer, uint64_t offset, uint64_t size) { return {buffer, offset, size}; }
BarrierPlan add(HazardTracker& t, std::initializer_list<Use> uses) {
  std::vector<Use> v(uses);
  return t.add(v);
}
Use rd(ByteRange r) { return {r, Access::Read}; }
Use wr(ByteRange r) { return {r, Access::Write}; }
Use rw(ByteRange r) { return {r, Access::ReadWrite}; }
}  // namespace

TEST_CASE("read after write gets a memory barrier on the written range", "[hazards]") {
  HazardTracker t;
  CHECK(add(t, {rd(R(1, 0, 64)), wr(R(1, 64, 64))}).empty());
  BarrierPlan p = add(t, {rd(R(1, 64, 64)), wr(R(1, 128, 64))});
  REQUIRE(p.execution);
  CHECK_FALSE(p.write_after_read);
  REQUIRE(p.memory.size() == 1);
  CHECK(p.memory[0].range == R(1, 64, 64));
  CHECK(p.memory[0].to_read);
  CHECK_FALSE(p.memory[0].to_write);
}

TEST_CASE("no barrier between dispatches that touch disjoint ranges or only read", "[hazards]") {
  HazardTracker t;
  CHECK(add(t, {rd(R(1, 0, 64)), wr(R(1, 64, 64))}).empty());
  CHECK(add(t, {rd(R(1, 0, 64)), wr(R(1, 128, 64))}).empty());   // shared read, new output
  CHECK(add(t, {rd(R(2, 64, 64)), wr(R(1, 192, 64))}).empty());  // same offsets, other buffer
  CHECK(add(t, {rd(R(1, 0, 64))}).empty());                      // read after read
}

TEST_CASE("write after read needs only an execution dependency", "[hazards]") {
  HazardTracker t;
  add(t, {rd(R(1, 0, 64)), wr(R(1, 64, 64))});
  BarrierPlan p = add(t, {wr(R(1, 32, 8))});
  REQUIRE(p.execution);
  CHECK(p.write_after_read);
  CHECK(p.memory.empty());
}

TEST_CASE("write after write gets a write-to-write memory barrier", "[hazards]") {
  HazardTracker t;
  add(t, {wr(R(3, 0, 256))});
  BarrierPlan p = add(t, {wr(R(3, 128, 4))});
  REQUIRE(p.execution);
  REQUIRE(p.memory.size() == 1);
  CHECK(p.memory[0].range == R(3, 0, 256));
  CHECK(p.memory[0].to_write);
  CHECK_FALSE(p.memory[0].to_read);
}

TEST_CASE("a write made visible once needs no second barrier", "[hazards]") {
  HazardTracker t;
  add(t, {wr(R(1, 0, 64))});
  CHECK(add(t, {rd(R(1, 0, 64)), wr(R(1, 64, 64))}).execution);
  // The first write is visible to reads now; another reader of it is free,
  // but the write at 64 is still pending.
  CHECK(add(t, {rd(R(1, 0, 64)), wr(R(1, 256, 64))}).empty());
  BarrierPlan p = add(t, {rd(R(1, 64, 64))});
  REQUIRE(p.memory.size() == 1);
  CHECK(p.memory[0].range == R(1, 64, 64));
}

TEST_CASE("a barrier orders every earlier read, so a later write is free", "[hazards]") {
  HazardTracker t;
  add(t, {rd(R(1, 0, 64)), wr(R(1, 64, 64))});
  REQUIRE(add(t, {rd(R(1, 64, 64)), wr(R(1, 128, 64))}).execution);  // RAW barrier
  // The read of [0,64) happened before that barrier: overwriting it is safe.
  CHECK(add(t, {wr(R(1, 0, 32)), wr(R(1, 512, 64))}).empty());
}

TEST_CASE("an in-place update (read-write) conflicts with earlier writes and later readers", "[hazards]") {
  HazardTracker t;
  add(t, {wr(R(1, 0, 64))});
  BarrierPlan p = add(t, {rw(R(1, 0, 64))});
  REQUIRE(p.memory.size() == 1);
  CHECK(p.memory[0].to_read);
  CHECK(p.memory[0].to_write);
  BarrierPlan q = add(t, {rd(R(1, 0, 16))});
  REQUIRE(q.memory.size() == 1);
  CHECK(q.memory[0].to_read);
  CHECK(q.write_after_read == false);
}

TEST_CASE("reset forgets history, as at the start of a step", "[hazards]") {
  HazardTracker t;
  add(t, {wr(R(1, 0, 64))});
  t.reset();
  CHECK(add(t, {rd(R(1, 0, 64))}).empty());
}

TEST_CASE("ranges that touch but do not overlap are independent", "[hazards]") {
  HazardTracker t;
  add(t, {wr(R(1, 0, 64))});
  CHECK(add(t, {rd(R(1, 64, 64))}).empty());
  CHECK(add(t, {wr(R(1, 128, 1))}).empty());
}
