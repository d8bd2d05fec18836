#include "data/PrepareJob.h"

#include "data/FaceDetections.h"
#include "data/ImageCache.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareSteps.h"
#include "data/PrepareStore.h"
#include "data/QualityMetrics.h"
#include "data/Readers.h"
#include "data/RecordCache.h"
#include "data/SourceColumns.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json histogramJson(const std::map<int, size_t>& histogram)
{
    json out = json::object();
    for (const auto& [age, count] : histogram)
        out[std::to_string(age)] = count;
    return out;
}

json reportJson(const PrepareReport& r)
{
    json steps = json::array();
    for (const auto& s : r.steps)
        steps.push_back({{"name", s.name},
                         {"removed", s.removed},
                         {"remaining", s.remaining},
                         {"not_applicable", s.notApplicable},
                         {"enabled", s.enabled}});
    json skipped = json::array();
    for (const auto& s : r.skippedFiles)
        skipped.push_back({{"path", s.path}, {"problem", s.problem}});
    json out = {{"source", r.source},
                {"records_read", r.recordsRead},
                {"malformed", r.malformed},
                {"malformed_examples", r.malformedExamples},
                {"steps", steps},
                {"train", r.train},
                {"train_unique", r.trainUnique},
                {"val", r.val},
                {"age_histogram_before", histogramJson(r.ageHistogramBefore)},
                {"age_histogram_after", histogramJson(r.ageHistogramAfter)},
                {"skipped_files", skipped},
                {"images_stored", r.imagesStored},
                {"images_reused", r.imagesReused},
                {"decode_seconds", r.decodeSeconds},
                {"quality_seconds", r.qualitySeconds},
                {"total_seconds", r.totalSeconds}};
    const FramingReport& f = r.framing;
    out["framing"] = {{"method", framingName(f.framing)},
                      {"looked", f.looked},
                      {"found", f.found},
                      {"not_found", f.notFound},
                      {"several", f.several},
                      {"faces", f.everyFace ? "every" : "best"},
                      {"more_faces", f.moreFaces},
                      {"detected", f.detected},
                      {"reused", f.reused},
                      {"seconds", f.seconds}};
    if (!r.columnNotes.empty()) // only then: a preparation without them keeps its manifest (and fingerprint) as before
        out["column_notes"] = r.columnNotes;
    if (!r.reviewFile.empty())
        out["review"] = {{"file", r.reviewFile},
                         {"decisions", r.review.decisions},
                         {"kept", r.review.kept},
                         {"age_corrected", r.review.ageCorrected},
                         {"gender_corrected", r.review.genderCorrected},
                         {"excluded", r.review.excluded},
                         {"unmatched", r.review.unmatched},
                         {"problems", r.reviewProblems}};
    return out;
}

json settingsJson(const PrepareParams& p, Framing framing, const std::optional<ReviewFile>& review)
{
    const auto& c = p.cleaning;
    json settings = {{"size", p.size},
                     {"framing", framingName(framing)},
                     {"faces", p.everyFace ? "every" : "best"},
                     {"drop_unreadable", c.dropUnreadable},
                     {"drop_multiple_faces", c.dropMultipleFaces},
                     {"filter_face_score", c.filterFaceScore},
                     {"min_face_score", c.minFaceScore},
                     {"min_detector_score", c.minDetectorScore},
                     {"filter_age", c.filterAge},
                     {"age_min", c.ageMin},
                     {"age_max", c.ageMax},
                     {"min_image_size", c.minImageSize},
                     {"max_yaw", c.maxYaw},
                     {"min_face_size", c.minFaceSize},
                     {"val_fraction", c.valFraction},
                     {"val_count", c.valCount},
                     {"balance", c.balanceAges ? "age" : "none"},
                     {"balance_size", c.balanceSize},
                     {"seed", c.seed}};
    // Only when one is on: a preparation without quality steps keeps its settings as before.
    if (p.quality.any()) {
        json steps = json::object();
        for (size_t s = 0; s < kQualityStepCount; ++s)
            if (!std::isnan(p.quality.threshold[s]))
                steps[qualitySteps()[s].option] = p.quality.threshold[s];
        settings["quality_steps"] = steps;
    }
    if (!p.review.empty())
        settings["review"] = displayPath(std::filesystem::absolute(p.review).lexically_normal());
    // Which decisions were applied: the Dataset page shows this preparation's step counts only
    // while the review file still holds these (a decision since then changes what Prepare removes).
    if (review)
        settings["review_decisions"] = reviewFingerprint(*review);
    return settings;
}

} // namespace

PrepareJob::PrepareJob(PrepareParams params)
    : m_params(std::move(params))
{
}

