// `audit`, `review-queue` and `export`: the label audit of a prepared dataset, its review queue in
// an order, and the cleaned CSV.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "analysis/AuditFiles.h"
#include "analysis/AuditJob.h"
#include "analysis/ReviewOrder.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/ReviewFile.h"
#include "data/WorkspaceIndex.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

namespace faceatlas::cli {

int runAudit(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("audit"));
    AuditParams p;
    p.data = std::filesystem::u8path(args.required("data"));
    p.out = std::filesystem::u8path(args.required("out"));
    p.folds = args.intValue("folds");
    p.epochs = args.intValue("epochs");
    p.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    p.device = *args.value("device");
    p.model = parseModelKind(*args.value("model"));
    p.nearDistance = args.intValue("near-distance");
    p.minCorrelation = args.doubleValue("min-correlation");
    p.featureNeighbours = args.intValue("feature-neighbours");
    p.predict = !args.has("no-predict");
    if (args.has("threads"))
        p.threads = args.intValue("threads");
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

namespace {

/** The codes in `codesDir`, which must be of `data`'s preparation, one per face. */
Codes codesOf(const std::filesystem::path& codesDir, const PreparedDataset& data, const std::filesystem::path& dataDir)
{
    Codes codes = Codes::open(codesDir);
    if (!codes.dataFingerprint().empty() && !madeFromDataset(codes.dataFingerprint(), data))
        throw Error(displayPath(codesDir) + " holds the codes of another preparation than " + displayPath(dataDir)
                    + ": encode it again");
    if (codes.count() != data.count())
        throw Error(displayPath(codesDir) + " holds " + std::to_string(codes.count()) + " codes, "
                    + displayPath(dataDir) + " " + std::to_string(data.count()) + " faces");
    return codes;
}

/** The faces a review file decided (an undo takes a decision back), and each one's decision in words. */
void readDecisions(const std::filesystem::path& file, const PreparedDataset& data, std::vector<std::uint32_t>& reviewed,
                   std::vector<std::string>& decided)
{
    const ReviewFile review = ReviewFile::load(file, decisionsAboutFolders(data.records()));
    for (std::size_t r = 0; r < data.count(); ++r)
        if (const ReviewDecision* d = review.latestFor(recordKey(data.records()[r]));
            d && d->action != ReviewAction::Undo) {
            reviewed.push_back(static_cast<std::uint32_t>(r));
            decided[r] = reviewActionName(d->action) + (d->newLabel.empty() ? "" : " " + d->newLabel);
        }
}

} // namespace

int runReviewQueue(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("review-queue"));
    const auto dataDir = std::filesystem::u8path(args.required("data"));
    const auto auditDir = std::filesystem::u8path(args.required("audit"));
    const std::string orderName = *args.value("order");
    const auto codesArg = args.value("codes");
    const auto reviewArg = args.value("review");
    const std::string reason = args.value("reason").value_or("");
    const int limit = args.intValue("limit");
    const bool csv = args.has("csv");
    args.rejectUnknown();
    const auto order = parseReviewOrder(orderName);
    if (!order)
        throw UsageError("--order takes score, uncertainty or informative, not '" + orderName + "'");
    if (limit < 0)
        throw UsageError("--limit must be 0 (all) or more");

    const PreparedDataset data = PreparedDataset::open(dataDir);
    // The audit, and the codes, must be of this preparation: their rows are its records.
    const Artifact artifact = readArtifact(OutputKind::Audit, auditDir);
    if (!artifact.usable())
        throw Error(artifact.damaged);
    if (!artifact.dataFingerprint.empty() && !madeFromDataset(artifact.dataFingerprint, data))
        throw Error(displayPath(auditDir) + " is an audit of another preparation than " + displayPath(dataDir));
    const AuditResult audit = readAudit(auditDir, &data.records());
    std::optional<Codes> codes;
    if (codesArg)
        codes.emplace(codesOf(std::filesystem::u8path(*codesArg), data, dataDir));
    std::vector<std::uint32_t> reviewed;
    std::vector<std::string> decided(data.count());
    if (reviewArg)
        readDecisions(std::filesystem::u8path(*reviewArg), data, reviewed, decided);
    const ReviewQueue queue =
        orderReviewQueue(audit, *order, codes ? &*codes : nullptr, reviewed, installInterruptHandler());
    if (queue.cancelled)
        return 130;

    // What the order is, on stderr beside a CSV (stdout stays a table), on stdout otherwise.
    std::string said = std::string("order: ") + reviewOrderName(queue.used);
    if (!queue.fallback.empty())
        said += std::string(" (asked for ") + reviewOrderName(queue.asked) + ": " + queue.fallback
                + (queue.asked == ReviewOrder::Informative && !codes ? "; give --codes" : "") + ")";
    else if (queue.used == ReviewOrder::Informative)
        said += ", compared with " + std::to_string(queue.reviewedWithCodes) + " faces reviewed already";
    std::fprintf(csv ? stderr : stdout, "%s\n", said.c_str());
    if (csv)
        std::printf("rank,path,age,predicted,predicted_sd,score,order_value,novelty,reasons,decided\n");
    std::size_t listed = 0;
    for (std::size_t k = 0; k < queue.suspects.size() && (limit == 0 || listed < static_cast<std::size_t>(limit));
         ++k) {
        const Suspect& s = audit.suspects[queue.suspects[k]];
        if (!reason.empty() && std::find(s.reasons.begin(), s.reasons.end(), reason) == s.reasons.end())
            continue;
        ++listed;
        std::string reasons;
        for (const auto& t : s.reasons)
            reasons += (reasons.empty() ? "" : ";") + t;
        const std::string& mark = s.index < decided.size() ? decided[s.index] : std::string();
        const auto number = [](double v, int decimals) { return std::isfinite(v) ? formatDouble(v, decimals) : ""; };
        if (csv)
            std::printf("%zu,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", listed, csvField(s.path).c_str(),
                        s.age ? std::to_string(*s.age).c_str() : "", number(s.predicted, 2).c_str(),
                        number(s.predictedSd, 2).c_str(), number(s.score, 3).c_str(), number(queue.value[k], 3).c_str(),
                        number(queue.novelty[k], 3).c_str(), reasons.c_str(), mark.c_str());
        else
            std::printf("%4zu  %s  age %s, predicted %s +- %s, score %s%s  %s%s\n", listed, s.path.c_str(),
                        s.age ? std::to_string(*s.age).c_str() : "-", formatDouble(s.predicted, 1).c_str(),
                        formatDouble(s.predictedSd, 1).c_str(), formatDouble(s.score, 2).c_str(),
                        queue.used == ReviewOrder::Informative && std::isfinite(queue.value[k])
                            ? (", novelty " + formatDouble(queue.novelty[k], 2)).c_str()
                            : "",
                        reasons.c_str(), mark.empty() ? "" : ("  [" + mark + "]").c_str());
    }
    return 0;
}

int runExport(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("export"));
    const auto data = std::filesystem::u8path(args.required("data"));
    const auto out = std::filesystem::u8path(args.required("out"));
    const bool quality = args.has("quality");
    args.rejectUnknown();
    const PreparedDataset prepared = PreparedDataset::open(data);
    exportCsvDataset(prepared, {}, out, quality);
    std::printf("%zu faces written to %s\n", prepared.count(), displayPath(out).c_str());
    return 0;
}

} // namespace faceatlas::cli
