#pragma once

#include "data/Duplicates.h"
#include "data/Record.h"
#include "ml/Models.h"
#include "ml/TrainJob.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/** Settings of an audit of a prepared dataset; the defaults finish 5,000 faces at 64 px in about 15 minutes on 2 cores.
 */
struct AuditParams {
    std::filesystem::path data; // a prepared dataset folder
    std::filesystem::path out;  // suspects.csv, duplicates.csv, audit.json and folds/ (the fold runs)
    ModelKind model = ModelKind::Age;
    int folds = 5;
    int epochs = 10;
    std::uint64_t seed = 1;
    std::string device = "auto";
    int threads = 0;
    int nearDistance = 6;         // near copies: perceptual hashes at most this many bits apart (0-11) ...
    double minCorrelation = 0.95; // ... and 16x16 grey thumbnails at least this correlated (see thumbnailCheck)
    int featureNeighbours = 5;    // each face's nearest faces in the first fold model's features are also checked
                                  // as copies (0: hashes only)
    int ageTolerance = 1;         // copies whose ages differ by more are a label conflict
    double outlierScore = 3.0;    // a score at or above this gives the reason age_outlier
    bool predict = true;          // false: metadata and duplicates only (no training)
};

/** One face in the review queue: its labels, its out-of-fold prediction and why it is suspect. */
struct Suspect {
    std::uint32_t index = 0; // record index in the prepared dataset
    std::string path;        // exactly as the prepared records hold it
    std::string split;       // "train" or "val"
    std::optional<int> age;
    Gender gender = Gender::Unknown;
    float predicted = std::nanf("");   // out-of-fold predicted age (NaN without a prediction)
    float predictedSd = std::nanf(""); // its calibrated spread (years; NaN for a model never calibrated)
    double score = std::nan("");       // how unlikely the age label is (see scoreAges); NaN without age
    std::vector<std::string> reasons;  // short tokens, e.g. age_outlier, duplicate_conflict, photo_before_birth
};

/** A group of copies of one face, and what is wrong with it. */
struct AuditGroup {
    int id = 0; // 1-based, as duplicates.csv numbers it
    std::vector<DuplicateMember> members;
    bool ageConflict = false;    // members' ages differ by more than the tolerance
    bool genderConflict = false; // two members have different known genders
    bool leak = false;           // members on both sides of the training / validation split
};

struct AuditProgress {
    std::string stage; // "hashing images", "fold 2/5: training", ...
    long long done = 0;
    long long total = 0;
};

/** What an audit found; `suspects` holds every face, most suspect first. */
struct AuditResult {
    std::vector<Suspect> suspects;
    std::vector<AuditGroup> groups;
    std::map<std::string, size_t> reasonCounts;
    double mae = std::nan("");         // out-of-fold MAE over faces with an age
    double baselineMae = std::nan(""); // the same faces' MAE when guessing the training folds' median age
    std::string warning;               // set when `mae` is not clearly below `baselineMae` (baselineWarning)
    std::string summaryJson;           // audit.json
    bool cancelled = false;
};

/**
 * The score of each age label under its own out-of-fold prediction: r = |age - mean| / sqrt(sd^2 + 1)
 * (the deviation in units of the predicted spread, with a 1-year floor), divided by the median r
 * over all faces / 0.6745 so that, were the spreads right, scores would be |z| of a standard normal
 * (3 = a label 3 calibrated deviations away). NaN where a face has no age or prediction.
 */
std::vector<double> scoreAges(const std::vector<std::optional<int>>& ages, const std::vector<float>& mean,
                              const std::vector<float>& sd);

/** Duplicate groups with their conflicts and leaks; `faces` holds every face in record order. */
std::vector<AuditGroup> auditGroups(const std::vector<DuplicateGroup>& groups, const std::vector<Suspect>& faces,
                                    int ageTolerance);
/** Sets a group's conflict and leak flags from its members' labels and splits. */
void flagGroup(AuditGroup& group, const std::vector<const Suspect*>& members, int ageTolerance);

/** Orders suspects for review: score highest first, faces without a score after, then by more reasons. */
void sortSuspects(std::vector<Suspect>& suspects);

/**
 * Audits a prepared dataset's labels: metadata checks, exact and near duplicates (with label
 * conflicts and training / validation leaks) and out-of-fold age predictions, written to
 * OUT/suspects.csv, OUT/duplicates.csv and OUT/audit.json. Blocking: run it on a worker thread.
 * Throws Error on bad input; a cancel returns `cancelled` with the finished folds kept for a rerun.
 */
class AuditJob {
public:
    using ProgressFn = std::function<void(const AuditProgress&)>;
    explicit AuditJob(AuditParams params);
    AuditResult run(const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

private:
    AuditParams m_params;
};

} // namespace faceatlas
