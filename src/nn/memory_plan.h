// Device memory reused by liveness. A model reserves every activation,
// gradient, workspace and scratch buffer as its own view, records its
// programs, and then lets this planner lay the arena out again: views whose
// uses never overlap in time share bytes. Results do not change (the same
// dispatches read and write the same values); the recorder's hazard tracker
// sees the shared bytes and orders a write after the earlier reads of them.
//
// A view's life in a program is [first dispatch that touches it, last one];
// a program's parts between host exchange marks (gpu::Program::part) are
// submitted one by one, so each counts as a program here.
// Programs never run concurrently (one queue, every step starts with a full
// barrier), so two views conflict when their lives overlap in some program.
// A view is pinned (kept to itself for the whole run) when the caller says
// so (parameters, state, anything the host reads or writes), when it is a
// ring, or when some program reads bytes of it before writing them: its
// content must survive from one step or program to the next.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gpu/recorder.h"

namespace fovea::nn {

// "1.50 MiB", "2.00 KiB", "12 B".
std::string bytes_text(uint64_t bytes);

struct ViewLife {
  bool pinned = false;
  // Per program part (gpu::Program::part; the programs' parts in the order
  // given, each a submission of its own): first and last dispatch index (in
  // its program) that touches the view; first > last when the part does not
  // use it.
  std::vector<std::pair<size_t, size_t>> spans;
};

// The lives of arena.views() (same order) in `programs`. Views of `pinned`
// (any part) are pinned.
std::vector<ViewLife> view_lives(const gpu::Arena& arena, const std::vector<const gpu::Program*>& programs,
                                 const std::vector<gpu::View>& pinned);

// Places the views first-fit (pinned ones first in reserve order, then the
// others by decreasing size), each at the lowest `align`-multiple offset
// where it overlaps no view whose life overlaps its own; moves the arena to
// that layout (before commit) and applies the move to every binding of
// `programs` and to each of `views`.
void pack_arena(gpu::Arena& arena, const std::vector<ViewLife>& lives, uint64_t align,
                const std::vector<gpu::Program*>& programs, const std::vector<gpu::View*>& views);

// The bytes of `arena` that dispatches from `from` on read while they still
// hold what dispatches before `until` wrote (the activations a backward pass
// reads, with until = the first dispatch of the loss and from = the one after
// its last), each byte once. Bindings that start inside one of `exclude`
// (parameters, their gradients, optimizer and layer state) are left out. It
// follows the values, not the views: bytes a planner gives to a gradient
// after their activation died count only if backward reads the activation.
uint64_t carried_bytes(const gpu::Program& program, const gpu::Arena& arena, size_t until, size_t from,
                       const std::vector<gpu::View>& exclude);

// Every view of the arena by decreasing size: its bytes, offset, whether it
// is pinned, and its life in the first program; then the most bytes live at
// once in any program (the lower bound of any layout) against the arena.
std::string arena_listing(const gpu::Arena& arena, const std::vector<const gpu::Program*>& programs,
                          const std::vector<ViewLife>& lives);

}  // namespace fovea::nn
