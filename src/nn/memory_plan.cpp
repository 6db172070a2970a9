#include "nn/memory_plan.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "util/error.h"

namespace fovea::nn {

namespace {

using Range = std::pair<uint64_t, uint64_t>;  // [begin, end) in bytes

uint64_t span_of(const gpu::View& v) { return v.slots > 1 ? v.slot_stride * v.slots : v.size; }

bool used(const std::pair<size_t, size_t>& s) { return s.first <= s.second; }

// The arena views (indices, in increasing offset order as reserved) that
// the byte range [lo, hi) touches.
std::vector<size_t> views_touched(const std::vector<gpu::View>& vs, uint64_t lo, uint64_t hi) {
  std::vector<size_t> out;
  auto it = std::upper_bound(vs.begin(), vs.end(), lo, [](uint64_t o, const gpu::View& v) { return o < v.offset; });
  for (size_t k = it == vs.begin() ? 0 : size_t(it - vs.begin()) - 1; k < vs.size() && vs[k].offset < hi; ++k)
    if (vs[k].offset + span_of(vs[k]) > lo) out.push_back(k);
  return out;
}

// Whether [lo, hi) lies inside the union of `written` (sorted, merged).
bool covered(const std::vector<Range>& written, uint64_t lo, uint64_t hi) {
  for (const Range& w : written) {
    if (w.first > lo) return false;
    if (w.second >= hi) return true;
    lo = std::max(lo, w.second);
  }
  return lo >= hi;
}

void add_range(std::vector<Range>& written, Range r) {
  written.push_back(r);
  std::sort(written.begin(), written.end());
  std::vector<Range> merged;
  for (const Range& w : written)
    if (!merged.empty() && w.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, w.second);
    else
      merged.push_back(w);
  written = std::move(merged);
}

void remove_range(std::vector<Range>& set, Range r) {
  std::vector<Range> out;
  for (const Range& w : set) {
    if (w.second <= r.first || r.second <= w.first) {
      out.push_back(w);
      continue;
    }
    if (w.first < r.first) out.push_back({w.first, r.first});
    if (r.second < w.second) out.push_back({r.second, w.second});
  }
  set = std::move(out);
}

// Every part of every program (gpu::Program::part), in order: each runs as
// a submission of its own, so each is a program to the planner.
struct PartOf {
  const gpu::Program* program;
  gpu::Program::Part part;
};
std::vector<PartOf> parts_of(const std::vector<const gpu::Program*>& programs) {
  std::vector<PartOf> out;
  for (const gpu::Program* p : programs)
    for (size_t k = 0; k < p->part_count(); ++k) out.push_back({p, p->part(k)});
  return out;
}

bool conflict(const ViewLife& a, const ViewLife& b) {
  if (a.pinned || b.pinned) return true;
  for (size_t p = 0; p < a.spans.size(); ++p) {
    const auto& x = a.spans[p];
    const auto& y = b.spans[p];
    if (used(x) && used(y) && x.first <= y.second && y.first <= x.second) return true;
  }
  return false;
}

}  // namespace

std::string bytes_text(uint64_t b) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  if (b >= (1u << 20))
    s << double(b) / double(1 << 20) << " MiB";
  else if (b >= 1024)
    s << double(b) / 1024.0 << " KiB";
  else
    s << b << " B";
  return s.str();
}

std::vector<ViewLife> view_lives(const gpu::Arena& arena, const std::vector<const gpu::Program*>& programs,
                                 const std::vector<gpu::View>& pinned) {
  const std::vector<gpu::View>& vs = arena.views();
  for (size_t k = 1; k < vs.size(); ++k)
    if (vs[k].offset < vs[k - 1].offset + span_of(vs[k - 1]))
      throw Error("internal: arena " + arena.name() + " is planned once, before any relayout");
  const std::vector<PartOf> parts = parts_of(programs);
  std::vector<ViewLife> lives(vs.size());
  for (size_t k = 0; k < vs.size(); ++k) {
    lives[k].spans.assign(parts.size(), {1, 0});
    lives[k].pinned = vs[k].slots > 1;
  }
  auto pin = [&](const gpu::View& v) {
    if (v.arena == &arena && v.size)
      for (size_t k : views_touched(vs, v.offset, v.offset + v.size)) lives[k].pinned = true;
  };
  for (const gpu::View& v : pinned) pin(v);
  for (const gpu::Program* p : programs)
    for (const gpu::View& v : p->host_read_views()) pin(v);
  for (size_t p = 0; p < parts.size(); ++p) {
    std::vector<std::vector<Range>> written(vs.size());
    const auto& ds = parts[p].program->dispatches();
    for (size_t t = parts[p].part.first; t < parts[p].part.end; ++t) {
      // A dispatch reads before it writes: check every read, then add the writes.
      for (int pass = 0; pass < 2; ++pass)
        for (const gpu::Binding& b : ds[t].bindings) {
          if (b.view.arena != &arena || !b.view.size) continue;
          const bool reads = b.access != gpu::Access::Write, writes = b.access != gpu::Access::Read;
          if (pass == 0 ? !reads : !writes) continue;
          const uint64_t lo = b.view.offset, hi = b.view.offset + b.view.size;
          for (size_t k : views_touched(vs, lo, hi)) {
            auto& s = lives[k].spans[p];
            if (!used(s)) s.first = t;
            s.second = t;
            const Range r{std::max(lo, vs[k].offset), std::min(hi, vs[k].offset + span_of(vs[k]))};
            if (pass == 0 && !covered(written[k], r.first, r.second)) lives[k].pinned = true;
            if (pass == 1) add_range(written[k], r);
          }
        }
    }
  }
  return lives;
}

