#include "analysis/ReviewOrder.h"

#include "analysis/AuditJob.h"
#include "ml/Inference.h"
#include "util/Error.h"
#include "util/Parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace faceatlas {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double distance(const float* a, const float* b, std::size_t dim)
{
    return reviewCodeDistance(a, b, dim);
}

/** Candidates by spread, largest first; ties and unknown spreads (last) keep their order. */
std::vector<std::size_t> bySpread(const std::vector<std::size_t>& positions, const std::vector<double>& spread)
{
    std::vector<std::size_t> out = positions;
    std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
        const bool fa = std::isfinite(spread[a]), fb = std::isfinite(spread[b]);
        if (fa != fb)
            return fa;
        return fa && spread[a] > spread[b];
    });
    return out;
}

/**
 * The greedy "most informative" order of the `eligible` candidates (each with a finite spread and a
 * code), appended to `out.order`; fills out.value and out.novelty for them. Returns false when cancelled.
 */
bool informative(const ReviewCandidates& c, const std::vector<std::size_t>& eligible, ReviewOrdering& out,
                 const CancelToken& cancel)
{
    const std::size_t n = eligible.size();
    std::vector<double> nearest(n, kInf);   // distance to the nearest face reviewed or taken, as far as checked
    std::vector<std::size_t> checked(n, 0); // how many of `taken` nearest[] has been measured against
    // Every face against every reviewed one: independent rows, on every core.
    parallelFor(n, 0, [&](std::size_t e) {
        for (const float* r : c.reviewed) {
            if (cancel.isCancelled())
                return;
            nearest[e] = std::min(nearest[e], distance(c.code[eligible[e]], r, c.dim));
        }
    });
    if (cancel.isCancelled())
        return false;
    // The novelty scale: the largest distance to the reviewed faces, or, with none reviewed, to the
    // first face taken (set below). Novelty only falls as faces are taken.
    double scale = kNaN;
    const auto measureScale = [&] {
        scale = 0;
        for (const double d : nearest)
            if (std::isfinite(d))
                scale = std::max(scale, d);
    };
    if (!c.reviewed.empty())
        measureScale();
    const auto novelty = [&](std::size_t e) {
        if (std::isinf(nearest[e]))
            return 1.0;
        return scale > 0 ? std::min(1.0, nearest[e] / scale) : 0.0;
    };
    const auto gain = [&](std::size_t e) { return c.spread[eligible[e]] * novelty(e); };

    // A max-heap of (bound, position): larger gain first, then the earlier candidate.
    using Entry = std::pair<double, std::size_t>;
    const auto after = [&](const Entry& a, const Entry& b) {
        if (a.first != b.first)
            return a.first < b.first;
        return eligible[a.second] > eligible[b.second];
    };
    std::vector<Entry> heap;
    std::vector<char> done(n, 0);
    const auto push = [&](double g, std::size_t e) {
        heap.emplace_back(g, e);
        std::push_heap(heap.begin(), heap.end(), after);
    };
    const auto rebuild = [&] {
        heap.clear();
        for (std::size_t e = 0; e < n; ++e)
            if (!done[e])
                heap.emplace_back(gain(e), e);
        std::make_heap(heap.begin(), heap.end(), after);
    };
    rebuild();
    std::vector<const float*> taken;
    const std::size_t greedy = std::min(n, std::max<std::size_t>(1, c.greedyPicks));
    while (!heap.empty() && taken.size() < greedy) {
        std::pop_heap(heap.begin(), heap.end(), after);
        const auto [bound, e] = heap.back();
        heap.pop_back();
        if (checked[e] < taken.size()) {
            // Stale: measure it against the faces taken since, and put it back with what it is worth now.
            for (std::size_t t = checked[e]; t < taken.size(); ++t)
                nearest[e] = std::min(nearest[e], distance(c.code[eligible[e]], taken[t], c.dim));
            checked[e] = taken.size();
            push(gain(e), e);
            continue;
        }
        // Its value is current and no other can beat it (their bounds only fall): take it.
        const std::size_t pos = eligible[e];
        out.order.push_back(pos);
        out.value[pos] = bound;
        out.novelty[pos] = novelty(e);
        done[e] = 1;
        taken.push_back(c.code[pos]);
        if (cancel.isCancelled())
            return false;
        if (std::isnan(scale)) {
            // Nothing was reviewed: the first face taken sets the scale, and every bound is measured.
            parallelFor(n, 0, [&](std::size_t o) {
                nearest[o] = done[o] ? 0.0 : distance(c.code[eligible[o]], taken.front(), c.dim);
            });
            measureScale();
            std::fill(checked.begin(), checked.end(), taken.size());
            rebuild();
        }
    }
    // Past the greedy picks: the rest by spread x novelty against every face reviewed or picked
    // (measured once, not again after each), largest first, ties to the earlier candidate.
    std::vector<std::size_t> rest;
    for (std::size_t e = 0; e < n; ++e)
        if (!done[e])
            rest.push_back(e);
    parallelFor(rest.size(), 0, [&](std::size_t k) {
        const std::size_t e = rest[k];
        for (std::size_t t = checked[e]; t < taken.size() && !cancel.isCancelled(); ++t)
            nearest[e] = std::min(nearest[e], distance(c.code[eligible[e]], taken[t], c.dim));
        checked[e] = taken.size();
    });
    if (cancel.isCancelled())
        return false;
    std::vector<Entry> tail;
    for (const std::size_t e : rest)
        tail.emplace_back(gain(e), e);
    std::sort(tail.begin(), tail.end(), [&](const Entry& a, const Entry& b) { return after(b, a); });
    for (const auto& [g, e] : tail) {
        out.order.push_back(eligible[e]);
        out.value[eligible[e]] = g;
        out.novelty[eligible[e]] = novelty(e);
    }
    return true;
}

} // namespace

