// The pictures of a clustering: contact sheets, decoded rows and the paths between centres.
#include "ml/ClusterImages.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

torch::Tensor linePath(const torch::Tensor& a, const torch::Tensor& b, int steps)
{
    const auto t = torch::linspace(0, 1, steps, a.options()).unsqueeze(1);
    return a.unsqueeze(0) * (1 - t) + b.unsqueeze(0) * t;
}

std::vector<std::uint8_t> toRgb(const torch::Tensor& images)
{
    const auto t = images.mul(255).round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu();
    return std::vector<std::uint8_t>(t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel());
}

ContactSheet contactSheet(const std::vector<std::vector<const std::uint8_t*>>& rows, int size)
{
    size_t columns = 1;
    for (const auto& r : rows)
        columns = std::max(columns, r.size());
    const int gap = 2;
    ContactSheet sheet;
    sheet.width = static_cast<int>(columns) * (size + gap) + gap;
    sheet.height = static_cast<int>(rows.size()) * (size + gap) + gap;
    sheet.rgb.assign(static_cast<size_t>(sheet.width) * sheet.height * 3, 48);
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < rows[r].size(); ++c) {
            if (!rows[r][c])
                continue;
            const int x0 = gap + static_cast<int>(c) * (size + gap), y0 = gap + static_cast<int>(r) * (size + gap);
            for (int y = 0; y < size; ++y)
                std::memcpy(&sheet.rgb[(static_cast<size_t>(y0 + y) * sheet.width + x0) * 3],
                            rows[r][c] + static_cast<size_t>(y) * size * 3, static_cast<size_t>(size) * 3);
        }
    return sheet;
}

CentroidPaths CentroidPaths::open(const fs::path& clustersDir)
{
    const fs::path metricsPath = clustersDir / "metrics.json";
    const fs::path centresPath = clustersDir / "centroids.f32";
    if (!fs::is_regular_file(metricsPath))
        throw Error(displayPath(clustersDir) + ": not a clustering folder (no metrics.json)");
    if (!fs::is_regular_file(centresPath))
        throw Error(displayPath(clustersDir) + ": no centroids.f32 (clustered by an older FaceAtlas; cluster again)");
    int64_t k = 0, dim = 0;
    fs::path codesDir;
    try {
        const json metrics = json::parse(readFile(metricsPath, kMaxManifestBytes));
        if (!metrics.is_object() || !metrics.at("k").is_number_integer() || !metrics.at("dim").is_number_integer())
            throw Error(displayPath(metricsPath) + ": invalid: k and dim must be whole numbers");
        k = metrics.at("k").get<int64_t>();
        dim = metrics.at("dim").get<int64_t>();
        codesDir = metrics.at("codes").get<std::string>();
    } catch (const json::exception& e) {
        throw Error(displayPath(metricsPath) + ": invalid: " + e.what());
    }
    if (k < 1 || dim < 1 || k > (int64_t(1) << 20) || dim > (int64_t(1) << 24))
        throw Error(displayPath(metricsPath) + ": invalid: k " + std::to_string(k) + ", dim " + std::to_string(dim));
    const std::string bytes = readFile(centresPath);
    if (bytes.size() != static_cast<size_t>(k * dim) * sizeof(float))
        throw Error(displayPath(centresPath) + ": size does not match " + std::to_string(k) + " centres of "
                    + std::to_string(dim) + " floats");
    fs::path runDir;
    if (!fs::is_regular_file(codesDir / "codes.json"))
        throw Error(displayPath(codesDir / "codes.json") + ": the codes this clustering was made from are gone");
    try {
        runDir = json::parse(readFile(codesDir / "codes.json", kMaxManifestBytes)).at("run").get<std::string>();
    } catch (const json::exception& e) {
        throw Error(displayPath(codesDir / "codes.json") + ": invalid: " + e.what());
    }
    CentroidPaths paths;
    paths.m_centroids = torch::empty({k, dim}, torch::kFloat);
    std::memcpy(paths.m_centroids.data_ptr<float>(), bytes.data(), bytes.size());
    paths.m_autoencoder = loadRunModel(runDir).model;
    paths.m_autoencoder->eval();
    paths.m_imageSize = paths.m_autoencoder->imageSize();
    return paths;
}

std::vector<std::uint8_t> CentroidPaths::between(int from, int to, int steps) const
{
    if (from < 0 || to < 0 || from >= clusters() || to >= clusters())
        throw Error("clusters " + std::to_string(from) + " and " + std::to_string(to) + ": there are clusters 0 to "
                    + std::to_string(clusters() - 1));
    if (steps < 2)
        throw Error("a path between two clusters needs at least 2 steps");
    return toRgb(decodeCodes(*m_autoencoder, linePath(m_centroids[from], m_centroids[to], steps)));
}

} // namespace faceatlas
