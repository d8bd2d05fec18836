#pragma once

#include "data/FaceDetections.h"
#include "data/PrepareJob.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

// Prepare's steps after the cleaning (cleanRecords, PrepareSteps.h): storing the kept faces'
// pictures, dropping those that fail to decode, the quality columns and their steps, the split.
// PrepareJob::run calls them in this order; each can be called on its own.

/**
 * The key of the image cache: what goes into it (the files' paths, sizes and times, in the kept
 * order, the image size, the framing and, aligned, the detector's version). A matching key in the
 * old preparation lets its cache be reused.
 */
std::string imageCacheKey(const PrepareParams& p, Framing framing, const std::vector<Record>& records,
                          const std::vector<ImageProbe>& probes, const std::vector<size_t>& kept);

/** Where the images go: the old preparation's folder (read) and the staged one (written). */
struct ImageStore {
    std::filesystem::path oldDir; // the preparation at --out, if any (never written)
    std::filesystem::path workDir;
    std::string key; // imageCacheKey()
};

/** The kept faces' pictures as stored in the staged folder's image cache. */
struct StoredImages {
    std::vector<size_t> failed; // positions in `kept` that failed to decode, ascending
    std::vector<SkippedFile> skipped;
    nlohmann::json decodeSkipped = nlohmann::json::array(); // the same, for the manifest
    nlohmann::json oldQuality;                              // reused: the old manifest's quality entry
    bool reused = false;
    bool cancelled = false;
    double decodeSeconds = 0;
};

/**
 * Stores the pictures of records[kept] (framed by `findings` when aligned, else centre-cropped) in
 * store.workDir: the old preparation's cache, shared by a hard link, when its key and rows match
 * (its manifest is checked before it indexes anything), else decoded. The old folder is never
 * written. Cancelled: the staged folder is left for its owner to remove.
 */
StoredImages storeImages(const ImageStore& store, const std::vector<Record>& records, const std::vector<size_t>& kept,
                         const std::vector<FaceFinding>& findings, const PrepareParams& p, const CancelToken& cancel,
                         const std::function<void(const JobProgress&)>& onProgress);

/**
 * Files that failed to decode count as unreadable (the first step); every later step kept them, so
 * only the running totals change. Removes kept[failed] (failed: positions in kept, ascending).
 */
void dropFailedDecodes(const std::vector<size_t>& failed, std::vector<size_t>& kept, std::vector<StepReport>& steps);

/** The quality columns of the stored faces, row by row (kQualityColumnCount each). */
struct StoredQuality {
    std::vector<float> values;
    double seconds = 0; // measuring them (0: reused)
    bool cancelled = false;
};

/**
 * The quality columns of the `count` faces in store.workDir's image cache: the old preparation's
 * when its cache was reused and its quality file is whole, else measured on the stored faces.
 */
StoredQuality storedQuality(const ImageStore& store, const StoredImages& images, size_t count, const PrepareParams& p,
                            const CancelToken& cancel, const std::function<void(const JobProgress&)>& onProgress);

/**
 * The quality steps (off by default), last, on the stored faces: what they remove leaves the image
 * cache (rewritten, never the old preparation's shared file), the quality rows and `kept` together.
 */
void applyQualityFilter(const PrepareParams& p, const std::filesystem::path& imagesFile, StoredQuality& quality,
                        std::vector<size_t>& kept, std::vector<StepReport>& steps);

/** The stored records and their split (positions in the stored order), resampled by age when asked. */
struct SplitFaces {
    std::vector<Record> stored;
    std::vector<std::uint32_t> train, val;
};

/** Splits records[kept] into training and validation and resamples the training part; fills rep's counts. */
SplitFaces splitAndBalance(const std::vector<Record>& records, const std::vector<size_t>& kept,
                           const CleaningOptions& cleaning, PrepareReport& rep);

/** Per-channel mean and standard deviation (0-1 scale) over up to 4096 of the images at `indices`. */
void channelStats(const std::uint8_t* images, size_t imageBytes, const std::vector<std::uint32_t>& indices,
                  std::array<double, 3>& mean, std::array<double, 3>& stddev);

} // namespace faceatlas
