// `evaluate`, `predict`, `encode`, `summary` and `runs`: the model side from the command line (`train`:
// TrainCommand.cpp).
#include "cli/CliSupport.h"
#include "cli/Commands.h"
#include "cli/Launch.h"
#include "cli/ModelText.h"

#include "ml/AgeMatrix.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "ml/Models.h"
#include "ml/Runs.h"
#include "ml/Runtime.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include "util/Json.h"
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace faceatlas::cli {

namespace {

using nlohmann::json;

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "(None";
    // Keras prints channels last: (None, H, W, C).
    if (shape.size() == 3) {
        text += ", " + std::to_string(shape[1]) + ", " + std::to_string(shape[2]) + ", " + std::to_string(shape[0]);
    } else {
        for (auto d : shape)
            text += ", " + std::to_string(d);
    }
    return text + ")";
}

std::string withCommas(int64_t v)
{
    std::string digits = std::to_string(v), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace

namespace {

/** NaN becomes null so that every line is strict JSON. */
json num(double v)
{
    return std::isfinite(v) ? json(v) : json();
}

} // namespace

nlohmann::json epochJson(const EpochMetrics& m, bool ageModel)
{
    json j = {{"epoch", m.epoch},
              {"train_loss", num(m.trainLoss)},
              {"val_loss", num(m.valLoss)},
              {"learning_rate", m.learningRate},
              {"seconds", m.seconds}};
    if (ageModel) {
        j["val_mae"] = num(m.valMae);
        j["baseline_mae"] = num(m.baselineMae);
    } else {
        j["val_psnr"] = num(m.valPsnr);
    }
    return j;
}

/**
 * Says on stderr when a model meets faces framed another way than its training faces: an aligned
 * model shown centre-cropped faces (or the reverse) does worse than its own figures say.
 */
void noteFramingMismatch(const LoadedModel& loaded, const PreparedDataset& data, const std::filesystem::path& runDir)
{
    const std::string model = checkpointFraming(loaded.metaJson), faces = checkpointFramingOf(data.manifestJson());
    if (model != faces)
        std::fprintf(stderr,
                     "note: %s was trained on faces framed '%s', and %s's faces are framed '%s': expect it to do "
                     "worse than on its own kind of faces (prepare the data with --framing %s to compare like with "
                     "like)\n",
                     displayPath(runDir).c_str(), model.c_str(), displayPath(data.dir()).c_str(), faces.c_str(),
                     model.c_str());
}

namespace {

std::vector<std::filesystem::path> commaList(const std::string& text)
{
    std::vector<std::filesystem::path> list;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty())
            list.push_back(std::filesystem::u8path(item));
    return list;
}

/** One cell of the matrix as JSON: a run on a preparation, or why it cannot be measured there. */
json matrixCellJson(const AgeMatrixCell& c)
{
    json cell = {{"run", displayPath(c.run)},
                 {"data", displayPath(c.data)},
                 {"source", c.source},
                 {"model_framing", c.modelFraming},
                 {"data_framing", c.dataFraming}};
    if (c.measured())
        cell.update({{"n", c.n}, {"mae", c.mae}, {"bias", c.bias}, {"baseline_mae", c.baselineMae}});
    else
        cell["error"] = c.error;
    return cell;
}

/** `evaluate --run R1,R2 --data P1,P2`: every run on every preparation. */
int runEvaluateMatrix(const std::vector<std::filesystem::path>& runs, const std::vector<std::filesystem::path>& datas,
                      Split split, const std::string& device, bool jsonOut)
{
    std::vector<PreparedDataset> prepared;
    for (const auto& dir : datas)
        prepared.push_back(PreparedDataset::open(dir));
    std::vector<const PreparedDataset*> datasets;
    for (const PreparedDataset& data : prepared)
        datasets.push_back(&data);
    // The window's "Compare across datasets" table runs the same function.
    json cells = json::array();
    for (const AgeMatrixCell& cell : evaluateAgeMatrix(runs, datasets, split, device))
        cells.push_back(matrixCellJson(cell));
    if (jsonOut) {
        printLine(jsonText(json{{"split", split == Split::Val     ? "val"
                                          : split == Split::Train ? "train"
                                                                  : "all"},
                                {"cells", cells}}));
        return 0;
    }
    std::printf("%-32s %-32s %6s %7s %7s %9s  %s\n", "run", "data", "n", "MAE", "bias", "baseline", "framing");
    for (const json& c : cells) {
        const std::string run = c["run"], data = c["data"];
        if (c.contains("error")) {
            std::printf("%-32s %-32s  %s\n", run.c_str(), data.c_str(), c["error"].get<std::string>().c_str());
            continue;
        }
        const std::string framing =
            c["model_framing"] == c["data_framing"]
                ? c["model_framing"].get<std::string>()
                : c["model_framing"].get<std::string>() + " model, " + c["data_framing"].get<std::string>() + " faces";
        std::printf("%-32s %-32s %6zu %7.2f %+7.2f %9.2f  %s%s\n", run.c_str(), data.c_str(), c["n"].get<size_t>(),
                    c["mae"].get<double>(), c["bias"].get<double>(), c["baseline_mae"].get<double>(), framing.c_str(),
                    c["mae"].get<double>() >= c["baseline_mae"].get<double>() ? "  (no better than the baseline)" : "");
    }
    return 0;
}

} // namespace

int runEvaluate(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("evaluate"));
    const auto runs = commaList(args.required("run"));
    const auto datas = commaList(args.required("data"));
    const Split split = parseSplit(*args.value("split"));
    const std::string device = *args.value("device");
    const bool jsonOut = args.has("json");
    args.rejectUnknown();
    if (runs.empty() || datas.empty())
        throw UsageError("--run and --data name at least one folder each");
    if (runs.size() > 1 || datas.size() > 1)
        return runEvaluateMatrix(runs, datas, split, device, jsonOut);
    const auto& runDir = runs.front();
    const auto& dataDir = datas.front();

    LoadedModel loaded = loadRunModel(runDir);
    const PreparedDataset data = PreparedDataset::open(dataDir);
    noteFramingMismatch(loaded, data, runDir);
    const float baselineAge = runBaselineAge(runDir, data);
    const auto [indices, truth] = labelledFaces(data, split);
    const auto predicted = predictAgeDistributions(*loaded.model, data, indices, resolveDevice(device));
    const EvalReport r = evaluateAges(predicted, truth, baselineAge);
    if (jsonOut) {
        json decades = json::array();
        for (const auto& d : r.decades)
            decades.push_back(
                {{"from", d.from}, {"to", d.from + 9}, {"n", d.n}, {"mae", d.mae}, {"baseline_mae", d.baselineMae}});
        printLine(jsonText(json{{"n", r.n},
                                {"mae", r.mae},
                                {"baseline_mae", r.baselineMae},
                                {"baseline_age", r.baselineAge},
                                {"coverage_80", num(r.coverage80)},
                                {"interval_80_half_width", num(r.interval80HalfWidth)},
                                {"decades", decades}}));
        return 0;
    }
    std::printf("n %zu  MAE %.2f years  baseline MAE %.2f (always %.1f)\n", r.n, r.mae, r.baselineMae, r.baselineAge);
    if (std::isfinite(r.coverage80))
        std::printf("80%% intervals: %.1f%% of the faces inside theirs, +-%.1f years on average\n",
                    100.0 * r.coverage80, r.interval80HalfWidth);
    else
        std::printf("80%% intervals: none (the run was trained before its spread was calibrated)\n");
    std::printf("\n%-8s %6s %8s %10s\n", "ages", "n", "MAE", "baseline");
    for (const auto& d : r.decades)
        std::printf("%3d-%-4d %6zu %8.2f %10.2f\n", d.from, d.from + 9, d.n, d.mae, d.baselineMae);
    return 0;
}

