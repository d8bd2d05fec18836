#include "data/PrepareStore.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/ImageCache.h"
#include "data/PreparedDataset.h"
#include "data/QualityMetrics.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/MappedFile.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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
            throw Error(displayPath(tmp) + ": cannot write (" + errnoText(errno) + ")");
        bool ok = true;
        for (const size_t row : keep)
            ok = ok && std::fwrite(images.data() + row * imageBytes, 1, imageBytes, out) == imageBytes;
        ok = std::fflush(out) == 0 && ok;
        ok = std::fclose(out) == 0 && ok;
        if (!ok)
            throw Error(displayPath(tmp) + ": cannot write (" + errnoText(errno) + ")");
    }
    fs::rename(tmp, file);
}

/** The old preparation's image cache, when its key and rows match: shared into the staged folder. */
std::optional<StoredImages> reusedImages(const ImageStore& store, size_t keptCount, const PrepareParams& p)
{
    const fs::path oldManifest = store.oldDir / PreparedDataset::kManifest;
    const fs::path oldImages = store.oldDir / PreparedDataset::kImages;
    const fs::path images = store.workDir / PreparedDataset::kImages;
    if (!fs::is_regular_file(oldManifest) || !fs::is_regular_file(oldImages))
        return std::nullopt;
    try {
        const json old = json::parse(readFile(oldManifest, PreparedDataset::kMaxManifestBytes));
        if (old.value("image_key", "") != store.key)
            return std::nullopt;
        // The old manifest is a file like any other: its rows are checked before they index.
        const auto oldFailed = validFailedRows(old, keptCount);
        if (!oldFailed)
            return std::nullopt;
        const size_t expected = (keptCount - oldFailed->size()) * static_cast<size_t>(p.size) * p.size * 3;
        if (fs::file_size(oldImages) != expected)
            return std::nullopt;
        StoredImages s;
        s.reused = true;
        s.failed = *oldFailed;
        s.oldQuality = old.value("quality", json());
        s.decodeSkipped = old.at("decode_skipped");
        for (const auto& skipped : s.decodeSkipped)
            s.skipped.push_back({skipped.at("path").get<std::string>(), skipped.at("problem").get<std::string>()});
        // The image cache never changes once written: the new folder shares its file.
        std::error_code linkError;
        fs::create_hard_link(oldImages, images, linkError);
        if (linkError)
            fs::copy_file(oldImages, images);
        return s;
    } catch (const std::exception&) {
        std::error_code ec; // an unreadable old manifest only means we rebuild
        fs::remove(images, ec);
        return std::nullopt;
    }
}

} // namespace

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

std::string imageCacheKey(const PrepareParams& p, Framing framing, const std::vector<Record>& records,
                          const std::vector<ImageProbe>& probes, const std::vector<size_t>& kept)
{
    std::string keyText = "v2|" + std::to_string(p.size) + "|" + framingName(framing);
    if (framing == Framing::Aligned)
        keyText += std::string("|") + faceDetectorVersion();
    for (size_t i : kept)
        keyText += "|" + recordKey(records[i]) + "|" + std::to_string(probes[i].fileSize) + "|"
                   + std::to_string(probes[i].modifiedNs);
    return hexKey(fnv1a64(keyText));
}

StoredImages storeImages(const ImageStore& store, const std::vector<Record>& records, const std::vector<size_t>& kept,
                         const std::vector<FaceFinding>& findings, const PrepareParams& p, const CancelToken& cancel,
                         const std::function<void(const JobProgress&)>& onProgress)
{
    if (auto reused = reusedImages(store, kept.size(), p))
        return std::move(*reused);
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
    ImageCacheOptions options;
    options.size = p.size;
    options.threads = p.threads;
    options.findings = keptFindings.empty() ? nullptr : &keptFindings;
    ImageCacheResult built =
        buildImageCache(keptPaths, store.workDir / PreparedDataset::kImages, options, cancel, onProgress);
    StoredImages s;
    s.cancelled = built.cancelled;
    s.failed = std::move(built.failed);
    s.decodeSeconds = built.seconds;
    for (const auto& skipped : built.skipped) {
        s.skipped.push_back(skipped);
        s.decodeSkipped.push_back({{"path", skipped.path}, {"problem", skipped.problem}});
    }
    return s;
}

