#include "data/PrepareJob.h"

#include "data/FaceDetections.h"
#include "data/ImageCache.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareSteps.h"
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

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/file.h>
#include <unistd.h>

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

/** Per-channel mean and standard deviation (0-1 scale) over up to 4096 training images. */
void channelStats(const std::uint8_t* images, size_t imageBytes, const std::vector<std::uint32_t>& indices,
                  std::array<double, 3>& mean, std::array<double, 3>& stddev)
{
    std::vector<std::uint32_t> sample(indices);
    std::sort(sample.begin(), sample.end());
    sample.erase(std::unique(sample.begin(), sample.end()), sample.end());
    const size_t step = std::max<size_t>(1, sample.size() / 4096);
    double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
    size_t n = 0;
    for (size_t s = 0; s < sample.size(); s += step) {
        const std::uint8_t* p = images + static_cast<size_t>(sample[s]) * imageBytes;
        for (size_t i = 0; i < imageBytes; i += 3)
            for (int c = 0; c < 3; ++c) {
                const double v = p[i + c] / 255.0;
                sum[c] += v;
                sq[c] += v * v;
            }
        n += imageBytes / 3;
    }
    for (int c = 0; c < 3; ++c) {
        mean[c] = n ? sum[c] / n : 0.5;
        stddev[c] = n ? std::sqrt(std::max(1e-8, sq[c] / n - mean[c] * mean[c])) : 0.25;
    }
}

/** The failed rows of an old manifest, when they are a valid sorted list of positions below `kept`. */
std::optional<std::vector<size_t>> validFailedRows(const json& manifest, size_t kept)
{
    const auto& list = manifest.at("decode_failed");
    if (!list.is_array() || list.size() > kept)
        return std::nullopt;
    std::vector<size_t> failed;
    failed.reserve(list.size());
    for (const auto& v : list) {
        if (!v.is_number_unsigned())
            return std::nullopt;
        const auto row = v.get<std::uint64_t>();
        if (row >= kept || (!failed.empty() && row <= failed.back()))
            return std::nullopt;
        failed.push_back(static_cast<size_t>(row));
    }
    return failed;
}

/**
 * The quality columns of an old preparation whose image cache is reused: its quality.f32 when its
 * manifest names every column and the rows are the cache's (checked, hash included); else empty,
 * and they are measured again.
 */
std::vector<float> reusedQuality(const json& entry, const fs::path& file, size_t rows)
{
    if (!entry.is_object())
        return {};
    try {
        const std::uint64_t maxBytes = static_cast<std::uint64_t>(rows) * kQualityColumnCount * sizeof(float);
        FaceQuality old = parseQuality(entry, readFile(file, maxBytes), rows, displayPath(file));
        if (old.names.size() != kQualityColumnCount)
            return {};
        for (size_t k = 0; k < kQualityColumnCount; ++k)
            if (old.names[k] != qualityColumns()[k].name)
                return {};
        return std::move(old.values);
    } catch (const std::exception&) {
        return {}; // unreadable or another preparation's: measured again
    }
}

/**
 * Rewrites the image cache `file` (rows of `imageBytes`) with only the rows at `keep` (sorted), as
 * a new file renamed over it: the old one may be a hard link shared with the previous preparation,
 * which stays as it was. Streams row by row, so a cache of gigabytes needs no copy in memory.
 */
void keepImageRows(const fs::path& file, size_t imageBytes, const std::vector<size_t>& keep)
{
    const fs::path tmp = file.parent_path() / (file.filename().string() + ".kept");
    {
        const MappedFile images = MappedFile::openReadOnly(file);
        std::FILE* out = std::fopen(tmp.c_str(), "wb");
        if (!out)
            throw Error(displayPath(tmp) + ": cannot write (" + std::strerror(errno) + ")");
        bool ok = true;
        for (const size_t row : keep)
            ok = ok && std::fwrite(images.data() + row * imageBytes, 1, imageBytes, out) == imageBytes;
        ok = std::fflush(out) == 0 && ok;
        ok = std::fclose(out) == 0 && ok;
        if (!ok)
            throw Error(displayPath(tmp) + ": cannot write (" + std::strerror(errno) + ")");
    }
    fs::rename(tmp, file);
}

} // namespace

PrepareJob::PrepareJob(PrepareParams params)
    : m_params(std::move(params))
{
}