namespace {

/** The source as Prepare reads it: its records, a CSV's further columns and the review to apply. */
struct SourceRead {
    LoadedDataset dataset;
    SourceColumnTable columns;
    std::optional<ReviewFile> review;
};

/** Reads the source, its further columns and the review file; fills the report's reading counts. */
SourceRead readSource(const PrepareParams& p, PrepareReport& rep)
{
    SourceRead read{openSource(p.source), {}, std::nullopt};
    // A CSV's further columns are kept beside the records (columns.csv); read now, with the
    // records. They never fail a preparation: what is past the limits is dropped or cut, and said
    // in the report's column notes.
    if (read.dataset.kind == SourceKind::Csv)
        read.columns = readSourceColumns(fs::u8path(read.dataset.location));
    // The review is read now and applied once the records are final (after every face of each
    // picture was taken): its decisions may name one face of a group photo.
    read.review = loadPrepareReview(p, read.dataset);
    if (read.review) {
        rep.reviewFile = displayPath(fs::absolute(p.review).lexically_normal());
        rep.reviewProblems = read.review->problems();
    }
    rep.source = p.source;
    rep.recordsRead = read.dataset.records.size();
    rep.malformed = read.dataset.malformed;
    rep.malformedExamples = read.dataset.malformedExamples;
    rep.columnNotes = read.columns.notes;
    return read;
}

/** Image headers of every record (the steps up to the detector need only these and the metadata). */
std::vector<ImageProbe> probeImages(const std::vector<Record>& records, int threads,
                                    const std::function<void(const JobProgress&)>& onProgress)
{
    std::vector<ImageProbe> probes(records.size());
    std::atomic<long long> probed{0};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        records.size(), threads,
        [&](size_t i) {
            probes[i] = probeImage(records[i].path);
            throttle("checking images", ++probed, static_cast<long long>(records.size()));
        },
        64);
    return probes;
}

/** Aligned framing: how many stored faces were found, not found, or one of several. */
void countFraming(const std::vector<FaceFinding>& findings, const std::vector<size_t>& kept, FramingReport& framing)
{
    if (framing.framing != Framing::Aligned)
        return;
    for (size_t i : kept) {
        const int faces = findings[i].faces;
        framing.found += faces > 0;
        framing.notFound += faces == 0;
        framing.several += faces > 1;
    }
}

/** What the prepared folder holds, gathered by the steps before it is written. */
struct FolderContents {
    const SourceRead& source;
    const std::vector<FaceFinding>& findings;
    const std::vector<size_t>& kept;
    const SplitFaces& split;
    const StoredImages& images;
    const StoredQuality& quality;
    const std::string& imageKey;
};

/**
 * Writes the staged folder's records, landmarks, split, further columns, quality and, last, its
 * manifest (the image cache is there already). The manifest's hash is the preparation's fingerprint.
 */
void writeFolder(const fs::path& workDir, const PrepareParams& p, const FolderContents& c, PrepareReport& rep,
                 const std::chrono::steady_clock::time_point& start)
{
    const Framing framing = rep.framing.framing;
    std::array<double, 3> mean{}, stddev{};
    {
        const MappedFile images = MappedFile::openReadOnly(workDir / PreparedDataset::kImages);
        channelStats(images.data(), static_cast<size_t>(p.size) * p.size * 3, c.split.train, mean, stddev);
    }
    writeFileAtomic(workDir / PreparedDataset::kRecords, RecordCache::serialize(c.split.stored));
    if (framing == Framing::Aligned) {
        // The 68 landmarks of each stored face, (x, y) in its original image's pixels, NaN where no
        // face was found: N x 136 float32, in the stored order.
        std::string landmarks;
        landmarks.reserve(c.kept.size() * sizeof(FaceFinding::landmarks));
        for (size_t i : c.kept)
            landmarks.append(reinterpret_cast<const char*>(c.findings[i].landmarks.data()),
                             sizeof(FaceFinding::landmarks));
        writeFileAtomic(workDir / PreparedDataset::kLandmarks, landmarks);
    }
    PreparedDataset::writeSplit(workDir / PreparedDataset::kSplit, c.split.train, c.split.val);
    const SourceColumns columns = columnsFor(c.source.columns, c.split.stored);
    std::string columnsCsv;
    if (!columns.empty()) {
        columnsCsv = sourceColumnsCsv(columns);
        writeFileAtomic(workDir / kSourceColumnsFile, columnsCsv);
    }
    const std::string qualityFile = qualityBytes(c.quality.values);
    writeFileAtomic(workDir / kQualityFile, qualityFile);
    rep.totalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    json manifest = {{"format", "faceatlas-prepared"},
                     {"version", 1},
                     {"source", p.source},
                     {"source_kind", sourceKindName(c.source.dataset.kind)},
                     {"location", c.source.dataset.location},
                     {"size", p.size},
                     {"count", c.kept.size()},
                     {"created", utcTimestamp()},
                     {"image_key", c.imageKey},
                     {"decode_failed", c.images.failed},
                     {"decode_skipped", c.images.decodeSkipped},
                     {"settings", settingsJson(p, framing, c.source.review)},
                     {"normalization", {{"mean", mean}, {"std", stddev}}},
                     {"report", reportJson(rep)}};
    // Named with its hash only when there are columns: the fingerprint (the manifest's hash) then
    // tells preparations with other columns apart, and leaves those without any as they were.
    if (!columns.empty())
        manifest["columns"] = sourceColumnsManifest(columns, columnsCsv);
    manifest["quality"] = qualityManifest(c.kept.size(), qualityFile);
    // File names need not be UTF-8: such bytes are written as U+FFFD rather than failing here.
    writeFileAtomic(workDir / PreparedDataset::kManifest, jsonText(manifest, 2) + "\n");
}

} // namespace

