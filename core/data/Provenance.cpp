#include "data/Provenance.h"

#include "util/FileUtil.h"
#include "util/Json.h"

#include <nlohmann/json.hpp>

namespace faceatlas {

std::string datasetFingerprint(const PreparedDataset& data)
{
    return hexKey(fnv1a64(data.manifestJson()));
}

std::string datasetFingerprint(const std::filesystem::path& dir)
{
    return datasetFingerprint(PreparedDataset::open(dir));
}

std::optional<std::string> readCodesFingerprint(const std::filesystem::path& codesDir)
{
    std::error_code ec;
    const auto file = codesDir / "codes.json";
    if (!std::filesystem::is_regular_file(file, ec))
        return std::nullopt;
    try {
        const auto manifest = nlohmann::json::parse(readFile(file, kMaxManifestBytes));
        const auto it = manifest.find("data_fingerprint");
        if (it == manifest.end() || !it->is_string())
            return std::nullopt;
        return it->get<std::string>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace faceatlas
