#include "ml/MapJob.h"

#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string number(float v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
    return buf;
}

constexpr int64_t kMaxPoints = 100'000'000;

} // namespace

MapResult computeMap(const MapParams& p, const CancelToken& cancel,
                     const std::function<void(const JobProgress&)>& onProgress)
{
    if (p.method != "pca" && p.method != "neighbors")
        throw Error("a map's method is pca or neighbors, not '" + p.method + "'");
    const Codes codes = Codes::open(p.codes);
    const int64_t n = static_cast<int64_t>(codes.count());
    if (n < 3)
        throw Error(displayPath(p.codes) + ": a map needs at least 3 codes, these are " + std::to_string(n));
    if (p.method == "neighbors" && p.embedding.neighbors >= n)
        throw Error(displayPath(p.codes) + ": " + std::to_string(p.embedding.neighbors)
                    + " neighbours per face need more than " + std::to_string(p.embedding.neighbors)
                    + " codes, these are " + std::to_string(n));
    const torch::Device device = resolveDevice(p.device);
    const auto start = Clock::now();
    const auto x = codes.tensor().to(device);
    MapResult result;
    torch::Tensor map;
    json seconds;
    json settings = {{"device", device.str()}};
    if (p.method == "pca") {
        if (onProgress)
            onProgress({"principal components", 0, 0});
        map = pca2d(x);
    } else {
        const EmbeddingResult r = neighbourEmbedding(x, p.embedding, cancel, onProgress);
        if (r.cancelled) {
            result.cancelled = true;
            return result;
        }
        map = r.map;
        settings["neighbors"] = p.embedding.neighbors;
        settings["seed"] = p.embedding.seed;
        settings["epochs"] = r.epochs;
        settings["negatives"] = p.embedding.negatives;
        settings["a"] = p.embedding.a;
        settings["b"] = p.embedding.b;
        settings["edges"] = r.edges;
        seconds["neighbours"] = r.knnSeconds;
        seconds["graph"] = r.graphSeconds;
        seconds["layout"] = r.layoutSeconds;
    }
    seconds["map"] = secondsSince(start);
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }
    if (onProgress)
        onProgress({"neighbour recall", 0, 0});
    const int64_t sample = std::min<int64_t>(p.recallSample, n);
    const int recallK = static_cast<int>(std::min<int64_t>(10, n - 1));
    const auto recallStart = Clock::now();
    const double recall = neighbourRecall(x, map, sample, recallK, 1);
    seconds["recall"] = secondsSince(recallStart);

    const auto m = map.contiguous();
    const float* xy = m.data_ptr<float>();
    std::string csv = "path,x,y\n";
    csv.reserve(static_cast<size_t>(n) * 64);
    for (int64_t i = 0; i < n; ++i)
        csv += csvField(recordKey(codes.records()[static_cast<size_t>(i)])) + "," + number(xy[2 * i]) + ","
               + number(xy[2 * i + 1]) + "\n";
    fs::create_directories(p.outDir);
    removeStaleTemporaries(p.outDir);
    std::error_code ec;
    fs::remove(p.outDir / "map.json", ec); // written last: a half-written map never looks finished
    writeFileAtomic(p.outDir / "map.csv", csv);
    result.summary = {{"method", p.method},
                      {"codes", fs::absolute(p.codes).lexically_normal().string()},
                      {"data_fingerprint", codes.dataFingerprint()},
                      {"count", n},
                      {"dim", codes.dim()},
                      {"settings", settings},
                      {"seconds", seconds},
                      {"recall", {{"k", recallK}, {"sample", sample}, {"seed", 1}, {"value", recall}}}};
    writeFileAtomic(p.outDir / "map.json", jsonText(result.summary, 2) + "\n");
    return result;
}

MapPoints readMap(const fs::path& dir)
{
    const fs::path jsonFile = dir / "map.json";
    const fs::path csvFile = dir / "map.csv";
    MapPoints points;
    int64_t count = 0;
    try {
        const json j = json::parse(readFile(jsonFile));
        count = j.at("count").get<int64_t>();
        points.method = j.at("method").get<std::string>();
        if (j.contains("codes") && j.at("codes").is_string())
            points.codes = fs::u8path(j.at("codes").get<std::string>());
        if (j.contains("data_fingerprint") && j.at("data_fingerprint").is_string())
            points.dataFingerprint = j.at("data_fingerprint").get<std::string>();
        if (j.contains("recall") && j.at("recall").is_object() && j.at("recall").contains("value")
            && j.at("recall").at("value").is_number())
            points.recall = j.at("recall").at("value").get<double>();
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(displayPath(jsonFile) + ": invalid: " + e.what());
    }
    if (count < 1 || count > kMaxPoints)
        throw Error(displayPath(jsonFile) + ": a count of " + std::to_string(count) + " points is not possible");
    const std::string text = readFile(csvFile);
    // At least "p,0,0\n" per row: a count the file cannot hold is refused before anything is sized by it.
    if (static_cast<uint64_t>(count) > text.size() / 6)
        throw Error(displayPath(csvFile) + ": holds fewer than the " + std::to_string(count)
                    + " rows map.json announces");
    points.xy.reserve(static_cast<size_t>(count) * 2);
    points.paths.reserve(static_cast<size_t>(count));
    size_t pos = text.find('\n');
    if (pos == std::string::npos || text.compare(0, 9, "path,x,y\n") != 0)
        throw Error(displayPath(csvFile) + ": the header must be 'path,x,y'");
    ++pos;
    std::vector<std::string> fields;
    size_t line = 1;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos)
            end = text.size();
        ++line;
        const std::string row = text.substr(pos, end - pos);
        pos = end + 1;
        if (row.empty())
            continue;
        const auto where = [&] { return displayPath(csvFile) + ":" + std::to_string(line) + ": "; };
        if (static_cast<int64_t>(points.paths.size()) >= count)
            throw Error(where() + "more rows than the " + std::to_string(count) + " map.json announces");
        if (!splitCsvLine(row, fields) || fields.size() != 3)
            throw Error(where() + "expected path,x,y");
        float v[2];
        for (int c = 0; c < 2; ++c) {
            const char* s = fields[1 + c].c_str();
            char* stop = nullptr;
            v[c] = std::strtof(s, &stop);
            if (stop == s || *stop != '\0' || !std::isfinite(v[c]))
                throw Error(where() + "'" + fields[1 + c].substr(0, 32) + "' is not a finite number");
        }
        points.paths.push_back(std::move(fields[0]));
        points.xy.push_back(v[0]);
        points.xy.push_back(v[1]);
    }
    if (static_cast<int64_t>(points.paths.size()) != count)
        throw Error(displayPath(csvFile) + ": holds " + std::to_string(points.paths.size()) + " rows, map.json "
                    + std::to_string(count));
    return points;
}

} // namespace faceatlas