int runPredict(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("predict"));
    const auto runDir = std::filesystem::u8path(args.required("run"));
    const auto dataDir = std::filesystem::u8path(args.required("data"));
    const auto out = std::filesystem::u8path(args.required("out"));
    const Split split = parseSplit(*args.value("split"));
    const std::string device = *args.value("device");
    args.rejectUnknown();
    LoadedModel loaded = loadRunModel(runDir);
    const PreparedDataset data = PreparedDataset::open(dataDir);
    noteFramingMismatch(loaded, data, runDir);
    const auto indices = splitIndices(data, split);
    ProgressBar bar;
    const auto predicted = predictAgeDistributions(*loaded.model, data, indices, resolveDevice(device), {},
                                                   [&](const JobProgress& p) { bar.update(p); });
    bar.finish();
    std::string csv = "path,age,predicted_age,predicted_sd\n";
    for (size_t k = 0; k < indices.size(); ++k) {
        const Record& r = data.records()[indices[k]];
        std::string path = recordKey(r);
        if (path.find_first_of(",\"\n") != std::string::npos) { // quote as RFC 4180 asks
            std::string quoted = "\"";
            for (char c : path)
                quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
            path = quoted + "\"";
        }
        char age[32], sd[32] = "";
        std::snprintf(age, sizeof age, "%.2f", predicted.mean[k]);
        if (std::isfinite(predicted.sd[k]))
            std::snprintf(sd, sizeof sd, "%.2f", predicted.sd[k]);
        csv += path + "," + (r.age ? std::to_string(*r.age) : std::string()) + "," + age + "," + sd + "\n";
    }
    writeFileAtomic(out, csv);
    std::fprintf(stderr, "wrote %zu predictions to %s\n", indices.size(), out.c_str());
    return 0;
}

