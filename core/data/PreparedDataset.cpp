#include "data/PreparedDataset.h"

#include "data/RecordCache.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstring>
#include <nlohmann/json.hpp>

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

PreparedDataset PreparedDataset::open(const std::filesystem::path& dir)
{
    const auto manifestPath = dir / kManifest;
    if (!std::filesystem::is_directory(dir))
        throw Error(displayPath(dir) + ": no such prepared dataset folder (run 'faceatlas-cli prepare' first)");
    if (!std::filesystem::is_regular_file(manifestPath))
        throw Error(displayPath(manifestPath)
                    + ": missing; the folder is not a prepared dataset or its preparation did not finish");
    PreparedDataset data;
    data.m_dir = std::filesystem::absolute(dir).lexically_normal();
    data.m_manifest = readFile(manifestPath);
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(data.m_manifest);
        if (manifest.value("format", "") != "faceatlas-prepared")
            throw Error(displayPath(manifestPath) + ": not a FaceAtlas prepared dataset manifest");
        data.m_size = manifest.at("size").get<int>();
        data.m_source = manifest.value("source", "");
        const auto& norm = manifest.at("normalization");
        for (int c = 0; c < 3; ++c) {
            data.m_mean[c] = norm.at("mean").at(c).get<float>();
            data.m_std[c] = norm.at("std").at(c).get<float>();
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(displayPath(manifestPath) + ": invalid manifest: " + e.what());
    }

    const auto recordsPath = dir / kRecords;
    auto records = RecordCache::deserialize(readFile(recordsPath));
    if (!records)
        throw Error(displayPath(recordsPath) + ": corrupt record file");
    data.m_records = std::move(*records);

    const auto imagesPath = dir / kImages;
    data.m_images = MappedFile::openReadOnly(imagesPath);
    if (data.m_images.size() != data.m_records.size() * data.imageBytes())
        throw Error(displayPath(imagesPath) + ": holds " + std::to_string(data.m_images.size()) + " bytes, expected "
                    + std::to_string(data.m_records.size()) + " images of " + std::to_string(data.m_size) + "x"
                    + std::to_string(data.m_size));

    const auto splitPath = dir / kSplit;
    const std::string split = readFile(splitPath);
    std::uint64_t counts[2] = {0, 0};
    if (split.size() < sizeof kSplitMagic + sizeof counts
        || std::memcmp(split.data(), kSplitMagic, sizeof kSplitMagic) != 0)
        throw Error(displayPath(splitPath) + ": not a split file");
    std::memcpy(counts, split.data() + sizeof kSplitMagic, sizeof counts);
    const size_t header = sizeof kSplitMagic + sizeof counts;
    if (split.size() != header + (counts[0] + counts[1]) * sizeof(std::uint32_t))
        throw Error(displayPath(splitPath) + ": truncated split file");
    data.m_train.resize(counts[0]);
    data.m_val.resize(counts[1]);
    std::memcpy(data.m_train.data(), split.data() + header, counts[0] * sizeof(std::uint32_t));
    std::memcpy(data.m_val.data(), split.data() + header + counts[0] * sizeof(std::uint32_t),
                counts[1] * sizeof(std::uint32_t));
    for (const auto* list : {&data.m_train, &data.m_val})
        for (std::uint32_t i : *list)
            if (i >= data.m_records.size())
                throw Error(displayPath(splitPath) + ": index " + std::to_string(i) + " is out of range");
    return data;
}

} // namespace faceatlas