double reviewCodeDistance(const float* a, const float* b, std::size_t dim)
{
    // Eight float partial sums in a fixed order: the compiler vectorises them, and every run and
    // machine adds the same way (the order must not change between runs).
    float part[8] = {};
    std::size_t k = 0;
    for (; k + 8 <= dim; k += 8)
        for (std::size_t j = 0; j < 8; ++j) {
            const float d = a[k + j] - b[k + j];
            part[j] += d * d;
        }
    double sum = 0;
    for (; k < dim; ++k) {
        const double d = static_cast<double>(a[k]) - static_cast<double>(b[k]);
        sum += d * d;
    }
    for (const float p : part)
        sum += p;
    return std::sqrt(sum);
}

const char* reviewOrderName(ReviewOrder order)
{
    switch (order) {
    case ReviewOrder::Score: return "score";
    case ReviewOrder::Uncertainty: return "uncertainty";
    case ReviewOrder::Informative: return "informative";
    }
    return "score";
}

std::optional<ReviewOrder> parseReviewOrder(const std::string& name)
{
    for (const ReviewOrder o : {ReviewOrder::Score, ReviewOrder::Uncertainty, ReviewOrder::Informative})
        if (name == reviewOrderName(o))
            return o;
    return std::nullopt;
}

ReviewOrdering orderReview(ReviewOrder asked, const ReviewCandidates& c, const CancelToken& cancel)
{
    const std::size_t n = c.spread.size();
    if (!c.code.empty() && c.code.size() != n)
        throw Error("review order: " + std::to_string(c.code.size()) + " codes for " + std::to_string(n) + " faces");
    ReviewOrdering out;
    out.asked = asked;
    out.used = asked;
    out.value.assign(n, kNaN);
    out.novelty.assign(n, kNaN);
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});

    const bool spreads = std::any_of(c.spread.begin(), c.spread.end(), [](double s) { return std::isfinite(s); });
    const bool codes = c.dim > 0 && std::any_of(c.code.begin(), c.code.end(), [](const float* p) { return p; });
    if (out.used == ReviewOrder::Informative && !codes) {
        out.used = ReviewOrder::Uncertainty;
        out.fallback = "no autoencoder codes of these faces";
    }
    if (out.used != ReviewOrder::Score && !spreads) {
        out.used = ReviewOrder::Score;
        out.fallback = (out.fallback.empty() ? "" : out.fallback + ", and ")
                       + "no calibrated spreads (an audit without predictions, or of a model never calibrated)";
    }

    switch (out.used) {
    case ReviewOrder::Score: out.order = all; break;
    case ReviewOrder::Uncertainty:
        out.order = bySpread(all, c.spread);
        for (std::size_t i = 0; i < n; ++i)
            out.value[i] = c.spread[i];
        break;
    case ReviewOrder::Informative: {
        std::vector<std::size_t> eligible, rest;
        for (std::size_t i = 0; i < n; ++i)
            (std::isfinite(c.spread[i]) && c.code[i] ? eligible : rest).push_back(i);
        if (!informative(c, eligible, out, cancel)) {
            out.cancelled = true;
            return out;
        }
        // Those it cannot place (no spread, no code) follow, by spread.
        for (const std::size_t i : bySpread(rest, c.spread))
            out.order.push_back(i);
        break;
    }
    }
    return out;
}

ReviewQueue orderReviewQueue(const AuditResult& audit, ReviewOrder order, const Codes* codes,
                             const std::vector<std::uint32_t>& reviewedRows, const CancelToken& cancel)
{
    std::vector<std::size_t> flagged;
    for (std::size_t i = 0; i < audit.suspects.size(); ++i)
        if (!audit.suspects[i].reasons.empty())
            flagged.push_back(i);
    ReviewCandidates c;
    c.spread.reserve(flagged.size());
    for (const std::size_t i : flagged)
        c.spread.push_back(audit.suspects[i].predictedSd);
    ReviewQueue q;
    if (codes && codes->count() > 0 && order == ReviewOrder::Informative) {
        // Row i of the codes is record i of the preparation they encoded: the audit's faces must be there.
        c.dim = codes->dim();
        c.code.reserve(flagged.size());
        for (const std::size_t i : flagged) {
            const Suspect& s = audit.suspects[i];
            if (s.index >= codes->count() || recordKey(codes->records()[s.index]) != s.path)
                throw Error("the codes hold other faces than the audit: face " + std::to_string(s.index) + " is "
                            + (s.index < codes->count() ? recordKey(codes->records()[s.index]) : "missing")
                            + " in the codes, " + s.path + " in the audit; encode this preparation again");
            c.code.push_back(codes->row(s.index));
        }
        for (const std::uint32_t r : reviewedRows)
            if (r < codes->count())
                c.reviewed.push_back(codes->row(r));
        q.reviewedWithCodes = c.reviewed.size();
    } else {
        c.code.assign(flagged.size(), nullptr);
    }
    ReviewOrdering o = orderReview(order, c, cancel);
    q.asked = o.asked;
    q.used = o.used;
    q.fallback = o.fallback;
    q.cancelled = o.cancelled;
    if (o.cancelled)
        return q;
    for (const std::size_t pos : o.order) {
        q.suspects.push_back(flagged[pos]);
        q.value.push_back(o.value[pos]);
        q.novelty.push_back(o.novelty[pos]);
    }
    return q;
}

} // namespace faceatlas