int runEncode(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("encode"));
    const auto runDir = std::filesystem::u8path(args.required("run"));
    const auto dataDir = std::filesystem::u8path(args.required("data"));
    const auto out = std::filesystem::u8path(args.required("out"));
    const std::string device = *args.value("device");
    const bool force = args.has("force");
    int threads = 0; // all cores
    if (args.has("threads"))
        threads = args.intValue("threads");
    const DistConfig dist = distConfig(args);
    const int processes = processCount(args, dist);
    args.rejectUnknown();
    if (processes > 1)
        return launchRanks("encode", words, processes, args, dist, threads);
    configureTorchThreads(threads);
    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar(dist.leader()); // of several processes, rank 0 alone shows its progress
    encodeDataset(
        runDir, dataDir, out, device, cancel, [&](const JobProgress& p) { bar.update(p); }, force, dist);
    bar.finish();
    if (cancel.isCancelled()) {
        std::fprintf(stderr, "encode: cancelled\n");
        return 130;
    }
    if (!dist.leader())
        return 0;
    const Codes codes = Codes::open(out);
    std::fprintf(stderr, "encoded %zu faces into %zu-value codes (%lld x %lld x %lld) in %s%s\n", codes.count(),
                 codes.dim(), static_cast<long long>(codes.shape()[0]), static_cast<long long>(codes.shape()[1]),
                 static_cast<long long>(codes.shape()[2]), out.c_str(),
                 dist.distributed() ? (" on " + std::to_string(dist.worldSize) + " processes").c_str() : "");
    return 0;
}

int runConvertCheckpoint(const std::vector<std::string>& words)
{
    std::vector<std::filesystem::path> files;
    for (const auto& word : words) {
        if (word.rfind("--", 0) == 0)
            throw UsageError("unknown option " + word + " (see --help)");
        files.push_back(std::filesystem::u8path(word));
    }
    if (files.empty())
        throw UsageError("give the checkpoint files to convert (see --help)");
    int failed = 0;
    for (const auto& file : files) {
        try {
            convertLegacyCheckpoint(file);
            std::fprintf(stderr, "converted %s (the original is kept as %s.old)\n", file.c_str(), file.c_str());
        } catch (const Error& e) {
            std::fprintf(stderr, "faceatlas-cli convert-checkpoint: error: %s\n", e.what());
            ++failed;
        }
    }
    return failed ? 1 : 0;
}

