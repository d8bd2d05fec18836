#include "data/Provenance.h"

#include "data/PreparedDataset.h"
#include "data/Record.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <nlohmann/json.hpp>

namespace faceatlas {

std::string datasetFingerprint(const PreparedDataset& data)
{
    // What the preparation holds, not when or how fast it was made: the manifest without its times,
    // then every record's key and labels and the split. Preparing again with the same settings and
    // the same result is the same preparation, and what was made from it stays its own.
    std::string text;
    try {
        nlohmann::json manifest = nlohmann::json::parse(data.manifestJson());
        manifest.erase("created");
        // Which review decisions were applied (for the Dataset page) is not content: the records'
        // labels and keys below hold what they did, and preparations from before it was recorded
        // keep their fingerprint.
        if (auto settings = manifest.find("settings"); settings != manifest.end() && settings->is_object())
            settings->erase("review_decisions");
        if (auto report = manifest.find("report"); report != manifest.end() && report->is_object()) {
            // (quality_seconds: how long the quality columns took, as timing-dependent as the others.)
            for (const char* key : {"decode_seconds", "total_seconds", "images_reused", "quality_seconds"})
                report->erase(key);
            if (auto framing = report->find("framing"); framing != report->end() && framing->is_object()) {
                framing->erase("seconds");
                framing->erase("reused");
            }
        }
        text = manifest.dump(); // keys in order: the same content gives the same text
    } catch (const std::exception&) {
        text = data.manifestJson(); // PreparedDataset::open checked it; an odd one is hashed whole
    }
    for (const Record& r : data.records())
        text += '\n' + recordKey(r) + '\t' + (r.age ? std::to_string(*r.age) : "") + '\t' + genderName(r.gender);
    for (const auto* split : {&data.trainIndices(), &data.valIndices()}) {
        text += "\nsplit";
        for (const std::uint32_t i : *split)
            text += ' ' + std::to_string(i);
    }
    return hexKey(fnv1a64(text));
}

std::string legacyDatasetFingerprint(const PreparedDataset& data)
{
    return hexKey(fnv1a64(data.manifestJson()));
}

bool madeFromDataset(const std::string& recorded, const PreparedDataset& data)
{
    return !recorded.empty() && (recorded == datasetFingerprint(data) || recorded == legacyDatasetFingerprint(data));
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
