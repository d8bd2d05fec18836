// `slices`: an age model's error by slice, with bootstrap intervals, beside the baseline.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "analysis/SliceJob.h"
#include "data/ClusterAssignments.h"
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/SourceColumns.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace faceatlas::cli {

namespace {

using nlohmann::json;

/**
 * --by values: "gender" or "gender,race"; each checked against the attribute table, or one of
 * `given` (attributes the command's options supply, as "cluster" with --clusters).
 */
std::vector<std::vector<std::string>> parseGroupings(const std::vector<std::string>& specs,
                                                     const std::vector<std::string>& given)
{
    std::vector<std::vector<std::string>> groupings;
    for (const std::string& spec : specs) {
        std::vector<std::string> parts;
        std::stringstream in(spec);
        for (std::string name; std::getline(in, name, ',');)
            if (std::find(given.begin(), given.end(), name) != given.end())
                parts.push_back(name);
            else if (name == "cluster")
                throw UsageError("--by cluster needs --clusters DIR (a clustering of the preparation)");
            else
                try {
                    parts.push_back(sliceAttribute(name).name);
                } catch (const Error& e) {
                    std::string also; // the preparation's CSV columns and what the options give
                    for (const std::string& g : given)
                        also += (also.empty() ? "" : ", ") + g;
                    throw UsageError(std::string("--by: ") + e.what()
                                     + (also.empty() ? "" : "; or, for this preparation: " + also));
                }
        if (parts.empty() || parts.size() > 2)
            throw UsageError("--by '" + spec + "': one attribute, or two joined by a comma");
        groupings.push_back(parts);
    }
    return groupings;
}

json rowJson(const SliceRow& r)
{
    return {{"by", r.by},
            {"slice", r.slice},
            {"n", r.n},
            {"mae", r.mae},
            {"mae_interval", {r.maeLo, r.maeHi}},
            {"bias", r.bias},
            {"bias_interval", {r.biasLo, r.biasHi}},
            {"baseline_mae", r.baselineMae},
            {"equal_weight_mae", r.equalWeightMae},
            {"flag", r.flag},
            {"audit_flagged", r.auditFlagged >= 0 ? json(r.auditFlagged) : json(nullptr)},
            {"audit_share", r.auditFlagged >= 0 && r.n ? json(double(r.auditFlagged) / double(r.n)) : json(nullptr)}};
}

/**
 * Each face's cluster ("3"; "" outside the clustered faces) from the clustering in `dir`, which
 * must be of `data`: its metrics.json's fingerprint decides first (a re-preparation of the same
 * files keeps the paths but is another preparation), then assignments.csv's paths, row by row.
 * Clusterings made before FaceAtlas recorded the fingerprint (before 2026-11-29) have none: they
 * are matched on the paths alone, and `note` says so.
 */
std::vector<std::string> clusterValues(const std::filesystem::path& dir, const PreparedDataset& data, std::string& note)
{
    const auto metricsFile = dir / "metrics.json";
    json metrics;
    try {
        metrics = json::parse(readFile(metricsFile, kMaxManifestBytes));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(displayPath(metricsFile) + ": invalid: " + e.what());
    }
    if (!metrics.is_object())
        throw Error(displayPath(metricsFile) + ": not a clustering's metrics (no JSON object)");
    const auto fingerprint = metrics.find("data_fingerprint");
    if (fingerprint != metrics.end() && !fingerprint->is_string())
        throw Error(displayPath(metricsFile) + ": data_fingerprint is not text");
    if (fingerprint == metrics.end())
        note = displayPath(metricsFile) + " does not say which preparation was clustered (made by an older "
               + "FaceAtlas): its faces were matched to " + displayPath(data.dir())
               + " by their paths alone; cluster again for a checked clustering";
    else if (!madeFromDataset(fingerprint->get<std::string>(), data))
        throw Error("--clusters: " + displayPath(dir) + " is a clustering of another preparation than "
                    + displayPath(data.dir()) + "; encode and cluster this preparation first");
    std::vector<std::string> values;
    for (const int label : readAssignments(dir, data.records()))
        values.push_back(label < 0 ? std::string() : std::to_string(label));
    return values;
}

void printTable(const SliceReport& report)
{
    std::printf("%-22s %-22s %6s %16s %17s %9s %8s\n", "by", "slice", "n", "MAE [95%]", "bias [95%]", "baseline",
                "eq.w.");
    for (const SliceRow& r : report.rows)
        std::printf(
            "%-22s %-22s %6zu %5.2f [%4.2f,%5.2f] %+5.2f [%+5.2f,%+5.2f] %9.2f %8.2f %s%s\n", r.by.c_str(),
            r.slice.c_str(), r.n, r.mae, r.maeLo, r.maeHi, r.bias, r.biasLo, r.biasHi, r.baselineMae, r.equalWeightMae,
            r.flag.c_str(),
            r.auditFlagged < 0
                ? ""
                : (" flagged by audit: " + std::to_string(r.auditFlagged) + " of " + std::to_string(r.n)).c_str());
    for (const SliceGap& g : report.gaps)
        std::printf("gap by %s: %s (worst) - %s (best) = %.2f years [%.2f, %.2f]\n", g.by.c_str(), g.worst.c_str(),
                    g.best.c_str(), g.gap, g.gapLo, g.gapHi);
}

/**
 * The kept CSV columns the groupings name (given[0, columnCount) are the preparation's), read from
 * the preparation and checked against its rows, as attributes of the slice job.
 */
void addColumnAttributes(SliceJobParams& p, const PreparedDataset& data, const std::vector<std::string>& given,
                         std::size_t columnCount)
{
    const auto isColumn = [&](const std::string& name) {
        return std::find(given.begin(), given.begin() + static_cast<std::ptrdiff_t>(columnCount), name)
               != given.begin() + static_cast<std::ptrdiff_t>(columnCount);
    };
    bool byColumn = false;
    for (const auto& names : p.groupings)
        for (const std::string& name : names)
            byColumn = byColumn || isColumn(name);
    if (!byColumn)
        return;
    const SourceColumns columns = readPreparedColumns(data);
    for (std::size_t k = 0; k < columns.names.size(); ++k)
        if (isColumn(columns.names[k]))
            p.extraAttributes.emplace_back(columns.names[k], columns.values(k));
}

/** The quality columns the groupings name (and no kept column does), as quartile bands over the faces. */
void addQualityAttributes(SliceJobParams& p, const PreparedDataset& data, const std::vector<std::string>& given,
                          std::size_t columnCount)
{
    std::vector<std::string> byQuality;
    for (const auto& names : p.groupings)
        for (const std::string& name : names)
            if (qualityColumnIndex(name) >= 0
                && std::find(given.begin(), given.begin() + static_cast<std::ptrdiff_t>(columnCount), name)
                       == given.begin() + static_cast<std::ptrdiff_t>(columnCount)
                && std::find(byQuality.begin(), byQuality.end(), name) == byQuality.end())
                byQuality.push_back(name);
    if (byQuality.empty())
        return;
    const FaceQuality quality = readPreparedQuality(data);
    if (quality.empty())
        throw Error(noQualityMessage(data));
    for (const std::string& name : byQuality) {
        const int k = quality.find(name);
        if (k < 0)
            throw Error(noQualityMessage(data));
        p.extraAttributes.emplace_back(name, qualityQuartiles(quality.column(static_cast<size_t>(k))));
    }
}

/** What slices.json records about the run it judged. */
struct SlicedRun {
    std::filesystem::path dir;
    std::string split;
    float baselineAge;
};

/** slices.json: the run, the data, the settings, every slice and gap, and the audit's share. */
json slicesManifest(const SliceJobResult& result, const SliceSettings& settings, const SlicedRun& run,
                    const PreparedDataset& data, const std::optional<std::string>& auditArg)
{
    const SliceReport& report = result.report;
    json rows = json::array(), gaps = json::array(), unknown = json::object();
    for (const SliceRow& r : report.rows)
        rows.push_back(rowJson(r));
    for (const SliceGap& g : report.gaps)
        gaps.push_back(
            {{"by", g.by}, {"best", g.best}, {"worst", g.worst}, {"gap", g.gap}, {"interval", {g.gapLo, g.gapHi}}});
    for (const auto& [by, n] : report.unknown)
        unknown[by] = n;
    return {
        {"format", outputKindFormat(OutputKind::Slices)},
        {"version", 1},
        {"run", std::filesystem::absolute(run.dir).lexically_normal().string()},
        {"data", data.dir().string()},
        {"data_fingerprint", datasetFingerprint(data)},
        {"settings",
         {{"split", run.split},
          {"boot", settings.boot},
          {"seed", settings.seed},
          {"min_n", settings.minN},
          {"level", settings.level},
          {"baseline_age", run.baselineAge}}},
        {"rows", rows},
        {"gaps", gaps},
        {"faces_without_value", unknown},
        {"note", result.note},
        {"audit",
         auditArg
             ? json{{"dir", std::filesystem::absolute(std::filesystem::u8path(*auditArg)).lexically_normal().string()},
                    {"flagged", report.rows.empty() ? 0 : report.rows.front().auditFlagged}}
             : json(nullptr)}};
}

} // namespace

std::string slicesHelpColumns(const std::vector<std::string>& words)
{
    std::vector<std::string> rest;
    for (const std::string& word : words)
        if (word != "--help" && word != "-h")
            rest.push_back(word);
    std::vector<std::string> names;
    try {
        const Args args(rest, commandSpec("slices"));
        if (const auto data = args.value("data"))
            names = preparedColumnNames(std::filesystem::u8path(*data));
    } catch (const std::exception&) {
        return {}; // the help is still printed; running the command says what is wrong
    }
    if (names.empty())
        return {};
    std::string text = "\nPREPARED's further CSV columns (--by COLUMN):\n";
    for (const std::string& name : names)
        text += "    " + name + "\n";
    return text;
}

int runSlices(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("slices"));
    const auto runDir = std::filesystem::u8path(args.required("run"));
    const auto dataDir = std::filesystem::u8path(args.required("data"));
    const auto outDir = std::filesystem::u8path(args.required("out"));
    const std::string splitName = *args.value("split");
    if (splitName != "val" && splitName != "all")
        throw UsageError("--split is '" + splitName + "': val or all");
    SliceJobParams p;
    p.run = runDir;
    p.allFaces = splitName == "all";
    p.settings.boot = args.intValue("boot");
    p.settings.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    const long long minN = args.longValue("min-n");
    p.device = *args.value("device");
    const bool jsonOut = args.has("json");
    const auto clustersArg = args.value("clusters");
    const auto auditArg = args.value("audit");
    // What --by may name besides the table: the preparation's kept CSV columns, and "cluster" with --clusters.
    std::vector<std::string> given = preparedColumnNames(dataDir);
    const std::size_t columnCount = given.size();
    if (clustersArg)
        given.push_back("cluster");
    for (const QualityColumn& q : qualityColumns()) // read (and checked) only when a grouping names one
        given.emplace_back(q.name);
    if (!args.values("by").empty())
        p.groupings = parseGroupings(args.values("by"), given);
    args.rejectUnknown();
    if (p.settings.boot < 0 || p.settings.boot > 100000)
        throw UsageError("--boot is " + std::to_string(p.settings.boot) + ": from 0 to 100000");
    if (minN < 1)
        throw UsageError("--min-n is " + std::to_string(minN) + ": at least 1");
    p.settings.minN = static_cast<std::size_t>(minN);

    checkOutputFolder(outDir, OutputKind::Slices, {false, {runDir, dataDir}});
    const PreparedDataset data = PreparedDataset::open(dataDir);
    std::string clustersNote;
    if (clustersArg)
        p.extraAttributes.emplace_back("cluster",
                                       clusterValues(std::filesystem::u8path(*clustersArg), data, clustersNote));
    addColumnAttributes(p, data, given, columnCount);
    addQualityAttributes(p, data, given, columnCount);
    // The audit is checked (of this preparation) and read before the model runs.
    std::optional<std::vector<char>> auditFlags;
    if (auditArg)
        auditFlags = auditFlaggedRows(std::filesystem::u8path(*auditArg), data);
    SliceJobResult result = runSliceJob(data, p);
    if (!clustersNote.empty()) // said beside the run's note, in slices.json and on stderr
        result.note = clustersNote + (result.note.empty() ? "" : "; " + result.note);
    if (auditFlags)
        countSliceAuditFlags(result, *auditFlags);
    const SliceReport& report = result.report;
    const json manifest =
        slicesManifest(result, p.settings, {runDir, splitName, runBaselineAge(runDir, data)}, data, auditArg);
    StagedFolder staged(outDir, OutputKind::Slices, {false, {runDir, dataDir}});
    writeFileAtomic(staged.work() / "slices.csv", slicesCsv(report), /*durable=*/false);
    writeFileAtomic(staged.work() / "slices.json", jsonText(manifest, 2) + "\n", /*durable=*/false);
    staged.commit();
    if (!result.note.empty())
        std::fprintf(stderr, "note: %s\n", result.note.c_str());
    if (jsonOut)
        printLine(jsonText(manifest));
    else
        printTable(report);
    std::fprintf(stderr, "wrote %s and %s\n", displayPath(outDir / "slices.csv").c_str(),
                 displayPath(outDir / "slices.json").c_str());
    return 0;
}

} // namespace faceatlas::cli
