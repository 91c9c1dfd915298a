#include "analysis/flow.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "util/error.h"

namespace attn {
namespace {

constexpr double kEps = 1e-12;  // residual capacities at or below this count as saturated

// The capacities in double, stored per layer by edge origin: cap[(l · N + from) · N + to].
struct LayeredGraph {
  int L = 0, N = 0;
  bool causal = true;  // no capacity above the diagonal: flow only moves to later tokens
  std::vector<double> cap;
  double at(int l, int from, int to) const { return cap[(size_t(l) * N + from) * N + to]; }
};

LayeredGraph checked_graph(const std::vector<RowMatrix>& capacities) {
  if (capacities.empty()) throw Error("attention flow: no layers to flow through");
  LayeredGraph g;
  g.L = int(capacities.size());
  g.N = int(capacities[0].rows());
  g.cap.resize(size_t(g.L) * g.N * g.N);
  for (int l = 0; l < g.L; ++l) {
    const RowMatrix& a = capacities[size_t(l)];
    if (a.rows() != g.N || a.cols() != g.N)
      throw Error("attention flow: layer " + std::to_string(l) + " is " + std::to_string(a.rows()) + " × " + std::to_string(a.cols()) +
                  ", expected " + std::to_string(g.N) + " × " + std::to_string(g.N) + " like layer 0");
    for (int i = 0; i < g.N; ++i)
      for (int j = 0; j < g.N; ++j) {
        const float c = a(i, j);
        if (!std::isfinite(c) || c < 0.0f)
          throw Error("attention flow: layer " + std::to_string(l) + " capacity [" + std::to_string(i) + ", " + std::to_string(j) + "] is " +
                      std::to_string(c) + "; capacities must be finite and ≥ 0");
        g.cap[(size_t(l) * g.N + j) * g.N + i] = c;
        if (j > i && c > 0.0f) g.causal = false;
      }
  }
  return g;
}

// Dinic's algorithm on the dense layered graph: BFS levels over residual edges (forward along
// capacity, backward along flow), then blocking flow by depth-first search with a current
// arc per node. One per thread, reused for every pair of tokens. The first phase's levels are
// the layers themselves (no BFS); nodes without inflow have no backward arcs to scan; only the
// edges a run touched are cleared for the next.
class LayeredFlow {
 public:
  explicit LayeredFlow(const LayeredGraph& g)
      : g_(g), flow_(g.cap.size()), inflow_(size_t(g.L + 1) * g.N), level_(inflow_.size()), arc_(level_.size()) {
    queue_.reserve(level_.size());
  }

  double run(int source, int sink) {
    if (g_.causal && sink < source) return 0.0;
    source_ = source, sink_ = sink;
    lo_ = g_.causal ? source : 0, hi_ = g_.causal ? sink : g_.N - 1;
    for (const size_t e : touched_) flow_[e] = 0.0;
    touched_.clear();
    std::fill(inflow_.begin(), inflow_.end(), 0.0);
    // The cuts right after the source and right before the sink bound the flow: stop there.
    double out = 0, in = 0;
    for (int m = begin(1); m < end(1); ++m) out += g_.at(0, source, m);
    for (int m = begin(g_.L - 1); m < end(g_.L - 1); ++m) in += g_.at(g_.L - 1, m, sink);
    const double bound = std::min(out, in);
    double total = 0;
    for (int l = 0; l <= g_.L; ++l) std::fill_n(level_.begin() + ptrdiff_t(l) * g_.N, g_.N, l);
    for (bool first = true; total < bound - kEps && (first || levels()); first = false) {
      std::fill(arc_.begin(), arc_.end(), 0);
      while (const double f = augment(0, source, std::numeric_limits<double>::infinity())) total += f;
    }
    return total;
  }

 private:
  // Tokens of boundary l that can carry flow: the source alone at 0, the sink alone at L.
  int begin(int l) const { return l == 0 ? source_ : l == g_.L ? sink_ : lo_; }
  int end(int l) const { return l == 0 ? source_ + 1 : l == g_.L ? sink_ + 1 : hi_ + 1; }
  double& flow(int l, int from, int to) { return flow_[(size_t(l) * g_.N + from) * g_.N + to]; }
  int& level(int l, int k) { return level_[size_t(l) * g_.N + k]; }
  bool has_inflow(int l, int k) const { return inflow_[size_t(l) * g_.N + k] > kEps; }

