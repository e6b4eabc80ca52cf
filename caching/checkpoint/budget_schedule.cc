#include "caching/checkpoint/budget_schedule.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo::caching::checkpoint {
namespace {

// Memory in at most this many units; with sizes a multiple of the unit the
// search is exact.
constexpr int64_t kMaxUnits = int64_t{1} << 15;
// States one search may memoise. Layers of one width reach few (the memory
// left takes few values); mixed widths can reach millions, and then the
// search starts again in units four times as coarse: bounded time, at the
// price of rounding (never over budget, possibly a little less optimal).
constexpr size_t kMaxStates = size_t{1} << 19;

// The cost of a schedule: layer forwards recomputed, then their weight.
struct Cost {
  int64_t count;
  int64_t weight;

  static Cost Infinite() { return {std::numeric_limits<int64_t>::max(), 0}; }
  bool infinite() const { return count == std::numeric_limits<int64_t>::max(); }
  bool operator<(const Cost& o) const {
    return count != o.count ? count < o.count : weight < o.weight;
  }
  Cost operator+(const Cost& o) const {
    if (infinite() || o.infinite()) return Infinite();
    return {count + o.count, weight + o.weight};
  }
};

// The largest pair of activations alive together while a_(i+1) .. a_k are
// computed from a_i (a_i itself not counted): a_(i+1) alone, then each
// a_(u-1) with a_u. Callers grow k one at a time, so this is the step.
template <typename T>
T PairAt(const std::vector<T>& s, int i, int u) {
  return u == i + 1 ? s[u] : s[u - 1] + s[u];
}

// The exact least memory of F(i) and B(i, j): the recursion of the header
// with max in place of +, over bytes. O(L^3) once per chain.
class LeastMemory {
 public:
  explicit LeastMemory(const Chain& chain)
      : last_(chain.num_layers()),
        b_(static_cast<size_t>(last_ + 1) * (last_ + 1), 0),
        b_choice_(static_cast<size_t>(last_ + 1) * (last_ + 1), 0),
        f_(last_ + 1, 0),
        f_choice_(last_ + 1, 0) {
    const std::vector<int64_t>& s = chain.sizes;
    const int64_t out = s[last_];
    for (int length = 1; length <= last_; ++length) {
      for (int i = 0; i + length <= last_; ++i) {
        const int j = i + length;
        int64_t& best = b_[Index(i, j)];
        if (j <= chain.lowest) continue;  // nothing to do: 0
        if (length == 1) {
          best = s[i] + s[j];
          continue;
        }
        best = std::numeric_limits<int64_t>::max();
        int64_t pairs = 0;
        for (int k = i + 1; k < j; ++k) {
          pairs = std::max(pairs, PairAt(s, i, k));
          const int64_t need =
              std::max({s[i] + s[j] + pairs, s[i] + B(k, j), B(i, k) + (j == last_ ? out : 0)});
          if (need < best) {
            best = need;
            b_choice_[Index(i, j)] = k;
          }
        }
      }
    }
    f_[last_] = out;
    for (int i = last_ - 1; i >= 0; --i) {
      f_[i] = std::numeric_limits<int64_t>::max();
      int64_t pairs = 0;
      for (int k = i + 1; k <= last_; ++k) {
        pairs = std::max(pairs, PairAt(s, i, k));
        const int64_t need =
            std::max({s[i] + pairs, s[i] + f_[k], B(i, k) + (k == last_ ? 0 : out)});
        if (need < f_[i]) {
          f_[i] = need;
          f_choice_[i] = k;
        }
      }
    }
  }

  int64_t B(int i, int j) const { return b_[Index(i, j)]; }
  int64_t F(int i) const { return f_[i]; }
  int BChoice(int i, int j) const { return b_choice_[Index(i, j)]; }
  int FChoice(int i) const { return f_choice_[i]; }

 private:
  size_t Index(int i, int j) const { return static_cast<size_t>(i) * (last_ + 1) + j; }