PrepareResult PrepareJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    const auto start = std::chrono::steady_clock::now();
    PrepareResult result;
    PrepareReport& rep = result.report;
    const PrepareParams& p = m_params;
    if (p.size < 8 || p.size > 1024)
        throw Error("--size must be between 8 and 1024 pixels, got " + std::to_string(p.size));
    if (p.outDir.empty())
        throw Error("an output folder is required");
    // The output-folder contract first, so a wrong --out is refused before any work: a new or empty
    // folder or an earlier preparation, never the source's own folder nor one that holds it.
    const OutputRules outputRules{p.force, {sourceFolder(p.source)}};
    checkOutputFolder(p.outDir, OutputKind::Prepared, outputRules);
    if (onProgress)
        onProgress({"reading source", 0, 0});
    SourceRead source = readSource(p, rep);
    result.cancelled = cancel.isCancelled();
    if (result.cancelled)
        return result;
    // Detection, the detector's findings, every face, the review and the steps: cleanRecords, which
    // the Dataset page's step preview runs too, so that its counts are these. Until then nothing is
    // decoded that a step removes.
    std::vector<ImageProbe> probes = probeImages(source.dataset.records, p.threads, onProgress);
    CleanedRecords cleaned =
        cleanRecords(source.dataset, probes, p, source.review, FindFaces::Detect, cancel, onProgress);
    if ((result.cancelled = cleaned.cancelled))
        return result;
    rep.framing = cleaned.framing;
    rep.review = cleaned.review;
    rep.steps = std::move(cleaned.steps);
    rep.skippedFiles = std::move(cleaned.skipped);
    std::vector<size_t> kept = std::move(cleaned.kept);
    const auto& records = source.dataset.records;

    // A prepared folder is never modified once its manifest exists: readers (the desktop
    // application's grid, a training job) may have its images memory-mapped. The new preparation
    // is written into a temporary folder beside it and swapped in by renames at the end; the old
    // folder's files are then unlinked, and a process that still maps them keeps reading them.
    StagedFolder staged(p.outDir, OutputKind::Prepared, outputRules);
    const ImageStore store{staged.dir(), staged.work(), imageCacheKey(p, rep.framing.framing, records, probes, kept)};
    const StoredImages images = storeImages(store, records, kept, cleaned.findings, p, cancel, onProgress);
    if ((result.cancelled = images.cancelled))
        return result; // the temporary folder goes; the old preparation was never touched
    rep.imagesReused = images.reused;
    rep.decodeSeconds = images.decodeSeconds;
    rep.skippedFiles.insert(rep.skippedFiles.end(), images.skipped.begin(), images.skipped.end());
    dropFailedDecodes(images.failed, kept, rep.steps);
    StoredQuality quality = storedQuality(store, images, kept.size(), p, cancel, onProgress);
    if ((result.cancelled = quality.cancelled))
        return result;
    rep.qualitySeconds = quality.seconds;
    applyQualityFilter(p, store.workDir / PreparedDataset::kImages, quality, kept, rep.steps);
    rep.imagesStored = kept.size();
    countFraming(cleaned.findings, kept, rep.framing);
    const SplitFaces split = splitAndBalance(records, kept, p.cleaning, rep);
    if (onProgress)
        onProgress({"writing", 0, 0});
    writeFolder(store.workDir, p, {source, cleaned.findings, kept, split, images, quality, store.key}, rep, start);
    // Finished: a Cancel that comes now does not throw the result away.
    staged.commit();
    return result;
}

std::string reportToJson(const PrepareReport& report, int indent)
{
    return jsonText(reportJson(report), indent);
}

} // namespace faceatlas