int runSummary(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("summary"));
    const ModelKind kind = parseModelKind(args.required("model"));
    const int size = args.intValue("size");
    args.rejectUnknown();
    const auto rows = summarize(kind, size);
    const std::string rule(78, '_'), thick(78, '=');
    std::printf("Model: \"%s\" at %dx%dx3\n%s\n%-34s %-28s %14s\n%s\n", modelKindName(kind), size, size, rule.c_str(),
                "Layer (type)", "Output Shape", "Param #", thick.c_str());
    int64_t total = 0;
    for (const auto& r : rows) {
        std::printf("%-34s %-28s %14s\n", (r.name + " (" + r.type + ")").c_str(), shapeText(r.shape).c_str(),
                    withCommas(r.parameters).c_str());
        total += r.parameters;
    }
    std::printf("%s\nTotal params: %s\nForward FLOPs per image: %.3f GFLOP\n", thick.c_str(), withCommas(total).c_str(),
                forwardFlops(kind, size) / 1e9);
    if (kind == ModelKind::Autoencoder) {
        const auto code = autoencoderCodeShape(size);
        std::printf("Code: %lld x %lld x %lld = %lld values per face\n", static_cast<long long>(code[0]),
                    static_cast<long long>(code[1]), static_cast<long long>(code[2]),
                    static_cast<long long>(code[0] * code[1] * code[2]));
    }
    return 0;
}

int runRuns(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("runs"));
    std::optional<std::filesystem::path> dir;
    if (auto d = args.value("dir"))
        dir = std::filesystem::u8path(*d);
    const bool jsonOut = args.has("json");
    args.rejectUnknown();
    const auto runs = listRuns(dir);
    if (jsonOut) {
        for (const auto& r : runs) {
            json j = {{"dir", r.dir.string()}, {"model", r.model},   {"data", r.data},      {"status", r.status},
                      {"size", r.size},        {"epochs", r.epochs}, {"started", r.started}};
            if (!r.problem.empty())
                j["problem"] = r.problem;
            if (r.last)
                j["last"] = epochJson(*r.last, modelHasRole(r.model, ModelRole::AgeModel));
            if (r.best)
                j["best"] = epochJson(*r.best, modelHasRole(r.model, ModelRole::AgeModel));
            printLine(jsonText(j));
        }
        return 0;
    }
    if (runs.empty()) {
        std::printf("no runs yet in %s (train one with 'faceatlas-cli train')\n", workspaceDir().c_str());
        return 0;
    }
    std::printf("%-13s %-10s %5s %6s %-22s %s\n", "model", "status", "size", "epochs", "best", "folder");
    for (const auto& r : runs) {
        std::string best = "-";
        if (r.best) {
            char text[64];
            if (modelHasRole(r.model, ModelRole::Autoencoder))
                std::snprintf(text, sizeof text, "PSNR %.2f dB (ep %d)", r.best->valPsnr, r.best->epoch);
            else
                std::snprintf(text, sizeof text, "MAE %.2f vs %.2f (ep %d)", r.best->valMae, r.best->baselineMae,
                              r.best->epoch);
            best = text;
        }
        std::printf("%-13s %-10s %5d %6d %-22s %s\n", r.model.c_str(), r.status.c_str(), r.size, r.epochs, best.c_str(),
                    r.dir.c_str());
        if (!r.problem.empty())
            std::printf("  damaged: %s\n", r.problem.c_str());
    }
    return 0;
}

} // namespace faceatlas::cli