  const int last_;
  std::vector<int64_t> b_;
  std::vector<int> b_choice_;
  std::vector<int64_t> f_;
  std::vector<int> f_choice_;
};

// The cost recursion of the header over memory in units, memoised over the
// states it reaches. A state whose memory cannot hold even the least the
// subproblem needs (LeastMemory) is cut at once; one that can hold the whole
// segment (nothing recomputed twice: optimal) is answered at once.
class FewestRecomputations {
 public:
  FewestRecomputations(const Chain& chain, std::vector<int64_t> units, int64_t unit_bytes,
                       const LeastMemory& least)
      : chain_(chain),
        last_(chain.num_layers()),
        units_(std::move(units)),
        unit_bytes_(unit_bytes),
        least_(least),
        suffix_(last_ + 2, 0) {
    for (int t = last_; t >= 0; --t) suffix_[t] = suffix_[t + 1] + units_[t];
  }

  const std::vector<int64_t>& units() const { return units_; }

  // The cost of F(0, m), or nullopt when the search reached kMaxStates.
  std::optional<Cost> Solve(int64_t m) {
    const Cost cost = SolveF(0, m).cost;
    if (exhausted_) return std::nullopt;
    return cost;
  }

  Choosers MakeChoosers() {
    Choosers choosers;
    choosers.forward = [this](int i, int64_t m) { return SolveF(i, m).choice; };
    choosers.backward = [this](int i, int j, int64_t m) { return SolveB(i, j, m).choice; };
    return choosers;
  }

 private:
  struct Entry {
    Cost cost;
    int choice;
  };

  // Units held by a_i .. a_j all at once.
  int64_t Span(int i, int j) const { return suffix_[i] - suffix_[j + 1]; }

  // Layers i .. j - 2 recomputed once each: what keeping a segment costs.
  Cost OnceEach(int i, int j) const {
    Cost cost{0, 0};
    for (int t = i; t <= j - 2; ++t) cost = cost + Cost{1, chain_.weight(t)};
    return cost;
  }

  static uint64_t Key(int i, int j, int64_t m) {
    return (static_cast<uint64_t>(i) << 48) | (static_cast<uint64_t>(j) << 32) |
           static_cast<uint64_t>(m);
  }

  bool Exhausted() {
    exhausted_ = exhausted_ || b_memo_.size() + f_memo_.size() >= kMaxStates;
    return exhausted_;
  }

  Entry SolveB(int i, int j, int64_t m) {
    if (j <= chain_.lowest) return {Cost{0, 0}, i + 1};
    if (Exhausted()) return {Cost::Infinite(), i + 1};
    if (m < 0 || m * unit_bytes_ < least_.B(i, j)) return {Cost::Infinite(), i + 1};
    if (j == i + 1) {
      return {units_[i] + units_[j] <= m ? Cost{0, 0} : Cost::Infinite(), i + 1};
    }
    // The whole segment fits: each layer recomputed once, the least possible.
    if (Span(i, j) <= m) return {OnceEach(i, j), i + 1};
    const uint64_t key = Key(i, j, m);
    if (auto it = b_memo_.find(key); it != b_memo_.end()) return it->second;

    Entry best{Cost::Infinite(), i + 1};
    int64_t pairs = 0;
    for (int k = i + 1; k < j; ++k) {
      pairs = std::max(pairs, PairAt(units_, i, k));
      if (units_[i] + units_[j] + pairs > m) break;  // larger k only adds pairs
      Cost cost = Cost{k - i, 0};
      for (int t = i; t < k; ++t) cost.weight += chain_.weight(t);
      cost = cost + SolveB(k, j, m - units_[i]).cost;
      if (cost.infinite() || !(cost < best.cost)) continue;
      cost = cost + SolveB(i, k, j == last_ ? m - units_[last_] : m).cost;
      if (cost < best.cost) best = {cost, k};
    }
    b_memo_.emplace(key, best);
    return best;
  }

