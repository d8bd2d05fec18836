#include "data/PrepareJob.h"

#include "data/ImageCache.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/Readers.h"
#include "data/RecordCache.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

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
    return {{"source", r.source},
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
            {"total_seconds", r.totalSeconds}};
}

json settingsJson(const PrepareParams& p)
{
    const auto& c = p.cleaning;
    return {{"size", p.size},
            {"drop_unreadable", c.dropUnreadable},
            {"drop_multiple_faces", c.dropMultipleFaces},
            {"filter_face_score", c.filterFaceScore},
            {"min_face_score", c.minFaceScore},
            {"filter_age", c.filterAge},
            {"age_min", c.ageMin},
            {"age_max", c.ageMax},
            {"min_image_size", c.minImageSize},
            {"val_fraction", c.valFraction},
            {"val_count", c.valCount},
            {"balance", c.balanceAges ? "age" : "none"},
            {"balance_size", c.balanceSize},
            {"seed", c.seed}};
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

    report("reading source", 0, 0);
    LoadedDataset dataset = openSource(p.source);
    rep.source = p.source;
    rep.recordsRead = dataset.records.size();
    rep.malformed = dataset.malformed;
    rep.malformedExamples = dataset.malformedExamples;
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
    std::vector<size_t> kept = applyFilters(records, probes, p.cleaning, rep.steps, rep.skippedFiles);

    // The image cache is keyed by what goes into it: the files (path, size, time), their order
    // and the image size. A matching cache in DIR is reused, so a second run starts at once.
    std::string keyText = "v1|" + std::to_string(p.size);
    for (size_t i : kept)
        keyText += "|" + records[i].path + "|" + std::to_string(probes[i].fileSize) + "|"
                   + std::to_string(probes[i].modifiedNs);
    const std::string imageKey = hexKey(fnv1a64(keyText));
    fs::create_directories(p.outDir);
    const fs::path manifestPath = p.outDir / PreparedDataset::kManifest;
    const fs::path imagesPath = p.outDir / PreparedDataset::kImages;

    std::vector<size_t> failed;
    json decodeSkipped = json::array();
    bool reuse = false;
    if (fs::is_regular_file(manifestPath) && fs::is_regular_file(imagesPath)) {
        try {
            const json old = json::parse(readFile(manifestPath));
            if (old.value("image_key", "") == imageKey) {
                failed = old.at("decode_failed").get<std::vector<size_t>>();
                const size_t expected = (kept.size() - failed.size()) * static_cast<size_t>(p.size) * p.size * 3;
                reuse = fs::file_size(imagesPath) == expected;
                if (reuse) {
                    decodeSkipped = old.at("decode_skipped");
                    for (const auto& s : decodeSkipped)
                        rep.skippedFiles.push_back(
                            {s.at("path").get<std::string>(), s.at("problem").get<std::string>()});
                }
            }
        } catch (const std::exception&) {
            reuse = false; // an unreadable old manifest only means we rebuild
        }
    }
    // The old manifest goes first, so a half-written folder is never taken for a finished one.
    std::error_code ec;
    fs::remove(manifestPath, ec);

    std::vector<std::string> keptPaths;
    std::vector<ImageProbe> keptProbes;
    keptPaths.reserve(kept.size());
    for (size_t i : kept) {
        keptPaths.push_back(records[i].path);
        keptProbes.push_back(probes[i]);
    }
    if (!reuse) {
        ImageCacheOptions cacheOptions;
        cacheOptions.size = p.size;
        cacheOptions.threads = p.threads;
        ImageCacheResult built = buildImageCache(keptPaths, keptProbes, imagesPath, cacheOptions, cancel, onProgress);
        if (built.cancelled) {
            fs::remove(imagesPath, ec);
            result.cancelled = true;
            return result;
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
    rep.imagesStored = kept.size();

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
    writeFileAtomic(p.outDir / PreparedDataset::kRecords, RecordCache::serialize(stored));
    PreparedDataset::writeSplit(p.outDir / PreparedDataset::kSplit, train32, val32);
    rep.totalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const json manifest = {{"format", "faceatlas-prepared"},
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
                           {"settings", settingsJson(p)},
                           {"normalization", {{"mean", mean}, {"std", stddev}}},
                           {"report", reportJson(rep)}};
    writeFileAtomic(manifestPath, manifest.dump(2) + "\n");
    return result;
}

std::string reportToJson(const PrepareReport& report, int indent)
{
    return reportJson(report).dump(indent);
}

} // namespace faceatlas
