#pragma once

#include "data/PrepareJob.h"

#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/** Where the cleaning steps get the detector's findings from. */
enum class FindFaces {
    Detect,     // the cache, and the detector for the pictures it lacks (Prepare, "Detect faces now")
    CachedOnly, // the cache only: a picture it lacks is not looked at, and counted (the step preview)
};

/** The records as Prepare's cleaning steps leave them, before anything is decoded or written. */
struct CleanedRecords {
    std::vector<FaceFinding> findings; // aligned framing: the face of each record (empty otherwise)
    std::vector<size_t> kept;          // the records the steps keep, in order
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    FramingReport framing;                  // looked, detected and reused; the rest is counted once decoded
    ReviewCounts review;                    // what the review (when given) did
    size_t needDetection = 0;               // pictures the detector's findings are needed for (see cleanRecords)
    size_t notLooked = 0;                   // CachedOnly: of them, those the cache has no finding of
    std::vector<std::string> cacheWarnings; // damaged findings caches moved aside
    bool cancelled = false;
};

/**
 * Prepare's cleaning steps on records read from `params.source` and probed (probes[i] belongs to
 * dataset.records[i]): finds the faces (aligned framing), gives the records the detector's
 * findings, takes every face of each picture (PrepareParams::everyFace), applies the review (when
 * given: PrepareJob reads it from PrepareParams::review) and runs the steps. `dataset` and `probes`
 * are changed in place (findings, more faces, corrected labels). Blocking: run it on a worker.
 * Throws Error for settings Prepare refuses. PrepareJob::run and previewSteps both call it, so the
 * preview's counts are Prepare's.
 */
CleanedRecords cleanRecords(LoadedDataset& dataset, std::vector<ImageProbe>& probes, const PrepareParams& params,
                            const std::optional<ReviewFile>& review, FindFaces mode, const CancelToken& cancel = {},
                            const std::function<void(const JobProgress&)>& onProgress = {});

/** What each cleaning step will remove, as Prepare will count it (a preview before Prepare). */
struct StepPreview {
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    size_t needDetection = 0; // pictures the detector's findings are needed for
    size_t notLooked = 0;     // of them, those with no finding yet: the detector's steps counted without them
    std::vector<std::string> cacheWarnings;
    bool cancelled = false;
    /** Every finding needed was there: the counts are those Prepare will give (but for files that fail to decode). */
    bool exact() const { return notLooked == 0; }
};

/**
 * The steps as Prepare (cleanRecords) would run them on `dataset` with `params`, the review file
 * included when params.review names one. CachedOnly: from the findings the cache holds, without the
 * detector (a few milliseconds per thousand pictures); Detect: the detector runs on the pictures the
 * cache lacks and fills the cache Prepare reads, so Prepare then detects nothing again. Blocking.
 */
StepPreview previewSteps(const LoadedDataset& dataset, const std::vector<ImageProbe>& probes,
                         const PrepareParams& params, FindFaces mode = FindFaces::CachedOnly,
                         const CancelToken& cancel = {},
                         const std::function<void(const JobProgress&)>& onProgress = {});

/** The review file Prepare reads for `params` (none when params.review is empty); throws Error when it is missing. */
std::optional<ReviewFile> loadPrepareReview(const PrepareParams& params, const LoadedDataset& dataset);

/**
 * What the decisions of `review` that Prepare applies are, as a short text ("N:HASH" over the latest
 * decision of each path: its path, action and new label; file order and undone decisions do not
 * count). PrepareJob records it in prepared.json (settings.review_decisions), so that the Dataset
 * page can tell whether the review file still holds what the open preparation applied.
 */
std::string reviewFingerprint(const ReviewFile& review);

} // namespace faceatlas
