#include "data/PreparedDataset.h"

#include "data/RecordCache.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/MappedFile.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unistd.h>

namespace faceatlas {

namespace {
constexpr char kSplitMagic[8] = {'F', 'A', 'S', 'P', 'L', 'I', 'T', '1'};
}

void PreparedDataset::writeSplit(const std::filesystem::path& file, const std::vector<std::uint32_t>& train,
                                 const std::vector<std::uint32_t>& val)
{
    std::string bytes(kSplitMagic, sizeof kSplitMagic);
    const std::uint64_t counts[2] = {train.size(), val.size()};
    bytes.append(reinterpret_cast<const char*>(counts), sizeof counts);
    bytes.append(reinterpret_cast<const char*>(train.data()), train.size() * sizeof(std::uint32_t));
    bytes.append(reinterpret_cast<const char*>(val.data()), val.size() * sizeof(std::uint32_t));
    writeFileAtomic(file, bytes);
}

PreparedDataset::Manifest PreparedDataset::parseManifest(const std::string& text, const std::string& what)
{
    Manifest m;
    try {
        // Bounded before it is built: its lists of skipped rows may be long, its nesting never deep.
        const nlohmann::json manifest = parseJsonBounded(text, what, 16, 20'000'000);
        if (!manifest.is_object() || manifest.value("format", "") != "faceatlas-prepared")
            throw Error(what + ": not a FaceAtlas prepared dataset manifest");
        // Checked before any size is computed from it: image bytes are size * size * 3.
        const auto& size = manifest.at("size");
        if (!size.is_number_integer() || size.get<std::int64_t>() < kMinSize || size.get<std::int64_t>() > kMaxSize)
            throw Error(what + ": image size " + jsonText(size) + " is not a whole number from "
                        + std::to_string(kMinSize) + " to " + std::to_string(kMaxSize));
        m.size = static_cast<int>(size.get<std::int64_t>());
        m.source = manifest.value("source", "");
        const auto& norm = manifest.at("normalization");
        for (int c = 0; c < 3; ++c) {
            // As doubles first: 1e300 converted to float would be undefined behaviour.
            const double mean = norm.at("mean").at(c).get<double>(), stddev = norm.at("std").at(c).get<double>();
            if (!(std::fabs(mean) <= 1e6) || !(stddev >= 0 && stddev <= 1e6))
                throw Error(what + ": invalid normalization (mean and std must be within +-1e6, std not negative)");
            m.mean[c] = static_cast<float>(mean);
            m.stddev[c] = static_cast<float>(stddev);
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(what + ": invalid manifest: " + e.what());
    }
    return m;
}

void PreparedDataset::parseSplit(const std::string& split, size_t count, std::vector<std::uint32_t>& train,
                                 std::vector<std::uint32_t>& val, const std::string& what)
{
    std::uint64_t counts[2] = {0, 0};
    if (split.size() < sizeof kSplitMagic + sizeof counts
        || std::memcmp(split.data(), kSplitMagic, sizeof kSplitMagic) != 0)
        throw Error(what + ": not a split file");
    std::memcpy(counts, split.data() + sizeof kSplitMagic, sizeof counts);
    const size_t header = sizeof kSplitMagic + sizeof counts;
    const size_t room = (split.size() - header) / sizeof(std::uint32_t);
    if (counts[0] > room || counts[1] > room - counts[0]
        || split.size() != header + (counts[0] + counts[1]) * sizeof(std::uint32_t))
        throw Error(what + ": truncated split file (its counts do not match its size)");
    train.resize(counts[0]);
    val.resize(counts[1]);
    // memcpy with a null vector pointer is undefined even for 0 bytes.
    if (counts[0] > 0)
        std::memcpy(train.data(), split.data() + header, counts[0] * sizeof(std::uint32_t));
    if (counts[1] > 0)
        std::memcpy(val.data(), split.data() + header + counts[0] * sizeof(std::uint32_t),
                    counts[1] * sizeof(std::uint32_t));
    for (const auto* list : {&train, &val})
        for (std::uint32_t i : *list)
            if (i >= count)
                throw Error(what + ": index " + std::to_string(i) + " is out of range");
}

void PreparedDataset::checkImagesSize(size_t bytes, size_t count, int size, const std::string& what)
{
    if (size < kMinSize || size > kMaxSize)
        throw Error(what + ": image size " + std::to_string(size) + " out of range");
    // size <= 1024, so one image is at most 3 MiB; the product with the count is checked.
    const size_t imageBytes = static_cast<size_t>(size) * static_cast<size_t>(size) * 3;
    size_t expected = 0;
    if (__builtin_mul_overflow(count, imageBytes, &expected) || bytes != expected)
        throw Error(what + ": holds " + std::to_string(bytes) + " bytes, expected " + std::to_string(count)
                    + " images of " + std::to_string(size) + "x" + std::to_string(size));
}

const float* PreparedDataset::landmarks(size_t i) const
{
    constexpr size_t kRow = 136;
    if (i >= count() || m_landmarks.size() != count() * kRow * sizeof(float))
        return nullptr;
    const float* row = reinterpret_cast<const float*>(m_landmarks.data()) + i * kRow;
    for (size_t k = 0; k < kRow; ++k)
        if (!std::isfinite(row[k]))
            return nullptr; // no face was found there
    return row;
}

void PreparedDataset::throwImageIndex(size_t i) const
{
    throw std::out_of_range("PreparedDataset::image: index " + std::to_string(i) + " of " + std::to_string(count())
                            + " images");
}

PreparedDataset PreparedDataset::openFrom(const OpenFolder& folder)
{
    const std::filesystem::path& dir = folder.path();
    const auto manifestPath = dir / kManifest;
    if (!folder.hasFile(kManifest)) {
        if (folder.hasEntry(kManifest))
            ::close(folder.openFile(kManifest)); // throws, naming what is there instead (a FIFO, a folder)
        throw Error(displayPath(manifestPath)
                    + ": missing; the folder is not a prepared dataset or its preparation did not finish");
    }
    PreparedDataset data;
    data.m_dir = std::filesystem::absolute(dir).lexically_normal();
    data.m_manifest = folder.read(kManifest, kMaxManifestBytes);
    const Manifest manifest = parseManifest(data.m_manifest, displayPath(manifestPath));
    data.m_size = manifest.size;
    data.m_source = manifest.source;
    data.m_mean = manifest.mean;
    data.m_std = manifest.stddev;

    const auto recordsPath = dir / kRecords;
    std::string recordsProblem;
    auto records = RecordCache::deserialize(folder.read(kRecords), &recordsProblem);
    if (!records)
        throw Error(displayPath(recordsPath) + ": corrupt record file: " + recordsProblem);
    data.m_records = std::move(*records);

    data.m_images = MappedFile::openReadOnly(folder, kImages);
    checkImagesSize(data.m_images.size(), data.m_records.size(), data.m_size, displayPath(dir / kImages));

    // Landmarks are extra: a folder without them (centre-cropped, or older) or with a file of the
    // wrong size opens without them.
    constexpr size_t kRowBytes = 136 * sizeof(float);
    if (!data.m_records.empty()
        && folder.fileSize(kLandmarks) == static_cast<std::int64_t>(data.m_records.size() * kRowBytes))
        data.m_landmarks = MappedFile::openReadOnly(folder, kLandmarks);

    parseSplit(folder.read(kSplit), data.m_records.size(), data.m_train, data.m_val, displayPath(dir / kSplit));
    return data;
}

PreparedDataset PreparedDataset::open(const std::filesystem::path& dir)
{
    if (!std::filesystem::is_directory(dir))
        throw Error(displayPath(dir) + ": no such prepared dataset folder (run 'faceatlas-cli prepare' first)");
    // Every file is read through one descriptor of the folder, so all of them come from one
    // preparation even if prepare swaps another into DIR meanwhile; a swap during the open is read
    // again, so the newest preparation is the one opened.
    return readWholeFolder(dir, [](const OpenFolder& folder) { return openFrom(folder); });
}

} // namespace faceatlas
