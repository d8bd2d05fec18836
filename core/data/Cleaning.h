#pragma once

#include "data/ImageIO.h"
#include "data/Record.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace faceatlas {

/** The face-score step's default thresholds, one per scale; the command line and the window both start from them. */
inline constexpr double kDefaultMinFaceScore = 1.0;     // IMDB-WIKI's own face scores (the capstone's)
inline constexpr double kDefaultMinDetectorScore = 0.0; // FaceAtlas's detector: drops only pictures without a face

/** The capstone's cleaning, split and resampling settings; each step can be switched off. */
struct CleaningOptions {
    bool dropUnreadable = true;                         // 1. missing or unreadable image
    bool dropMultipleFaces = true;                      // 2. a second face score is present
    bool filterFaceScore = true;                        // 3. face score below minFaceScore (-inf always removed)
    double minFaceScore = kDefaultMinFaceScore;         //    IMDB-WIKI's own face scores
    double minDetectorScore = kDefaultMinDetectorScore; //    faces FaceAtlas found (dlib's HOG confidence, 0-3)
    bool filterAge = true;                              // 4. age outside [ageMin, ageMax]
    int ageMin = 15;
    int ageMax = 65;
    int minImageSize = 90; // 5. width or height below this (0 = off)
    // 5a. the face turned further than this many degrees (|Record::yaw|, a rough estimate that tops out near 34
    //     for a profile; 0 = off). On the UTKFace sample 25 drops 6 of 3,785 faces, 20 drops 71, 15 drops 338.
    double maxYaw = 25;
    // 5b. the face's box narrower than this many pixels of its picture (0 = off): a face that small is
    //     mostly blur once enlarged. UTKFace's are nearly all wider than 150 (2 of 3,714 are not).
    int minFaceSize = 32;
    double valFraction = 0.2;  // 6. split: a fraction of the kept records ...
    long long valCount = -1;   //    ... or, when >= 0, an exact count
    bool balanceAges = true;   // 7. resample the training set to balance ages
    long long balanceSize = 0; //    training set size after resampling (0 = keep)
    std::uint64_t seed = 42;
};

/** What one step removed; `notApplicable` records lacked the field it needs and passed. */
struct StepReport {
    std::string name;
    size_t removed = 0;
    size_t remaining = 0;
    size_t notApplicable = 0;
    bool enabled = true;
};

/** A file that could not be used, and why. */
struct SkippedFile {
    std::string path;
    std::string problem;
};

/**
 * Steps 1-5 over records whose images were probed (probes[i] belongs to records[i]).
 * Returns the indices of the kept records and appends one StepReport per step.
 */
std::vector<size_t> applyFilters(const std::vector<Record>& records, const std::vector<ImageProbe>& probes,
                                 const CleaningOptions& options, std::vector<StepReport>& steps,
                                 std::vector<SkippedFile>& skipped);

/**
 * The review's cleaning step, after the others: removes the kept records whose index is in
 * `excluded` (sorted; applyReview's result) and appends its StepReport ("excluded in review").
 */
void excludeReviewed(const std::vector<size_t>& excluded, std::vector<size_t>& kept, std::vector<StepReport>& steps);

/** A seeded split of `kept` into training and validation indices (both sorted). */
void splitTrainVal(const std::vector<size_t>& kept, const CleaningOptions& options, std::vector<size_t>& train,
                   std::vector<size_t>& val);

/** Age histogram (whole years) of the records at `indices` that have an age. */
std::map<int, size_t> ageHistogram(const std::vector<Record>& records, const std::vector<size_t>& indices);

/**
 * Resamples training indices so every age present gets the same share (oversampling rare ages
 * with replacement, undersampling common ones); records without an age are kept as they are.
 * The result has `targetSize` labelled entries (0 = as many as before) and is shuffled.
 */
std::vector<size_t> balanceByAge(const std::vector<Record>& records, const std::vector<size_t>& train,
                                 long long targetSize, std::uint64_t seed);

/** Deterministic shuffle (the same order on every platform for a seed). */
void seededShuffle(std::vector<size_t>& values, std::uint64_t seed);

} // namespace faceatlas
