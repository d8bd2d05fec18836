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
 * code): the state the picks share (each face's distance to the nearest face reviewed or taken, the
 * novelty scale, a lazy max-heap of gains) and the steps that make the order.
 */
class InformativeOrder {
public:
    InformativeOrder(const ReviewCandidates& c, const std::vector<std::size_t>& eligible, ReviewOrdering& out,
                     const CancelToken& cancel)
        : m_c(c)
        , m_eligible(eligible)
        , m_out(out)
        , m_cancel(cancel)
        , m_n(eligible.size())
        , m_nearest(m_n, kInf)
        , m_checked(m_n, 0)
        , m_done(m_n, 0)
    {
    }

    /** Appends the order to out.order and fills out.value and out.novelty; false when cancelled. */
    bool run()
    {
        if (!measureReviewed())
            return false;
        // The novelty scale: the largest distance to the reviewed faces, or, with none reviewed, to the
        // first face taken (set in pickGreedily). Novelty only falls as faces are taken.
        if (!m_c.reviewed.empty())
            measureScale();
        return pickGreedily() && orderRest();
    }

private:
    /** A heap entry: (bound on the gain, position among the eligible). */
    using Entry = std::pair<double, std::size_t>;

    double distanceTo(std::size_t e, const float* other) const
    {
        return distance(m_c.code[m_eligible[e]], other, m_c.dim);
    }

    /** Every face against every reviewed one: independent rows, on every core. False when cancelled. */
    bool measureReviewed()
    {
        parallelFor(m_n, 0, [&](std::size_t e) {
            for (const float* r : m_c.reviewed) {
                if (m_cancel.isCancelled())
                    return;
                m_nearest[e] = std::min(m_nearest[e], distanceTo(e, r));
            }
        });
        return !m_cancel.isCancelled();
    }

    /** Sets the novelty scale to the largest finite distance measured. */
    void measureScale()
    {
        m_scale = 0;
        for (const double d : m_nearest)
            if (std::isfinite(d))
                m_scale = std::max(m_scale, d);
    }

    double novelty(std::size_t e) const
    {
        if (std::isinf(m_nearest[e]))
            return 1.0;
        return m_scale > 0 ? std::min(1.0, m_nearest[e] / m_scale) : 0.0;
    }

    double gain(std::size_t e) const { return m_c.spread[m_eligible[e]] * novelty(e); }

    /** The heap's order: larger gain first, then the earlier candidate. */
    bool after(const Entry& a, const Entry& b) const
    {
        if (a.first != b.first)
            return a.first < b.first;
        return m_eligible[a.second] > m_eligible[b.second];
    }

    auto heapOrder() const
    {
        return [this](const Entry& a, const Entry& b) { return after(a, b); };
    }

    void push(double g, std::size_t e)
    {
        m_heap.emplace_back(g, e);
        std::push_heap(m_heap.begin(), m_heap.end(), heapOrder());
    }

    /** The heap of every face not taken yet, at its gain now. */
    void rebuild()
    {
        m_heap.clear();
        for (std::size_t e = 0; e < m_n; ++e)
            if (!m_done[e])
                m_heap.emplace_back(gain(e), e);
        std::make_heap(m_heap.begin(), m_heap.end(), heapOrder());
    }

    /** Brings face e's nearest distance up to date with the faces taken since it was last measured. */
    void catchUp(std::size_t e)
    {
        for (std::size_t t = m_checked[e]; t < m_taken.size(); ++t)
            m_nearest[e] = std::min(m_nearest[e], distanceTo(e, m_taken[t]));
        m_checked[e] = m_taken.size();
    }

    /** Takes face e into the order at gain `bound`. */
    void take(std::size_t e, double bound)
    {
        const std::size_t pos = m_eligible[e];
        m_out.order.push_back(pos);
        m_out.value[pos] = bound;
        m_out.novelty[pos] = novelty(e);
        m_done[e] = 1;
        m_taken.push_back(m_c.code[pos]);
    }

    /** Nothing was reviewed: the first face taken sets the scale, and every bound is measured. */
    void scaleByFirstTaken()
    {
        parallelFor(m_n, 0, [&](std::size_t o) {
            m_nearest[o] = m_done[o] ? 0.0 : distance(m_c.code[m_eligible[o]], m_taken.front(), m_c.dim);
        });
        measureScale();
        std::fill(m_checked.begin(), m_checked.end(), m_taken.size());
        rebuild();
    }

    /** The greedy picks, each measured against the ones before (lazily). False when cancelled. */
    bool pickGreedily()
    {
        rebuild();
        const std::size_t greedy = std::min(m_n, std::max<std::size_t>(1, m_c.greedyPicks));
        while (!m_heap.empty() && m_taken.size() < greedy) {
            std::pop_heap(m_heap.begin(), m_heap.end(), heapOrder());
            const auto [bound, e] = m_heap.back();
            m_heap.pop_back();
            if (m_checked[e] < m_taken.size()) {
                // Stale: measure it against the faces taken since, and put it back with what it is worth now.
                catchUp(e);
                push(gain(e), e);
                continue;
            }
            // Its value is current and no other can beat it (their bounds only fall): take it.
            take(e, bound);
            if (m_cancel.isCancelled())
                return false;
            if (std::isnan(m_scale))
                scaleByFirstTaken();
        }
        return true;
    }

    /**
     * Past the greedy picks: the rest by spread x novelty against every face reviewed or picked
     * (measured once, not again after each), largest first, ties to the earlier candidate. False when cancelled.
     */
    bool orderRest()
    {
        std::vector<std::size_t> rest;
        for (std::size_t e = 0; e < m_n; ++e)
            if (!m_done[e])
                rest.push_back(e);
        parallelFor(rest.size(), 0, [&](std::size_t k) {
            const std::size_t e = rest[k];
            for (std::size_t t = m_checked[e]; t < m_taken.size() && !m_cancel.isCancelled(); ++t)
                m_nearest[e] = std::min(m_nearest[e], distanceTo(e, m_taken[t]));
            m_checked[e] = m_taken.size();
        });
        if (m_cancel.isCancelled())
            return false;
        std::vector<Entry> tail;
        for (const std::size_t e : rest)
            tail.emplace_back(gain(e), e);
        std::sort(tail.begin(), tail.end(), [&](const Entry& a, const Entry& b) { return after(b, a); });
        for (const auto& [g, e] : tail) {
            m_out.order.push_back(m_eligible[e]);
            m_out.value[m_eligible[e]] = g;
            m_out.novelty[m_eligible[e]] = novelty(e);
        }
        return true;
    }

    const ReviewCandidates& m_c;
    const std::vector<std::size_t>& m_eligible;
    ReviewOrdering& m_out;
    const CancelToken& m_cancel;
    const std::size_t m_n;
    std::vector<double> m_nearest;      // distance to the nearest face reviewed or taken, as far as checked
    std::vector<std::size_t> m_checked; // how many of `m_taken` m_nearest[] has been measured against
    std::vector<char> m_done;           // taken into the order
    std::vector<const float*> m_taken;
    std::vector<Entry> m_heap; // a max-heap of (bound, position): larger gain first, then the earlier candidate
    double m_scale = kNaN;
};

/**
 * The greedy "most informative" order of the `eligible` candidates (each with a finite spread and a
 * code), appended to `out.order`; fills out.value and out.novelty for them. Returns false when cancelled.
 */
bool informative(const ReviewCandidates& c, const std::vector<std::size_t>& eligible, ReviewOrdering& out,
                 const CancelToken& cancel)
{
    return InformativeOrder(c, eligible, out, cancel).run();
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
