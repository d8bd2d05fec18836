// `audit` and `export`: the label audit of a prepared dataset and its cleaned CSV.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "analysis/AuditJob.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "ml/ModelKinds.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace faceatlas::cli {

namespace {

const char* kAuditHelp =
    R"(usage: faceatlas-cli audit --data PREPARED --out DIR [--folds K] [--epochs N] [--seed S]
                          [--device auto|cpu|cuda] [--model AGE-MODEL] [--near-distance D]
                          [--min-correlation C] [--feature-neighbours K] [--no-predict]
                          [--threads T] [--json]

Audits the labels of a prepared dataset. Trains K age models so that every face is predicted by a
model that never saw it (copies of a face stay in one fold), finds exact and near duplicates and
checks the metadata. DIR receives:
  suspects.csv    path,split,age,gender,predicted,predicted_sd,score,reasons: one row per face,
                  highest score first (score: how unlikely the age is under the face's own
                  out-of-fold prediction, in calibrated standard deviations; reasons joined by ';')
  duplicates.csv  group,path,split,age,gender,kind,distance: one row per member of a group of
                  copies (kind exact: the same stored pixels; near: perceptual hashes DISTANCE bits apart,
                  or mirrored, or nearest in the first fold model's features)
  audit.json      counts per reason, duplicate groups, label conflicts, groups leaking across the
                  training / validation split, the out-of-fold MAE and the settings
  folds/          the fold runs: a rerun reuses finished folds and resumes an interrupted one

  --folds K           folds, 2-20 (default 5)
  --epochs N          training epochs per fold (default 10)
  --seed S            folds and training seed (default 1)
  --device D          auto, cpu or cuda (default auto)
  --model M           the age model the folds train (default age): any age model of
                      'faceatlas-cli train --help'; each gives a calibrated spread
  --near-distance D   near copies: perceptual hashes at most D bits apart, 0-11 (default 6) ...
  --min-correlation C ... and 16x16 grey thumbnails correlated at least C (default 0.95)
  --feature-neighbours K  also check each face's K nearest faces in the first fold model's
                      features as copies, 0-50 (default 5; 0: hashes only)
  --no-predict        metadata and duplicates only (no training; scores stay empty)
  --threads T         hashing and training threads (default: all cores)
  --json              print audit.json
)";

const char* kExportHelp = R"(usage: faceatlas-cli export --data PREPARED --out FILE.csv

Writes the cleaned dataset as CSV in the format of the csv: source (path,age,gender,split, and a
last column face, which face of its photo, when the preparation took every face of each photo),
one row per face the prepared folder holds, with the labels a review corrected. Any tool that reads
CSV reads it, and 'faceatlas-cli prepare --source csv:FILE.csv' prepares it again.
)";

} // namespace

int runAudit(const std::vector<std::string>& words)
{
    const Args args(words, {"json", "help", "no-predict"});
    if (args.has("help")) {
        std::fputs(kAuditHelp, stdout);
        return 0;
    }
    AuditParams p;
    p.data = std::filesystem::u8path(args.required("data"));
    p.out = std::filesystem::u8path(args.required("out"));
    p.folds = args.intValue("folds", p.folds);
    p.epochs = args.intValue("epochs", p.epochs);
    p.seed = static_cast<std::uint64_t>(args.longValue("seed", static_cast<long long>(p.seed)));
    p.device = args.value("device").value_or("auto");
    p.model = parseModelKind(args.value("model").value_or(modelNamesOf(ModelRole::AgeModel).front()));
    p.nearDistance = args.intValue("near-distance", p.nearDistance);
    p.minCorrelation = args.doubleValue("min-correlation", p.minCorrelation);
    p.featureNeighbours = args.intValue("feature-neighbours", p.featureNeighbours);
    p.predict = !args.has("no-predict");
    p.threads = args.intValue("threads", 0);
    const bool json = args.has("json");
    args.rejectUnknown();
    if (p.folds < 2 || p.folds > 20)
        throw UsageError("--folds must be between 2 and 20");
    if (p.epochs < 1)
        throw UsageError("--epochs must be at least 1");
    if (p.nearDistance < 0 || p.nearDistance > 11)
        throw UsageError("--near-distance must be between 0 and 11");
    if (p.featureNeighbours < 0 || p.featureNeighbours > 50)
        throw UsageError("--feature-neighbours must be between 0 and 50");
    if (!(p.minCorrelation >= -1.0 && p.minCorrelation <= 1.0))
        throw UsageError("--min-correlation must be between -1 and 1");
    if (modelKindInfo(p.model).role != ModelRole::AgeModel)
        throw UsageError("--model takes an age model: " + [] {
            std::string list;
            for (const std::string& name : modelNamesOf(ModelRole::AgeModel))
                list += (list.empty() ? "" : ", ") + name;
            return list;
        }() + " (the audit predicts ages)");

    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar;
    AuditJob job(p);
    const AuditResult r = job.run(cancel, [&](const AuditProgress& ap) {
        bar.update({ap.stage.c_str(), ap.done, ap.total});
    });
    bar.finish();
    if (r.cancelled) {
        std::fprintf(stderr, "audit: cancelled; run it again to continue from the finished folds\n");
        return 130;
    }
    if (json) {
        printLine(jsonText(nlohmann::json::parse(r.summaryJson)));
        return 0;
    }
    const auto summary = nlohmann::json::parse(r.summaryJson);
    std::printf("faces: %zu, out-of-fold MAE: %s years (baseline, always the training folds' median age: %s)\n",
                r.suspects.size(), formatDouble(r.mae, 2).c_str(), formatDouble(r.baselineMae, 2).c_str());
    if (!r.warning.empty())
        std::printf("warning: %s\n", r.warning.c_str());
    std::printf("duplicate groups: %zu (label conflicts: %zu, leaking across the split: %zu)\n", r.groups.size(),
                summary.at("conflicts").get<size_t>(), summary.at("leaking_groups").get<size_t>());
    for (const auto& [reason, count] : r.reasonCounts)
        std::printf("  %-22s %zu\n", reason.c_str(), count);
    std::printf("most suspect:\n");
    for (size_t i = 0; i < r.suspects.size() && i < 5; ++i) {
        const Suspect& s = r.suspects[i];
        std::string reasons;
        for (const auto& t : s.reasons)
            reasons += (reasons.empty() ? "" : ";") + t;
        std::printf("  %s  age %s, predicted %s +- %s, score %s  %s\n", s.path.c_str(),
                    s.age ? std::to_string(*s.age).c_str() : "-", formatDouble(s.predicted, 1).c_str(),
                    formatDouble(s.predictedSd, 1).c_str(), formatDouble(s.score, 2).c_str(), reasons.c_str());
    }
    std::printf("written: %s\n", displayPath(p.out).c_str());
    return 0;
}

int runExport(const std::vector<std::string>& words)
{
    const Args args(words, {"help"});
    if (args.has("help")) {
        std::fputs(kExportHelp, stdout);
        return 0;
    }
    const auto data = std::filesystem::u8path(args.required("data"));
    const auto out = std::filesystem::u8path(args.required("out"));
    args.rejectUnknown();
    const PreparedDataset prepared = PreparedDataset::open(data);
    exportCsvDataset(prepared, {}, out);
    std::printf("%zu faces written to %s\n", prepared.count(), displayPath(out).c_str());
    return 0;
}

} // namespace faceatlas::cli
