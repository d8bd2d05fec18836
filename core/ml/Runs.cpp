#include "ml/Runs.h"

#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unistd.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string number(double v)
{
    if (std::isnan(v))
        return "";
    std::ostringstream out;
    out.precision(7);
    out << v;
    return out.str();
}

double parseNumber(const std::string& text)
{
    return text.empty() ? std::nan("") : std::stod(text);
}

} // namespace

std::string metricsCsv(const std::vector<EpochMetrics>& history)
{
    std::string out = "epoch,train_loss,val_loss,val_mae,baseline_mae,val_psnr,learning_rate,seconds\n";
    for (const auto& m : history)
        out += std::to_string(m.epoch) + "," + number(m.trainLoss) + "," + number(m.valLoss) + "," + number(m.valMae)
               + "," + number(m.baselineMae) + "," + number(m.valPsnr) + "," + number(m.learningRate) + ","
               + number(m.seconds) + "\n";
    return out;
}

std::vector<EpochMetrics> parseMetricsCsv(const std::string& text)
{
    std::vector<EpochMetrics> history;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        std::vector<std::string> f;
        std::string field;
        std::istringstream row(line);
        while (std::getline(row, field, ','))
            f.push_back(field);
        f.resize(8);
        EpochMetrics m;
        m.epoch = std::stoi(f[0]);
        m.trainLoss = parseNumber(f[1]);
        m.valLoss = parseNumber(f[2]);
        m.valMae = parseNumber(f[3]);
        m.baselineMae = parseNumber(f[4]);
        m.valPsnr = parseNumber(f[5]);
        m.learningRate = parseNumber(f[6]);
        m.seconds = parseNumber(f[7]);
        history.push_back(m);
    }
    return history;
}

void saveCheckpoint(const fs::path& file, FaceModelImpl& model, torch::optim::Optimizer* optimizer,
                    const std::string& metaJson)
{
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive;
    model.save(modelArchive);
    archive.write("model", modelArchive);
    if (optimizer) {
        torch::serialize::OutputArchive optimizerArchive;
        optimizer->save(optimizerArchive);
        archive.write("optimizer", optimizerArchive);
    }
    archive.write("rng_state", at::globalContext().defaultGenerator(at::kCPU).get_state());
    archive.write("meta", c10::IValue(metaJson));
    archive.write("kind", c10::IValue(std::string(modelKindName(model.kind()))));
    archive.write("size", c10::IValue(static_cast<int64_t>(model.imageSize())));
    // Temporary file + fsync + rename: a crash mid-write leaves the previous checkpoint intact.
    std::ostringstream bytes;
    archive.save_to(bytes);
    writeFileAtomic(file, bytes.str());
}

void restoreOptimizer(const fs::path& file, torch::optim::Optimizer& optimizer)
{
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(file.string());
        torch::serialize::InputArchive optimizerArchive;
        archive.read("optimizer", optimizerArchive);
        optimizer.load(optimizerArchive);
    } catch (const std::exception& e) {
        throw Error(displayPath(file) + ": cannot restore the optimizer: " + std::string(e.what()).substr(0, 300));
    }
}

LoadedModel loadCheckpoint(const fs::path& file)
{
    if (!fs::is_regular_file(file))
        throw Error(displayPath(file) + ": checkpoint not found");
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(file.string());
        c10::IValue kind, size, meta;
        archive.read("kind", kind);
        archive.read("size", size);
        archive.read("meta", meta);
        LoadedModel loaded;
        loaded.model = createModel(parseModelKind(kind.toStringRef()), static_cast<int>(size.toInt()));
        torch::serialize::InputArchive modelArchive;
        archive.read("model", modelArchive);
        loaded.model->load(modelArchive);
        loaded.metaJson = meta.toStringRef();
        return loaded;
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(displayPath(file) + ": cannot load checkpoint: " + std::string(e.what()).substr(0, 300));
    }
}

LoadedModel loadRunModel(const fs::path& runDir)
{
    if (!fs::is_regular_file(runDir / "run.json"))
        throw Error(displayPath(runDir) + ": not a training run (no run.json)");
    for (const char* name : {"best.pt", "last.pt"})
        if (fs::is_regular_file(runDir / name))
            return loadCheckpoint(runDir / name);
    throw Error(displayPath(runDir) + ": the run has no checkpoint yet");
}

std::optional<RunSummary> readRunSummary(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_regular_file(dir / "run.json", ec))
        return std::nullopt;
    try {
        const json run = json::parse(readFile(dir / "run.json"));
        RunSummary s;
        s.dir = fs::absolute(dir).lexically_normal();
        s.model = run.value("model", "");
        s.data = run.value("data", "");
        s.status = run.value("status", "");
        s.size = run.value("size", 0);
        s.started = run.value("started", "");
        if (fs::is_regular_file(dir / "metrics.csv", ec)) {
            const auto history = parseMetricsCsv(readFile(dir / "metrics.csv"));
            s.epochs = static_cast<int>(history.size());
            if (!history.empty())
                s.last = history.back();
            const int bestEpoch = run.value("best_epoch", 0);
            for (const auto& m : history)
                if (m.epoch == bestEpoch)
                    s.best = m;
        }
        return s;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

fs::path workspaceDir()
{
    if (const char* dir = std::getenv("FACEATLAS_WORKSPACE"); dir && *dir)
        return dir;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
        return fs::path(xdg) / "faceatlas";
    if (const char* home = std::getenv("HOME"); home && *home)
        return fs::path(home) / ".local" / "share" / "faceatlas";
    return fs::temp_directory_path() / "faceatlas-workspace";
}

void registerRun(const fs::path& runDir)
{
    const fs::path index = workspaceDir() / "runs.index";
    const std::string path = fs::absolute(runDir).lexically_normal().string();
    std::string text;
    std::error_code ec;
    if (fs::is_regular_file(index, ec))
        text = readFile(index);
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line == path)
            return;
    try {
        writeFileAtomic(index, text + path + "\n");
    } catch (const std::exception&) {
        // Listing is a convenience; a read-only workspace must not stop training.
    }
}

std::vector<RunSummary> listRuns(const std::optional<fs::path>& extraDir)
{
    std::vector<RunSummary> runs;
    std::set<std::string> seen;
    const auto add = [&](const fs::path& dir) {
        auto s = readRunSummary(dir);
        if (s && seen.insert(s->dir.string()).second)
            runs.push_back(*s);
    };
    std::error_code ec;
    const fs::path index = workspaceDir() / "runs.index";
    if (fs::is_regular_file(index, ec)) {
        std::istringstream in(readFile(index));
        for (std::string line; std::getline(in, line);)
            if (!line.empty())
                add(line);
    }
    if (extraDir && fs::is_directory(*extraDir, ec))
        for (const auto& entry : fs::directory_iterator(*extraDir, ec))
            add(entry.path());
    return runs;
}

} // namespace faceatlas