void dropFailedDecodes(const std::vector<size_t>& failed, std::vector<size_t>& kept, std::vector<StepReport>& steps)
{
    if (failed.empty())
        return;
    for (auto& step : steps)
        step.remaining -= failed.size();
    steps.front().removed += failed.size();
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

StoredQuality storedQuality(const ImageStore& store, const StoredImages& images, size_t count, const PrepareParams& p,
                            const CancelToken& cancel, const std::function<void(const JobProgress&)>& onProgress)
{
    StoredQuality q;
    if (images.reused)
        q.values = reusedQuality(images.oldQuality, store.oldDir / kQualityFile, count);
    if (!q.values.empty() || count == 0)
        return q;
    const auto start = std::chrono::steady_clock::now();
    const fs::path file = store.workDir / PreparedDataset::kImages;
    const size_t imageBytes = static_cast<size_t>(p.size) * p.size * 3;
    const MappedFile mapped = MappedFile::openReadOnly(file);
    if (mapped.size() != count * imageBytes)
        throw Error(displayPath(file) + ": the image cache is not one row per stored face");
    q.values = measureQuality(mapped.data(), count, p.size, p.threads, cancel, onProgress);
    q.cancelled = q.values.empty();
    q.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return q;
}

void applyQualityFilter(const PrepareParams& p, const fs::path& imagesFile, StoredQuality& quality,
                        std::vector<size_t>& kept, std::vector<StepReport>& steps)
{
    if (!p.quality.any())
        return;
    std::vector<size_t> positions(kept.size());
    for (size_t i = 0; i < positions.size(); ++i)
        positions[i] = i;
    const std::vector<size_t> keep = applyQualitySteps(quality.values, positions, p.quality, steps);
    if (keep.size() == kept.size())
        return;
    keepImageRows(imagesFile, static_cast<size_t>(p.size) * p.size * 3, keep);
    std::vector<float> keptQuality;
    std::vector<size_t> keptRecords;
    keptQuality.reserve(keep.size() * kQualityColumnCount);
    keptRecords.reserve(keep.size());
    for (const size_t k : keep) {
        keptQuality.insert(keptQuality.end(),
                           quality.values.begin() + static_cast<std::ptrdiff_t>(k * kQualityColumnCount),
                           quality.values.begin() + static_cast<std::ptrdiff_t>((k + 1) * kQualityColumnCount));
        keptRecords.push_back(kept[k]);
    }
    quality.values.swap(keptQuality);
    kept.swap(keptRecords);
}

SplitFaces splitAndBalance(const std::vector<Record>& records, const std::vector<size_t>& kept,
                           const CleaningOptions& cleaning, PrepareReport& rep)
{
    SplitFaces s;
    s.stored.reserve(kept.size());
    for (size_t i : kept)
        s.stored.push_back(records[i]);
    std::vector<size_t> positions(kept.size());
    for (size_t i = 0; i < positions.size(); ++i)
        positions[i] = i;
    std::vector<size_t> train, val;
    splitTrainVal(positions, cleaning, train, val);
    rep.trainUnique = train.size();
    rep.ageHistogramBefore = ageHistogram(s.stored, train);
    if (cleaning.balanceAges)
        train = balanceByAge(s.stored, train, cleaning.balanceSize, cleaning.seed);
    rep.ageHistogramAfter = ageHistogram(s.stored, train);
    rep.train = train.size();
    rep.val = val.size();
    s.train.assign(train.begin(), train.end());
    s.val.assign(val.begin(), val.end());
    return s;
}

} // namespace faceatlas
