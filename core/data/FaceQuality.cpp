#include "data/FaceQuality.h"

#include "data/PreparedDataset.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

namespace faceatlas {

namespace fs = std::filesystem;

const std::array<QualityColumn, kQualityColumnCount>& qualityColumns()
{
    static const std::array<QualityColumn, kQualityColumnCount> columns = {{
        {"sharpness", "variance of the Laplacian of the stored face's grey levels (low: blurred)", true},
        {"brightness", "mean grey level of the stored face, 0-255", true},
        {"contrast", "standard deviation of the stored face's grey levels (RMS contrast)", true},
        {"colourfulness", "Hasler and Suesstrunk's colourfulness of the stored face (0: grey)", true},
        {"brisque", "BRISQUE no-reference quality score (OpenCV, LIVE model; higher: worse)", false},
    }};
    return columns;
}

int qualityColumnIndex(const std::string& name)
{
    const auto& columns = qualityColumns();
    for (size_t k = 0; k < columns.size(); ++k)
        if (name == columns[k].name)
            return static_cast<int>(k);
    return -1;
}

int FaceQuality::find(const std::string& name) const
{
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<float> FaceQuality::column(std::size_t k) const
{
    std::vector<float> out(rows);
    for (size_t i = 0; i < rows; ++i)
        out[i] = at(i, k);
    return out;
}

std::string qualityBytes(const std::vector<float>& values)
{
    static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);
    // x86-64 and aarch64 are little-endian: the floats' bytes are the file's.
    std::string bytes(values.size() * sizeof(float), '\0');
    if (!values.empty())
        std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

nlohmann::json qualityManifest(std::size_t rows, const std::string& bytes)
{
    std::vector<std::string> names;
    for (const auto& c : qualityColumns())
        names.emplace_back(c.name);
    return {{"file", kQualityFile}, {"columns", names}, {"rows", rows}, {"fnv1a", hexKey(fnv1a64(bytes))}};
}

FaceQuality parseQuality(const nlohmann::json& entry, const std::string& bytes, std::size_t count,
                         const std::string& what)
{
    FaceQuality quality;
    std::uint64_t rows = 0;
    std::string hash;
    try {
        quality.names = entry.at("columns").get<std::vector<std::string>>();
        rows = entry.at("rows").get<std::uint64_t>();
        hash = entry.at("fnv1a").get<std::string>();
    } catch (const std::exception&) {
        throw Error(what + ": prepared.json's \"quality\" is not {columns, rows, fnv1a}");
    }
    if (quality.names.empty() || quality.names.size() > kQualityColumnCount)
        throw Error(what + ": prepared.json names " + std::to_string(quality.names.size()) + " quality columns (1 to "
                    + std::to_string(kQualityColumnCount) + ")");
    for (size_t k = 0; k < quality.names.size(); ++k)
        if (qualityColumnIndex(quality.names[k]) < 0
            || std::find(quality.names.begin(), quality.names.begin() + static_cast<std::ptrdiff_t>(k),
                         quality.names[k])
                   != quality.names.begin() + static_cast<std::ptrdiff_t>(k))
            throw Error(what + ": prepared.json names an unknown or repeated quality column '" + quality.names[k]
                        + "'");
    // The row count is a number from a file: it must be the preparation's before it sizes anything.
    if (rows != count)
        throw Error(what + ": prepared.json says " + std::to_string(rows) + " rows for the preparation's "
                    + std::to_string(count) + " faces");
    const std::uint64_t expected = static_cast<std::uint64_t>(count) * quality.names.size() * sizeof(float);
    if (bytes.size() != expected)
        throw Error(what + ": " + std::to_string(bytes.size()) + " bytes where " + std::to_string(count) + " rows of "
                    + std::to_string(quality.names.size()) + " float32 take " + std::to_string(expected)
                    + " (truncated or not this preparation's): prepare again");
    if (hexKey(fnv1a64(bytes)) != hash)
        throw Error(what + ": changed since the preparation (its hash differs from prepared.json's): prepare again");
    quality.rows = count;
    quality.values.resize(count * quality.names.size());
    if (!bytes.empty())
        std::memcpy(quality.values.data(), bytes.data(), bytes.size());
    return quality;
}

namespace {

/** prepared.json's "quality" entry, or null when it has none. */
nlohmann::json qualityEntry(const PreparedDataset& data)
{
    try {
        const auto manifest = nlohmann::json::parse(data.manifestJson());
        const auto it = manifest.find("quality");
        if (it != manifest.end())
            return *it;
    } catch (const std::exception&) {
        // PreparedDataset::open checked the manifest
    }
    return nullptr;
}

} // namespace

std::vector<std::string> preparedQualityNames(const PreparedDataset& data)
{
    const nlohmann::json entry = qualityEntry(data);
    std::vector<std::string> names;
    if (entry.is_object() && entry.contains("columns") && entry["columns"].is_array())
        for (const auto& n : entry["columns"])
            if (n.is_string() && qualityColumnIndex(n.get<std::string>()) >= 0 && names.size() < kQualityColumnCount)
                names.push_back(n.get<std::string>());
    return names;
}

FaceQuality readPreparedQuality(const PreparedDataset& data)
{
    const nlohmann::json entry = qualityEntry(data);
    if (entry.is_null())
        return {}; // a preparation from before FaceAtlas measured quality
    const fs::path file = data.dir() / kQualityFile;
    // Bounded before reading: exactly what the preparation's faces take, at most.
    const std::uint64_t maxBytes = static_cast<std::uint64_t>(data.count()) * kQualityColumnCount * sizeof(float);
    return parseQuality(entry, readFile(file, maxBytes), data.count(), displayPath(file));
}

std::string noQualityMessage(const PreparedDataset& data)
{
    return displayPath(data.dir())
           + " has no quality columns: it was prepared before FaceAtlas measured image quality; prepare it again "
             "to sort, filter or colour by them";
}

const std::array<QualityStep, kQualityStepCount>& qualitySteps()
{
    static const std::array<QualityStep, kQualityStepCount> steps = {{
        {"blurred (sharpness below)", "min-sharpness", "sharpness", true, 20},
        {"dark (brightness below)", "min-brightness", "brightness", true, 40},
        {"overexposed (brightness above)", "max-brightness", "brightness", false, 215},
        {"flat (contrast below)", "min-contrast", "contrast", true, 20},
        {"poor quality (BRISQUE above)", "max-brisque", "brisque", false, 60},
    }};
    return steps;
}

bool QualityThresholds::operator==(const QualityThresholds& o) const
{
    for (size_t k = 0; k < threshold.size(); ++k)
        if (!(threshold[k] == o.threshold[k] || (std::isnan(threshold[k]) && std::isnan(o.threshold[k]))))
            return false;
    return true;
}

std::vector<std::string> qualityQuartiles(const std::vector<float>& values)
{
    std::vector<float> finite;
    for (const float v : values)
        if (std::isfinite(v))
            finite.push_back(v);
    std::vector<std::string> out(values.size());
    if (finite.empty())
        return out;
    std::sort(finite.begin(), finite.end());
    const auto at = [&](double p) { return finite[static_cast<size_t>(p * static_cast<double>(finite.size() - 1))]; };
    const float q1 = at(0.25), q2 = at(0.5), q3 = at(0.75);
    for (size_t i = 0; i < values.size(); ++i) {
        const float v = values[i];
        if (!std::isfinite(v))
            continue;
        out[i] = v <= q1 ? "q1 lowest" : v <= q2 ? "q2" : v <= q3 ? "q3" : "q4 highest";
    }
    return out;
}

} // namespace faceatlas
