#include "ml/Runs.h"

#include "ml/CheckpointHeader.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>
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

constexpr const char* kMetricsHeader = "epoch,train_loss,val_loss,val_mae,baseline_mae,val_psnr,learning_rate,seconds";

/** A field of metrics.csv: empty (NaN) or a whole decimal number; throws Error otherwise. */
double parseNumber(const std::string& text, const std::string& where)
{
    if (text.empty())
        return std::nan("");
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno == ERANGE)
        throw Error(where + ": '" + text.substr(0, 40) + "' is not a number");
    return v;
}

} // namespace

std::string metricsCsv(const std::vector<EpochMetrics>& history)
{
    std::string out = std::string(kMetricsHeader) + "\n";
    for (const auto& m : history)
        out += std::to_string(m.epoch) + "," + number(m.trainLoss) + "," + number(m.valLoss) + "," + number(m.valMae)
               + "," + number(m.baselineMae) + "," + number(m.valPsnr) + "," + number(m.learningRate) + ","
               + number(m.seconds) + "\n";
    return out;
}

std::vector<EpochMetrics> parseMetricsCsv(const std::string& text, const std::string& source)
{
    std::vector<EpochMetrics> history;
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != kMetricsHeader)
        throw Error(source + ": not a metrics file (its first line is not the expected header)");
    int lineNumber = 1;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (line.empty())
            continue;
        const std::string where = source + " line " + std::to_string(lineNumber);
        std::vector<std::string> f;
        size_t from = 0;
        for (;;) {
            const size_t comma = line.find(',', from);
            f.push_back(line.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
            if (comma == std::string::npos)
                break;
            from = comma + 1;
        }
        if (f.size() != 8)
            throw Error(where + ": " + std::to_string(f.size()) + " fields, expected 8");
        EpochMetrics m;
        const double epoch = parseNumber(f[0], where);
        if (!(epoch >= 1 && epoch <= 1e6) || epoch != std::floor(epoch))
            throw Error(where + ": epoch '" + f[0].substr(0, 20) + "' is not a whole number from 1");
        m.epoch = static_cast<int>(epoch);
        if (!history.empty() && m.epoch <= history.back().epoch)
            throw Error(where + ": epoch " + f[0] + " does not follow epoch " + std::to_string(history.back().epoch));
        m.trainLoss = parseNumber(f[1], where);
        m.valLoss = parseNumber(f[2], where);
        m.valMae = parseNumber(f[3], where);
        m.baselineMae = parseNumber(f[4], where);
        m.valPsnr = parseNumber(f[5], where);
        m.learningRate = parseNumber(f[6], where);
        m.seconds = parseNumber(f[7], where);
        history.push_back(m);
    }
    return history;
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
    RunSummary s;
    s.dir = fs::absolute(dir).lexically_normal();
    try {
        const json run = json::parse(readFile(dir / "run.json", kMaxManifestBytes));
        if (!run.is_object())
            throw Error("not a JSON object");
        const auto text = [&](const char* key) {
            const auto it = run.find(key);
            return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        s.model = text("model");
        s.data = text("data");
        s.status = text("status");
        s.started = text("started");
        const std::string what = displayPath(dir / "run.json");
        s.size = static_cast<int>(jsonIntOr(run, "size", 0, 0, 1024, what));
        s.plannedEpochs = static_cast<int>(jsonIntOr(run, "epochs", 0, 0, kMaxEpoch, what));
        const auto bestEpoch = jsonIntOr(run, "best_epoch", 0, 0, kMaxEpoch, what);
        if (fs::is_regular_file(dir / "metrics.csv", ec)) {
            const auto history = parseMetricsCsv(readFile(dir / "metrics.csv"), displayPath(dir / "metrics.csv"));
            s.epochs = static_cast<int>(history.size());
            if (!history.empty())
                s.last = history.back();
            for (const auto& m : history)
                if (m.epoch == bestEpoch)
                    s.best = m;
        }
    } catch (const Error& e) {
        s.status = "damaged";
        s.problem = e.what();
    } catch (const std::exception& e) {
        s.status = "damaged";
        s.problem = displayPath(dir / "run.json") + ": invalid: " + std::string(e.what()).substr(0, 200);
    }
    return s;
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

void registerRun(const fs::path& runDir, const fs::path& workspace)
{
    const fs::path index = (workspace.empty() ? workspaceDir() : workspace) / "runs.index";
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

std::vector<RunSummary> listRuns(const std::optional<fs::path>& extraDir, const fs::path& workspace)
{
    std::vector<RunSummary> runs;
    std::set<std::string> seen;
    const auto add = [&](const fs::path& dir) {
        auto s = readRunSummary(dir);
        if (s && seen.insert(s->dir.string()).second)
            runs.push_back(*s);
    };
    std::error_code ec;
    const fs::path index = (workspace.empty() ? workspaceDir() : workspace) / "runs.index";
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
