// `history` and `diff`: the versions of a dataset (its preparations) and what changed between two.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "data/DatasetHistory.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace faceatlas::cli {

namespace {

nlohmann::json versionJson(const PreparationVersion& v)
{
    return {{"dir", displayPath(v.dir)},
            {"created", v.created},
            {"fingerprint", v.fingerprint},
            {"source", v.source},
            {"size", v.size},
            {"count", v.count},
            {"train", v.train},
            {"val", v.val},
            {"settings", v.settings},
            {"review_file", v.reviewFile},
            {"review_decisions", v.reviewDecisions},
            {"review_excluded", v.reviewExcluded},
            {"review_age_corrected", v.reviewAgeCorrected},
            {"review_gender_corrected", v.reviewGenderCorrected},
            {"bytes", v.bytes},
            {"shared_bytes", v.sharedBytes},
            {"kept", v.kept}};
}

} // namespace

int runHistory(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("history"));
    const std::filesystem::path data = std::filesystem::u8path(args.required("data"));
    const std::optional<std::string> remove = args.value("remove");
    const bool json = args.has("json");
    args.rejectUnknown();

    nlohmann::json out = nlohmann::json::object();
    if (remove) {
        const RemovedPreparation removed = removePreparation(std::filesystem::u8path(*remove), data);
        out["removed"] = {{"dir", *remove}, {"freed_bytes", removed.freed}, {"left", removed.leftFiles}};
        if (!json) {
            std::printf("removed %s: %s freed\n", remove->c_str(), byteText(removed.freed).c_str());
            if (!removed.leftFiles.empty())
                std::printf("  the folder stays: it holds %zu entries FaceAtlas did not write (%s ...)\n",
                            removed.leftFiles.size(), removed.leftFiles.front().c_str());
        }
    }
    std::vector<std::string> problems;
    const std::vector<PreparationVersion> versions = preparationHistory(data, &problems);
    const std::filesystem::path self = std::filesystem::absolute(data).lexically_normal();
    if (json) {
        out["versions"] = nlohmann::json::array();
        for (const auto& v : versions)
            out["versions"].push_back(versionJson(v));
        out["problems"] = problems;
        printLine(jsonText(out));
        return 0;
    }
    std::printf("source: %s\n%zu versions, oldest first (* the one --data names):\n\n", versions.front().source.c_str(),
                versions.size());
    std::printf("  %-2s %-20s %7s %13s %-34s %9s  %s\n", "#", "created", "faces", "train/val", "review", "disk",
                "folder");
    std::uint64_t total = 0;
    for (size_t i = 0; i < versions.size(); ++i) {
        const PreparationVersion& v = versions[i];
        std::string review = "-";
        if (!v.reviewFile.empty())
            review = std::to_string(v.reviewDecisions) + " decisions: " + std::to_string(v.reviewExcluded) + " excl, "
                     + std::to_string(v.reviewAgeCorrected + v.reviewGenderCorrected) + " relabel";
        const std::string counts = std::to_string(v.train) + "/" + std::to_string(v.val);
        std::printf("%s %-2zu %-20s %7zu %13s %-34s %9s  %s%s\n", v.dir == self ? "*" : " ", i + 1, v.created.c_str(),
                    v.count, counts.c_str(), review.c_str(), byteText(v.bytes).c_str(), displayPath(v.dir).c_str(),
                    v.kept ? " (kept)" : "");
        std::printf("       %s%s\n", v.settings.c_str(),
                    v.sharedBytes ? ("; " + byteText(v.sharedBytes) + " shared with another version").c_str() : "");
        total += v.bytes;
    }
    std::printf("\n%s on disk in all (files shared between versions counted with each)\n", byteText(total).c_str());
    for (const auto& p : problems)
        std::printf("not read: %s\n", p.c_str());
    return 0;
}

int runDiff(const std::vector<std::string>& words)
{
    // A and B come first, as words; the options after them.
    std::vector<std::string> paths, options;
    for (const auto& w : words)
        (w.rfind("--", 0) == 0 || !options.empty() ? options : paths).push_back(w);
    // An option's value is a word too: it follows its option into `options`.
    const Args args(options, commandSpec("diff"));
    const std::optional<std::string> out = args.value("out");
    const bool json = args.has("json");
    args.rejectUnknown();
    if (paths.size() != 2)
        throw UsageError("give two prepared dataset folders, A and B (see 'faceatlas-cli diff --help')");

    const PreparationDiff diff = diffPreparations(std::filesystem::u8path(paths[0]), std::filesystem::u8path(paths[1]));
    if (out)
        writeDiff(diff, std::filesystem::u8path(*out));
    if (json)
        printLine(diffJson(diff, -1));
    else {
        std::fputs(diffSummary(diff).c_str(), stdout);
        if (out)
            std::printf("written: %s/diff.csv, %s/diff.json\n", out->c_str(), out->c_str());
    }
    return 0;
}

} // namespace faceatlas::cli
