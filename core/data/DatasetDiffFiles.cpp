#include "data/DatasetHistory.h"

#include "util/Csv.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <nlohmann/json.hpp>

// Writing a comparison of two preparations: diff.csv, diff.json and the command line's summary.

namespace faceatlas {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string ageText(const std::optional<int>& age)
{
    return age ? std::to_string(*age) : std::string();
}

json versionJson(const PreparationVersion& v)
{
    return {{"dir", displayPath(v.dir)},
            {"fingerprint", v.fingerprint},
            {"created", v.created},
            {"source", v.source},
            {"size", v.size},
            {"count", v.count},
            {"settings", v.settings},
            {"review_file", v.reviewFile}};
}

} // namespace

std::string diffCsv(const PreparationDiff& diff)
{
    std::string out = "path,change,cause,detail,old_age,new_age,old_gender,new_gender\n";
    for (const FaceChange& c : diff.changes)
        out += csvField(c.key) + ',' + faceChangeName(c.change) + ',' + c.cause + ',' + csvField(c.detail) + ','
               + ageText(c.oldAge) + ',' + ageText(c.newAge) + ',' + genderName(c.oldGender) + ','
               + genderName(c.newGender) + '\n';
    return out;
}

std::string diffJson(const PreparationDiff& diff, int indent)
{
    json counts = json::object();
    for (const FaceChangeKind kind : {FaceChangeKind::Removed, FaceChangeKind::Added, FaceChangeKind::Relabelled}) {
        json byCause = json::object();
        for (const char* cause : {"review", "step", "source"})
            byCause[cause] = diff.count(kind, cause);
        counts[faceChangeName(kind)] = {{"total", diff.count(kind)}, {"by_cause", byCause}};
    }
    counts["unchanged"] = diff.unchanged;
    json changes = json::array();
    for (const FaceChange& c : diff.changes)
        changes.push_back({{"path", c.key},
                           {"change", faceChangeName(c.change)},
                           {"cause", c.cause},
                           {"detail", c.detail},
                           {"old_age", c.oldAge ? json(*c.oldAge) : json()},
                           {"new_age", c.newAge ? json(*c.newAge) : json()},
                           {"old_gender", genderName(c.oldGender)},
                           {"new_gender", genderName(c.newGender)},
                           {"a_row", c.aRow},
                           {"b_row", c.bRow}});
    const json out = {{"format", outputKindFormat(OutputKind::Diff)},
                      {"version", 1},
                      {"created", utcTimestamp()},
                      {"a", versionJson(diff.a)},
                      {"b", versionJson(diff.b)},
                      {"counts", counts},
                      {"notes", diff.notes},
                      {"changes", changes}};
    return jsonText(out, indent);
}

std::string diffSummary(const PreparationDiff& diff)
{
    std::string out = "A: " + displayPath(diff.a.dir) + " (" + diff.a.created + ", " + std::to_string(diff.a.count)
                      + " faces)\nB: " + displayPath(diff.b.dir) + " (" + diff.b.created + ", "
                      + std::to_string(diff.b.count) + " faces)\n";
    for (const FaceChangeKind kind : {FaceChangeKind::Removed, FaceChangeKind::Added, FaceChangeKind::Relabelled}) {
        out += std::string(faceChangeName(kind)) + ": " + std::to_string(diff.count(kind));
        std::string causes;
        for (const char* cause : {"review", "step", "source"})
            if (const size_t n = diff.count(kind, cause))
                causes += (causes.empty() ? "" : ", ") + std::to_string(n) + " by " + cause;
        out += (causes.empty() ? "" : " (" + causes + ")") + "\n";
    }
    out += "unchanged: " + std::to_string(diff.unchanged) + "\n";
    for (const std::string& note : diff.notes)
        out += "note: " + note + "\n";
    return out;
}

void writeDiff(const PreparationDiff& diff, const fs::path& out)
{
    const OutputRules rules{false, {diff.a.dir, diff.b.dir}};
    StagedFolder staged(out, OutputKind::Diff, rules);
    writeFileAtomic(staged.work() / "diff.csv", diffCsv(diff));
    writeFileAtomic(staged.work() / "diff.json", diffJson(diff) + "\n"); // the manifest, last
    staged.commit();
}

} // namespace faceatlas
