#pragma once

#include "util/CancelToken.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

struct AuditResult;
class Codes;

/**
 * The orders of the review queue: the audit's own (most suspect first), the model's uncertainty
 * (the calibrated out-of-fold spread, largest first), or "most informative" (the spread weighted
 * by how unlike the faces reviewed already, and those put before it, a face is in code space).
 */
enum class ReviewOrder { Score, Uncertainty, Informative };
/** "score", "uncertainty", "informative". */
const char* reviewOrderName(ReviewOrder order);
std::optional<ReviewOrder> parseReviewOrder(const std::string& name);

/**
 * What the orders read, per candidate (in the audit's order, which the score order keeps): its
 * calibrated spread in years (NaN unknown) and its code (nullptr without one), plus the codes of the
 * faces reviewed already. The pointers are borrowed (a mapped Codes file): they must outlive the call.
 */
struct ReviewCandidates {
    std::vector<double> spread;
    std::vector<const float*> code;     // empty, or one per candidate
    std::vector<const float*> reviewed; // codes of the faces reviewed already
    std::size_t dim = 0;                // code length; 0: no codes
    /**
     * Informative: how many faces are picked greedily (each pick measured against the ones before);
     * the rest follow by spread x novelty against all of those. The cost grows with candidates x
     * picks: 2,000 is more than a reviewer gets through in a sitting and the most the page lists.
     */
    std::size_t greedyPicks = 2000;
};

/** An order of the candidates, and the order it is when the one asked for could not be made. */
struct ReviewOrdering {
    ReviewOrder asked = ReviewOrder::Score;
    ReviewOrder used = ReviewOrder::Score;
    std::vector<std::size_t> order; // candidate positions, the first to review first
    /**
     * Per candidate (by position): what it was ordered by. Score order: NaN; uncertainty: its spread;
     * informative: its spread times its novelty (below) when it was picked. NaN for a candidate the
     * order could not place (no spread, no code): those follow the others in the audit's order.
     */
    std::vector<double> value;
    /** Informative only, per candidate: its distance to the nearest face reviewed or put before it,
     *  over the largest such distance at the start (0-1; 1 when nothing is reviewed yet); else NaN. */
    std::vector<double> novelty;
    /** Why `used` differs from `asked` ("no calibrated spreads", "no codes"); empty when it does not. */
    std::string fallback;
    bool cancelled = false;
};

/** The distance the informative order measures novelty by: Euclidean, summed the same way every time. */
double reviewCodeDistance(const float* a, const float* b, std::size_t dim);

/**
 * Orders the candidates. Score keeps their order. Uncertainty sorts by spread, largest first
 * (stable: ties and unknown spreads keep the audit's order, unknown last). Informative is greedy:
 * each step takes the face with the largest spread x novelty, then counts it as reviewed, so a
 * near-duplicate of a face reviewed (or taken) sinks and a face unlike all of them rises; ties go
 * to the earlier candidate, so the order is deterministic. Lazy evaluation: a face's novelty only
 * falls as faces are taken, so its last value bounds it and it is measured again only when it could
 * win; past `greedyPicks` the rest are ordered once, not greedily. Without codes (dim 0) it falls
 * back to uncertainty, without any finite spread to the score, and says why in `fallback`. Pure
 * computation (no files; the independent distances on every core); checks `cancel` between picks.
 */
ReviewOrdering orderReview(ReviewOrder asked, const ReviewCandidates& candidates, const CancelToken& cancel = {});

/** The review queue of an audit: its flagged faces (a suspect with a reason) in an order. */
struct ReviewQueue {
    std::vector<std::size_t> suspects; // indices into AuditResult::suspects, the first to review first
    std::vector<double> value;         // per entry of `suspects`: ReviewOrdering::value
    std::vector<double> novelty;       // per entry of `suspects`: ReviewOrdering::novelty
    ReviewOrder asked = ReviewOrder::Score;
    ReviewOrder used = ReviewOrder::Score;
    std::string fallback;
    std::size_t reviewedWithCodes = 0; // faces reviewed already that the informative order compared against
    bool cancelled = false;
};

/**
 * orderReview() over the flagged suspects of `audit`, their spreads the audit's out-of-fold
 * calibrated spreads. `codes` (nullptr: none) must hold one code per row of the audited preparation
 * (row i the face of record i); `reviewedRows` are the preparation's rows decided already (by the
 * review file). Throws Error naming the codes' folder when they hold other faces than the audit.
 */
ReviewQueue orderReviewQueue(const AuditResult& audit, ReviewOrder order, const Codes* codes,
                             const std::vector<std::uint32_t>& reviewedRows, const CancelToken& cancel = {});

} // namespace faceatlas