PrepareResult PrepareJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    const auto start = std::chrono::steady_clock::now();
    const auto report = [&](const char* stage, long long done, long long total) {
        if (onProgress)
            onProgress({stage, done, total});
    };
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

    report("reading source", 0, 0);
    LoadedDataset dataset = openSource(p.source);
    // A CSV's further columns are kept beside the records (columns.csv); read now, with the
    // records. They never fail a preparation: what is past the limits is dropped or cut, and said
    // in the report's column notes.
    const SourceColumnTable sourceColumns =
        dataset.kind == SourceKind::Csv ? readSourceColumns(fs::u8path(dataset.location)) : SourceColumnTable{};
    // The review is read now and applied once the records are final (after every face of each
    // picture was taken): its decisions may name one face of a group photo.
    const std::optional<ReviewFile> review = loadPrepareReview(p, dataset);
    if (review) {
        rep.reviewFile = displayPath(fs::absolute(p.review).lexically_normal());
        rep.reviewProblems = review->problems();
    }
    rep.source = p.source;
    rep.recordsRead = dataset.records.size();
    rep.malformed = dataset.malformed;
    rep.malformedExamples = dataset.malformedExamples;
    rep.columnNotes = sourceColumns.notes;
    const auto& records = dataset.records;
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }

    // Steps 1-5 need only metadata and image headers, so nothing is decoded that a step removes.
    std::vector<ImageProbe> probes(records.size());
    std::atomic<long long> probed{0};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        records.size(), p.threads,
        [&](size_t i) {
            probes[i] = probeImage(records[i].path);
            throttle("checking images", ++probed, static_cast<long long>(records.size()));
        },
        64);
    // Detection, the detector's findings, every face, the review and the steps: cleanRecords, which
    // the Dataset page's step preview runs too, so that its counts are these.
    CleanedRecords cleaned = cleanRecords(dataset, probes, p, review, FindFaces::Detect, cancel, onProgress);
    if (cleaned.cancelled) {
        result.cancelled = true;
        return result;
    }
    const Framing framing = cleaned.framing.framing;
    rep.framing = cleaned.framing;
    rep.review = cleaned.review;
    rep.steps = std::move(cleaned.steps);
    rep.skippedFiles = std::move(cleaned.skipped);
    std::vector<FaceFinding> findings = std::move(cleaned.findings);
    std::vector<size_t> kept = std::move(cleaned.kept);

    // The image cache is keyed by what goes into it: the files (path, size, time), their order
    // and the image size. A matching cache in DIR is reused, so a second run starts at once.
    // Aligned images also depend on how faces were found: the detector's version is in the key.
    std::string keyText = "v2|" + std::to_string(p.size) + "|" + framingName(framing);
    if (framing == Framing::Aligned)
        keyText += std::string("|") + faceDetectorVersion();
    for (size_t i : kept)
        keyText += "|" + recordKey(records[i]) + "|" + std::to_string(probes[i].fileSize) + "|"
                   + std::to_string(probes[i].modifiedNs);
    const std::string imageKey = hexKey(fnv1a64(keyText));

    // A prepared folder is never modified once its manifest exists: readers (the desktop
    // application's grid, a training job) may have its images memory-mapped. The new preparation
    // is written into a temporary folder beside it and swapped in by renames at the end; the old
    // folder's files are then unlinked, and a process that still maps them keeps reading them.
    StagedFolder staged(p.outDir, OutputKind::Prepared, outputRules);
    const fs::path& finalDir = staged.dir();
    const fs::path& workDir = staged.work();
    const fs::path oldManifestPath = finalDir / PreparedDataset::kManifest;
    const fs::path oldImagesPath = finalDir / PreparedDataset::kImages;
    const fs::path manifestPath = workDir / PreparedDataset::kManifest;
    const fs::path imagesPath = workDir / PreparedDataset::kImages;

    std::vector<size_t> failed;
    json decodeSkipped = json::array();
    json oldQuality; // the old preparation's "quality", when its image cache is reused
    bool reuse = false;
    if (fs::is_regular_file(oldManifestPath) && fs::is_regular_file(oldImagesPath)) {
        try {
            const json old = json::parse(readFile(oldManifestPath, PreparedDataset::kMaxManifestBytes));
            if (old.value("image_key", "") == imageKey) {
                // The old manifest is a file like any other: its rows are checked before they index.
                if (const auto oldFailed = validFailedRows(old, kept.size())) {
                    failed = *oldFailed;
                    const size_t expected = (kept.size() - failed.size()) * static_cast<size_t>(p.size) * p.size * 3;
                    reuse = fs::file_size(oldImagesPath) == expected;
                }
                if (reuse) {
                    oldQuality = old.value("quality", json());
                    decodeSkipped = old.at("decode_skipped");
                    std::vector<SkippedFile> skipped;
                    for (const auto& s : decodeSkipped)
                        skipped.push_back({s.at("path").get<std::string>(), s.at("problem").get<std::string>()});
                    // The image cache never changes once written: the new folder shares its file.
                    std::error_code linkError;
                    fs::create_hard_link(oldImagesPath, imagesPath, linkError);
                    if (linkError)
                        fs::copy_file(oldImagesPath, imagesPath);
                    rep.skippedFiles.insert(rep.skippedFiles.end(), skipped.begin(), skipped.end());
                }
            }
        } catch (const std::exception&) {
            reuse = false; // an unreadable old manifest only means we rebuild
            failed.clear();
            decodeSkipped = json::array();
            std::error_code ec;
            fs::remove(imagesPath, ec);
        }
    }

    std::vector<std::string> keptPaths;
    keptPaths.reserve(kept.size());
    for (size_t i : kept)
        keptPaths.push_back(records[i].path);
    std::vector<FaceFinding> keptFindings;
    if (!findings.empty()) {
        keptFindings.reserve(kept.size());
        for (size_t i : kept)
            keptFindings.push_back(findings[i]);
    }
    if (!reuse) {
        ImageCacheOptions cacheOptions;
        cacheOptions.size = p.size;
        cacheOptions.threads = p.threads;
        cacheOptions.findings = keptFindings.empty() ? nullptr : &keptFindings;
        ImageCacheResult built = buildImageCache(keptPaths, imagesPath, cacheOptions, cancel, onProgress);
        if (built.cancelled) {
            result.cancelled = true;
            return result; // the temporary folder goes; the old preparation was never touched
        }
        failed = built.failed;
        rep.decodeSeconds = built.seconds;
        for (const auto& s : built.skipped) {
            rep.skippedFiles.push_back(s);
            decodeSkipped.push_back({{"path", s.path}, {"problem", s.problem}});
        }
    } else {
        rep.imagesReused = true;
    }
    // Files that failed to decode count as unreadable (step 1); every later step kept them, so
    // only the running totals change.
    if (!failed.empty()) {
        for (auto& step : rep.steps)
            step.remaining -= failed.size();
        rep.steps.front().removed += failed.size();
        std::vector<size_t> survivors;
        survivors.reserve(kept.size() - failed.size());
        size_t f = 0;
        for (size_t k = 0; k < kept.size(); ++k) {
            if (f < failed.size() && failed[f] == k) {
                ++f;
                continue;
            }
            survivors.push_back(kept[k]);
        }
        kept.swap(survivors);
    }
    // The quality columns of each stored face (images.u8's rows, in order): the old preparation's,
    // with its image cache, when it measured them; else measured now on the stored faces.
    const size_t imageBytes = static_cast<size_t>(p.size) * p.size * 3;
    std::vector<float> quality;
    if (reuse)
        quality = reusedQuality(oldQuality, finalDir / kQualityFile, kept.size());
    if (quality.empty() && !kept.empty()) {
        const auto qualityStart = std::chrono::steady_clock::now();
        {
            const MappedFile images = MappedFile::openReadOnly(imagesPath);
            if (images.size() != kept.size() * imageBytes)
                throw Error(displayPath(imagesPath) + ": the image cache is not one row per stored face");
            quality = measureQuality(images.data(), kept.size(), p.size, p.threads, cancel, onProgress);
        }
        if (quality.empty()) {
            result.cancelled = true;
            return result;
        }
        rep.qualitySeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - qualityStart).count();
    }
    // The quality steps (off by default) last, on the stored faces: what they remove leaves the
    // image cache, the quality rows and the records together.
    if (p.quality.any()) {
        std::vector<size_t> positions(kept.size());
        for (size_t i = 0; i < positions.size(); ++i)
            positions[i] = i;
        const std::vector<size_t> keep = applyQualitySteps(quality, positions, p.quality, rep.steps);
        if (keep.size() < kept.size()) {
            keepImageRows(imagesPath, imageBytes, keep);
            std::vector<float> keptQuality;
            std::vector<size_t> keptRecords;
            keptQuality.reserve(keep.size() * kQualityColumnCount);
            keptRecords.reserve(keep.size());
            for (const size_t k : keep) {
                keptQuality.insert(keptQuality.end(),
                                   quality.begin() + static_cast<std::ptrdiff_t>(k * kQualityColumnCount),
                                   quality.begin() + static_cast<std::ptrdiff_t>((k + 1) * kQualityColumnCount));
                keptRecords.push_back(kept[k]);
            }
            quality.swap(keptQuality);
            kept.swap(keptRecords);
        }
    }
    rep.imagesStored = kept.size();
    if (framing == Framing::Aligned)
        for (size_t i : kept) {
            const int faces = findings[i].faces;
            rep.framing.found += faces > 0;
            rep.framing.notFound += faces == 0;
            rep.framing.several += faces > 1;
        }

    // Split and resample over positions in the stored order (0..kept.size()-1).
    std::vector<Record> stored;
    stored.reserve(kept.size());
    for (size_t i : kept)
        stored.push_back(records[i]);
    std::vector<size_t> positions(kept.size());
    for (size_t i = 0; i < positions.size(); ++i)
        positions[i] = i;
    std::vector<size_t> train, val;
    splitTrainVal(positions, p.cleaning, train, val);
    rep.trainUnique = train.size();
    rep.ageHistogramBefore = ageHistogram(stored, train);
    if (p.cleaning.balanceAges)
        train = balanceByAge(stored, train, p.cleaning.balanceSize, p.cleaning.seed);
    rep.ageHistogramAfter = ageHistogram(stored, train);
    rep.train = train.size();
    rep.val = val.size();

    report("writing", 0, 0);
    const std::vector<std::uint32_t> train32(train.begin(), train.end()), val32(val.begin(), val.end());
    std::array<double, 3> mean{}, stddev{};
    {
        const MappedFile images = MappedFile::openReadOnly(imagesPath);
        channelStats(images.data(), static_cast<size_t>(p.size) * p.size * 3, train32, mean, stddev);
    }
    writeFileAtomic(workDir / PreparedDataset::kRecords, RecordCache::serialize(stored));
    if (framing == Framing::Aligned) {
        // The 68 landmarks of each stored face, (x, y) in its original image's pixels, NaN where no
        // face was found: N x 136 float32, in the stored order.
        std::string landmarks;
        landmarks.reserve(kept.size() * sizeof(FaceFinding::landmarks));
        for (size_t i : kept)
            landmarks.append(reinterpret_cast<const char*>(findings[i].landmarks.data()),
                             sizeof(FaceFinding::landmarks));
        writeFileAtomic(workDir / PreparedDataset::kLandmarks, landmarks);
    }
    PreparedDataset::writeSplit(workDir / PreparedDataset::kSplit, train32, val32);
    const SourceColumns columns = columnsFor(sourceColumns, stored);
    std::string columnsCsv;
    if (!columns.empty()) {
        columnsCsv = sourceColumnsCsv(columns);
        writeFileAtomic(workDir / kSourceColumnsFile, columnsCsv);
    }
    const std::string qualityFile = qualityBytes(quality);
    writeFileAtomic(workDir / kQualityFile, qualityFile);
    rep.totalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    json manifest = {{"format", "faceatlas-prepared"},
                     {"version", 1},
                     {"source", p.source},
                     {"source_kind", sourceKindName(dataset.kind)},
                     {"location", dataset.location},
                     {"size", p.size},
                     {"count", kept.size()},
                     {"created", utcTimestamp()},
                     {"image_key", imageKey},
                     {"decode_failed", failed},
                     {"decode_skipped", decodeSkipped},
                     {"settings", settingsJson(p, framing, review)},
                     {"normalization", {{"mean", mean}, {"std", stddev}}},
                     {"report", reportJson(rep)}};
    // Named with its hash only when there are columns: the fingerprint (the manifest's hash) then
    // tells preparations with other columns apart, and leaves those without any as they were.
    if (!columns.empty())
        manifest["columns"] = sourceColumnsManifest(columns, columnsCsv);
    manifest["quality"] = qualityManifest(kept.size(), qualityFile);
    // File names need not be UTF-8: such bytes are written as U+FFFD rather than failing here.
    writeFileAtomic(manifestPath, jsonText(manifest, 2) + "\n");
    // Finished: a Cancel that comes now does not throw the result away.
    staged.commit();
    return result;
}

std::string reportToJson(const PrepareReport& report, int indent)
{
    return jsonText(reportJson(report), indent);
}

} // namespace faceatlas
