// `map` and `similar`: a 2-D map of the codes and "more like this" from the command line.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "analysis/EncodeImage.h"
#include "ml/Batches.h"
#include "ml/Inference.h"
#include "ml/MapJob.h"
#include "ml/Models.h"
#include "ml/Projection.h"
#include "ml/Projections.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace faceatlas::cli {

namespace {

using nlohmann::json;

std::string number(float v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
    return buf;
}

} // namespace

int runMap(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("map"));
    const auto codesDir = std::filesystem::u8path(args.required("codes"));
    const auto out = std::filesystem::u8path(args.required("out"));
    const std::string method = *args.value("method");
    EmbeddingParams p;
    p.neighbors = args.intValue("neighbors");
    p.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    p.minDist = args.doubleValue("min-dist");
    p.epochs = 0; // embeddingEpochsFor(N)
    if (args.has("epochs"))
        p.epochs = args.intValue("epochs");
    p.knn = *args.value("knn");
    const std::string knnDims = *args.value("knn-dims");
    p.threads = args.intValue("threads");
    const std::string deviceName = *args.value("device");
    const bool jsonOut = args.has("json");
    const bool force = args.has("force");
    args.rejectUnknown();
    if (!findProjection(method))
        throw UsageError("--method takes " + projectionNameList() + ", not '" + method + "'");
    if (p.neighbors < 2 || p.neighbors > 200)
        throw UsageError("--neighbors must be between 2 and 200");
    if (!(p.minDist >= 0 && p.minDist <= 1))
        throw UsageError("--min-dist must be between 0 and 1");
    if (args.has("epochs") && (p.epochs < 1 || p.epochs > 5000))
        throw UsageError("--epochs must be between 1 and 5000");
    if (p.threads < 1 || p.threads > 64)
        throw UsageError("--threads must be between 1 and 64");
    if (p.knn != "exact" && p.knn != "hnsw" && p.knn != "auto")
        throw UsageError("--knn takes exact, hnsw or auto, not '" + p.knn + "'");
    if (knnDims == "auto" || knnDims == "all") {
        p.knnDims = knnDims == "auto" ? kAutoKnnDims : 0;
    } else {
        const bool digits = !knnDims.empty() && knnDims.size() <= 4
                            && std::all_of(knnDims.begin(), knnDims.end(), [](char c) { return c >= '0' && c <= '9'; });
        p.knnDims = digits ? std::stoi(knnDims) : 0;
        if (p.knnDims < 1 || p.knnDims > 4096)
            throw UsageError("--knn-dims takes auto, all or a number of components from 1 to 4096, not '" + knnDims
                             + "'");
    }

    MapParams mp;
    mp.codes = codesDir;
    mp.outDir = out;
    mp.method = method;
    mp.embedding = p;
    mp.device = deviceName;
    mp.force = force;
    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar;
    const MapResult r = computeMap(mp, cancel, [&](const JobProgress& jp) { bar.update(jp); });
    bar.finish();
    if (r.cancelled) {
        std::fprintf(stderr, "map: cancelled\n");
        return 130;
    }
    const json& summary = r.summary;
    if (jsonOut) {
        printLine(jsonText(summary));
        return 0;
    }
    const json& knn = summary.at("settings").at("knn");
    std::printf("%s map of %lld codes in %.1f s; neighbour recall@%d on %lld faces: %.3f\n", method.c_str(),
                summary.at("count").get<long long>(), summary.at("seconds").at("map").get<double>(),
                summary.at("recall").at("k").get<int>(), summary.at("recall").at("sample").get<long long>(),
                summary.at("recall").at("value").get<double>());
    std::printf("neighbourhood preserved: %.3f of each face's %d nearest codes, on average (code graph: %s",
                summary.at("preservation").at("mean").get<double>(), summary.at("preservation").at("k").get<int>(),
                knn.at("method").get<std::string>().c_str());
    if (knn.contains("recall"))
        std::printf(", recall %.3f against the exact search", knn.at("recall").at("value").get<double>());
    std::printf(")\nwritten to %s\n", displayPath(out / "map.csv").c_str());
    return 0;
}