  bool levels() {
    std::fill(level_.begin(), level_.end(), -1);
    queue_.clear();
    level(0, source_) = 0;
    queue_.push_back(source_);
    for (size_t q = 0; q < queue_.size(); ++q) {
      const int l = queue_[q] / g_.N, k = queue_[q] % g_.N, next = level(l, k) + 1;
      if (l == g_.L) continue;
      for (int m = begin(l + 1); m < end(l + 1); ++m)
        if (level(l + 1, m) < 0 && g_.at(l, k, m) - flow(l, k, m) > kEps) {
          level(l + 1, m) = next;
          queue_.push_back((l + 1) * g_.N + m);
        }
      if (l > 0 && has_inflow(l, k))
        for (int m = begin(l - 1); m < end(l - 1); ++m)
          if (level(l - 1, m) < 0 && flow(l - 1, m, k) > kEps) {
            level(l - 1, m) = next;
            queue_.push_back((l - 1) * g_.N + m);
          }
    }
    return level(g_.L, sink_) >= 0;
  }

  // Pushes up to `limit` along one path of the level graph from (l, k); returns the amount.
  double augment(int l, int k, double limit) {
    if (l == g_.L) return limit;  // only the sink is reachable at the top
    const int forward = l < g_.L ? end(l + 1) - begin(l + 1) : 0;
    const int backward = l > 0 && has_inflow(l, k) ? end(l - 1) - begin(l - 1) : 0;
    const int next = level(l, k) + 1;
    for (int& a = arc_[size_t(l) * g_.N + k]; a < forward + backward; ++a) {
      if (a < forward) {
        const int m = begin(l + 1) + a;
        const size_t e = (size_t(l) * g_.N + k) * g_.N + m;
        double& f = flow_[e];
        const double residual = g_.at(l, k, m) - f;
        if (residual <= kEps || level(l + 1, m) != next) continue;
        if (const double got = augment(l + 1, m, std::min(limit, residual)); got > 0) {
          f += got;
          inflow_[size_t(l + 1) * g_.N + m] += got;
          touched_.push_back(e);
          return got;
        }
      } else {
        const int m = begin(l - 1) + a - forward;
        double& f = flow(l - 1, m, k);
        if (f <= kEps || level(l - 1, m) != next) continue;
        if (const double got = augment(l - 1, m, std::min(limit, f)); got > 0) {
          f -= got;
          inflow_[size_t(l) * g_.N + k] -= got;
          return got;
        }
      }
    }
    return 0.0;
  }

  const LayeredGraph& g_;
  std::vector<double> flow_;    // as g_.cap
  std::vector<double> inflow_;  // (L + 1) × N: the flow into each node
  std::vector<int> level_, arc_, queue_;  // (L + 1) × N; the queue holds l · N + k
  std::vector<size_t> touched_;  // indices of flow_ this run has set
  int source_ = 0, sink_ = 0, lo_ = 0, hi_ = 0;
};

void check_token(const LayeredGraph& g, int token, const char* what) {
  if (token < 0 || token >= g.N)
    throw Error(std::string("attention flow: ") + what + " token " + std::to_string(token) + " is outside 0–" + std::to_string(g.N - 1));
}

}  // namespace

double max_flow(const std::vector<RowMatrix>& capacities, int source, int sink) {
  const LayeredGraph g = checked_graph(capacities);
  check_token(g, source, "source");
  check_token(g, sink, "sink");
  return LayeredFlow(g).run(source, sink);
}

RowMatrix attention_flow(const std::vector<RowMatrix>& capacities, const ProgressFn& progress) {
  const LayeredGraph g = checked_graph(capacities);
  report_progress(progress, 0.0, "attention flow");
  RowMatrix out(g.N, g.N);
  std::atomic<int> done{0};
  std::atomic<bool> stop{false};
#pragma omp parallel
  {
    LayeredFlow solver(g);
#pragma omp for schedule(dynamic)
    for (int i = 0; i < g.N; ++i) {
      if (stop.load(std::memory_order_relaxed)) continue;
      for (int j = 0; j < g.N; ++j) out(i, j) = float(solver.run(j, i));
      const int rows = ++done;
      // The callback is the caller's: only its own thread (OpenMP's thread 0) calls it.
      if (omp_get_thread_num() == 0 && progress) try {
          if (!progress(double(rows) / g.N, "attention flow")) stop = true;
        } catch (...) {
          stop = true;
        }
    }
  }
  if (stop) throw Cancelled();
  report_progress(progress, 1.0, "attention flow");
  return out;
}

RowMatrix attention_flow(const AttentionRecording& recording, const RolloutOptions& options, const ProgressFn& progress) {
  return attention_flow(rollout_steps(recording, options), progress);
}

RowMatrix attention_attribution(const AttentionRecording& recording, const RolloutOptions& options, const ProgressFn& progress) {
  if (options.method == RolloutMethod::Flow) return attention_flow(recording, options, progress);
  return attention_rollout(recording, options);
}

}  // namespace attn