void pack_arena(gpu::Arena& arena, const std::vector<ViewLife>& lives, uint64_t align,
                const std::vector<gpu::Program*>& programs, const std::vector<gpu::View*>& views) {
  const std::vector<gpu::View> old = arena.views();
  if (lives.size() != old.size()) throw Error("internal: view lives of another arena");
  auto bytes = [&](size_t k) { return (span_of(old[k]) + align - 1) / align * align; };
  std::vector<size_t> order(old.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (lives[a].pinned != lives[b].pinned) return lives[a].pinned;
    return !lives[a].pinned && bytes(a) > bytes(b);
  });
  std::vector<uint64_t> offsets(old.size(), 0);
  std::vector<size_t> placed;
  uint64_t size = 0;
  for (size_t k : order) {
    std::vector<Range> taken;
    for (size_t q : placed)
      if (conflict(lives[k], lives[q])) taken.push_back({offsets[q], offsets[q] + bytes(q)});
    std::sort(taken.begin(), taken.end());
    uint64_t at = 0;
    for (const Range& r : taken) {
      if (at + bytes(k) <= r.first) break;
      at = std::max(at, r.second);
    }
    offsets[k] = at;
    size = std::max(size, at + bytes(k));
    placed.push_back(k);
  }
  arena.relayout(offsets, size);
  auto move = [&](gpu::View& v) {
    if (v.arena != &arena || !v.size) return;
    const std::vector<size_t> ks = views_touched(old, v.offset, v.offset + v.size);
    const size_t k = ks.empty() ? old.size() : ks.front();
    if (ks.size() != 1 || v.offset < old[k].offset)
      throw Error("internal: view " + v.name + " is not inside one view of arena " + arena.name());
    v.offset = offsets[k] + (v.offset - old[k].offset);
  };
  for (gpu::Program* p : programs) p->relocate(move);
  for (gpu::View* v : views) move(*v);
}

uint64_t carried_bytes(const gpu::Program& program, const gpu::Arena& arena, size_t until, size_t from,
                       const std::vector<gpu::View>& exclude) {
  auto counted = [&](const gpu::View& v) {
    if (v.arena != &arena || !v.size) return false;
    for (const gpu::View& e : exclude)
      if (e.size && v.offset >= e.offset && v.offset < e.offset + e.size) return false;
    return true;
  };
  std::vector<Range> held, carried;  // bytes holding forward values; those read later
  const auto& ds = program.dispatches();
  for (size_t t = 0; t < ds.size(); ++t) {
    for (const gpu::Binding& b : ds[t].bindings)
      if (t >= from && b.access != gpu::Access::Write && counted(b.view))
        for (const Range& h : held) {
          const uint64_t lo = std::max(h.first, b.view.offset), hi = std::min(h.second, b.view.offset + b.view.size);
          if (lo < hi) add_range(carried, {lo, hi});
        }
    for (const gpu::Binding& b : ds[t].bindings) {
      if (b.access == gpu::Access::Read || !counted(b.view)) continue;
      const Range r{b.view.offset, b.view.offset + b.view.size};
      if (t < until)
        add_range(held, r);
      else
        remove_range(held, r);
    }
  }
  uint64_t sum = 0;
  for (const Range& c : carried) sum += c.second - c.first;
  return sum;
}

std::string arena_listing(const gpu::Arena& arena, const std::vector<const gpu::Program*>& programs,
                          const std::vector<ViewLife>& lives) {
  const std::vector<gpu::View>& vs = arena.views();
  std::vector<size_t> order(vs.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return span_of(vs[a]) > span_of(vs[b]); });
  std::ostringstream s;
  s << "arena " << arena.name() << ": " << vs.size() << " views, " << bytes_text(arena.size()) << " (life: first and last "
    << "dispatch of program " << (programs.empty() ? "-" : programs[0]->name()) << " that touch the view)\n";
  for (size_t k : order) {
    s << "  " << bytes_text(span_of(vs[k])) << "  at " << vs[k].offset << "  " << vs[k].name << "  ";
    const auto& sp = lives[k].spans.empty() ? std::pair<size_t, size_t>{1, 0} : lives[k].spans[0];
    if (lives[k].pinned)
      s << "pinned\n";
    else if (!used(sp))
      s << "-\n";
    else
      s << sp.first << " " << programs[0]->dispatches()[sp.first].label << " .. " << sp.second << " "
        << programs[0]->dispatches()[sp.second].label << "\n";
  }
  // The most bytes live at once: no layout of these lives can be smaller.
  uint64_t best = 0;
  std::string where = "-";
  const std::vector<PartOf> parts = parts_of(programs);
  for (size_t p = 0; p < parts.size(); ++p)
    for (size_t t = parts[p].part.first; t < parts[p].part.end; ++t) {
      uint64_t live = 0;
      for (size_t k = 0; k < vs.size(); ++k) {
        const auto& sp = lives[k].spans[p];
        if (lives[k].pinned || (used(sp) && sp.first <= t && t <= sp.second)) live += span_of(vs[k]);
      }
      if (live > best) best = live, where = parts[p].part.name + ", " + parts[p].program->dispatches()[t].label;
    }
  s << "  most bytes live at once: " << bytes_text(best) << " (" << where << "); the layout takes " << bytes_text(arena.size())
    << "\n";
  return s.str();
}

}  // namespace fovea::nn