int runSimilar(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("similar"));
    const auto codesDir = std::filesystem::u8path(args.required("codes"));
    const auto path = args.value("path");
    const auto image = args.value("image");
    const int k = args.intValue("k");
    const bool jsonOut = args.has("json");
    args.rejectUnknown();
    if (path.has_value() == image.has_value())
        throw UsageError("give either --path P or --image FILE");
    if (k < 1)
        throw UsageError("--k must be at least 1");

    const Codes codes = Codes::open(codesDir);
    const int64_t n = static_cast<int64_t>(codes.count());
    torch::Tensor query;
    int64_t self = -1;
    if (path) {
        const auto& records = codes.records();
        for (size_t i = 0; i < records.size(); ++i)
            if (recordKey(records[i]) == *path) {
                self = static_cast<int64_t>(i);
                break;
            }
        // A photo whose every face was taken: its bare path is its best face (PATH#face1).
        for (size_t i = 0; i < records.size() && self < 0; ++i)
            if (records[i].faceIndex == 0 && records[i].path == *path)
                self = static_cast<int64_t>(i);
        if (self < 0)
            throw Error(displayPath(codesDir) + ": no face with the path '" + *path + "' in these codes");
        query = torch::from_blob(const_cast<float*>(codes.row(static_cast<size_t>(self))),
                                 {static_cast<int64_t>(codes.dim())}, torch::kFloat);
    } else {
        const auto file = std::filesystem::u8path(*image);
        if (codes.runDir().empty())
            throw Error(displayPath(codesDir / "codes.json") + ": names no autoencoder run to encode an image with");
        LoadedModel loaded = loadRunModel(codes.runDir());
        if (loaded.model->kind() != ModelKind::Autoencoder)
            throw Error(displayPath(codes.runDir()) + ": the codes' run is not an autoencoder");
        if (loaded.model->imageSize() != codes.imageSize())
            throw Error(displayPath(codes.runDir()) + ": the autoencoder takes "
                        + std::to_string(loaded.model->imageSize()) + " px images, the codes were made from "
                        + std::to_string(codes.imageSize()) + " px");
        const auto code = std::make_shared<std::vector<float>>(
            embedImageFile(*loaded.model, parseFraming(checkpointFraming(loaded.metaJson)), file));
        query = torch::from_blob(code->data(), {static_cast<int64_t>(code->size())}, torch::kFloat).clone();
        if (query.numel() != static_cast<int64_t>(codes.dim()))
            throw Error(displayPath(codes.runDir()) + ": its codes have " + std::to_string(query.numel())
                        + " values, those in " + displayPath(codesDir) + " " + std::to_string(codes.dim()));
    }
    const int64_t available = self >= 0 ? n - 1 : n;
    if (k > available)
        throw Error(displayPath(codesDir) + ": --k " + std::to_string(k) + " is more than the "
                    + std::to_string(available) + " other faces in these codes");
    const Neighbours r = nearest(codes.tensor(), query, k, self);
    if (jsonOut) {
        json faces = json::array();
        for (size_t i = 0; i < r.indices.size(); ++i)
            faces.push_back({{"path", recordKey(codes.records()[static_cast<size_t>(r.indices[i])])},
                             {"distance", r.distances[i]}});
        json j = {{"codes", displayPath(codesDir)}, {"k", k}, {"faces", faces}};
        if (path)
            j["path"] = *path;
        else
            j["image"] = *image;
        printLine(j.dump());
        return 0;
    }
    std::printf("path,distance\n");
    for (size_t i = 0; i < r.indices.size(); ++i)
        std::printf("%s,%s\n", csvField(recordKey(codes.records()[static_cast<size_t>(r.indices[i])])).c_str(),
                    number(r.distances[i]).c_str());
    return 0;
}

} // namespace faceatlas::cli