  Entry SolveF(int i, int64_t m) {
    if (i == last_) return {units_[last_] <= m ? Cost{0, 0} : Cost::Infinite(), last_};
    if (Exhausted()) return {Cost::Infinite(), i + 1};
    if (m < 0 || m * unit_bytes_ < least_.F(i)) return {Cost::Infinite(), i + 1};
    if (Span(i, last_) <= m) return {Cost{0, 0}, i + 1};  // keep everything
    const uint64_t key = Key(i, 0, m);
    if (auto it = f_memo_.find(key); it != f_memo_.end()) return it->second;

    Entry best{Cost::Infinite(), i + 1};
    int64_t pairs = 0;
    for (int k = i + 1; k <= last_; ++k) {
      pairs = std::max(pairs, PairAt(units_, i, k));
      if (units_[i] + pairs > m) break;
      Cost cost = SolveF(k, m - units_[i]).cost;
      if (cost.infinite() || !(cost < best.cost)) continue;
      cost = cost + SolveB(i, k, k == last_ ? m : m - units_[last_]).cost;
      if (cost < best.cost) best = {cost, k};
    }
    f_memo_.emplace(key, best);
    return best;
  }

  const Chain& chain_;
  const int last_;
  const std::vector<int64_t> units_;
  const int64_t unit_bytes_;
  const LeastMemory& least_;
  std::vector<int64_t> suffix_;  // suffix_[t] = units of a_t .. a_L
  absl::flat_hash_map<uint64_t, Entry> b_memo_;
  absl::flat_hash_map<uint64_t, Entry> f_memo_;
  bool exhausted_ = false;
};

}  // namespace

int64_t MinimumBudget(const Chain& chain) { return LeastMemory(chain).F(0); }

absl::StatusOr<Plan> PlanBudget(const Chain& chain, int64_t budget) {
  const int last = chain.num_layers();
  if (last < 1) return absl::InvalidArgumentError("a chain needs at least one layer");
  if (last > kMaxBudgetLayers) {
    return absl::InvalidArgumentError(absl::StrCat("memory-budget checkpointing plans at most ",
                                                   kMaxBudgetLayers, " layers, not ", last));
  }
  const LeastMemory least(chain);
  if (budget < least.F(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a budget of ", budget, " bytes is below the least a training step needs; the "
        "smallest workable budget is ", least.F(0), " bytes"));
  }

  // Units: the sizes' greatest common divisor (exact), unless the budget
  // would then be too many of them.
  int64_t unit = 0;
  for (int64_t s : chain.sizes) unit = std::gcd(unit, s);
  if (unit <= 0) unit = 1;
  // Rounded up without budget + kMaxUnits - 1, which overflows near 2^63.
  if (budget / unit > kMaxUnits) unit = budget / kMaxUnits + (budget % kMaxUnits != 0 ? 1 : 0);
  absl::StatusOr<std::vector<Op>> program;
  bool found = false;
  for (; !found && budget / unit >= 1; unit = unit > budget / 4 ? budget + 1 : unit * 4) {
    std::vector<int64_t> units;
    for (int64_t s : chain.sizes) units.push_back((s + unit - 1) / unit);  // rounded up
    const int64_t m = budget / unit;                                       // rounded down
    FewestRecomputations search(chain, std::move(units), unit, least);
    std::optional<Cost> cost = search.Solve(m);
    if (!cost.has_value()) continue;  // too many states: coarser
    // Infeasible in these units is infeasible in coarser ones too.
    if (cost->infinite()) break;
    program = EmitProgram(chain, search.units(), m, search.MakeChoosers());
    found = true;
  }
  if (!found) {
    // Only rounding can get here (the budget is at least the exact least):
    // the least-memory schedule fits, in bytes.
    Choosers choosers;
    choosers.forward = [&](int i, int64_t) { return least.FChoice(i); };
    choosers.backward = [&](int i, int j, int64_t) { return least.BChoice(i, j); };
    program = EmitProgram(chain, chain.sizes, budget, choosers);
  }
  if (!program.ok()) return program.status();
  MNEMO_ASSIGN_OR_RETURN(Plan plan, MakePlan(chain, *std::move(program), /*training=*/true));
  if (plan.simulation.peak_bytes > budget) {
    return absl::InternalError(absl::StrCat(
        "checkpoint planner exceeded its budget: ", plan.simulation.peak_bytes, " > ", budget));
  }
  return plan;
}

}  // namespace mnemo::caching::checkpoint
