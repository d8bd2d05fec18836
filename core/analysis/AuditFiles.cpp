#include "analysis/AuditFiles.h"

#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSuspectsHeader = "path,split,age,gender,predicted,predicted_sd,score,reasons";
constexpr const char* kDuplicatesHeader = "group,path,split,age,gender,kind,distance";
// Years by which the ages of copies of one face may differ before they are a conflict (AuditParams).
constexpr std::int64_t kMaxAgeTolerance = 1000;

std::string number(double value, const char* format)
{
    if (!std::isfinite(value))
        return {};
    char text[32];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string joined(const std::vector<std::string>& tokens)
{
    std::string out;
    for (const auto& t : tokens)
        out += (out.empty() ? "" : ";") + t;
    return out;
}

std::string labels(const Suspect& s)
{
    return csvField(s.path) + "," + s.split + "," + (s.age ? std::to_string(*s.age) : "") + "," + genderName(s.gender);
}

/** Lines of a CSV file after its header, checked; throws Error naming the file. */
std::vector<std::vector<std::string>> rows(const fs::path& file, const char* header, size_t fields)
{
    const std::string what = displayPath(file);
    std::istringstream in(readFile(file));
    std::string line;
    if (!std::getline(in, line) || line != header)
        throw Error(what + ": not an audit file (the first line is not '" + header + "')");
    std::vector<std::vector<std::string>> out;
    std::vector<std::string> f;
    size_t lines = 1;
    for (size_t n = 2; nextCsvRecord(in, line, lines); n = lines + 1) {
        if (!splitCsvLine(line, f) || f.size() != fields)
            throw Error(what + ":" + std::to_string(n) + ": expected " + std::to_string(fields) + " fields");
        out.push_back(f);
    }
    return out;
}

/** A number field: empty is NaN; anything but a finite decimal number is an error. */
double parseNumber(const std::string& text, const std::string& where)
{
    if (text.empty())
        return std::nan("");
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v) || text.find_first_of("xXnN") != std::string::npos)
        throw Error(where + ": '" + text.substr(0, 32) + "' is not a number");
    return v;
}

void parseLabels(const std::vector<std::string>& f, size_t at, Suspect& s, const std::string& where)
{
    s.split = f[at];
    if (s.split != "train" && s.split != "val")
        throw Error(where + ": split '" + s.split.substr(0, 16) + "' is not train or val");
    if (!f[at + 1].empty()) {
        const double age = parseNumber(f[at + 1], where);
        if (age < 0 || age > 200 || age != std::floor(age))
            throw Error(where + ": age '" + f[at + 1].substr(0, 16) + "' is not a whole number of years");
        s.age = static_cast<int>(age);
    }
    const std::string& g = f[at + 2];
    if (g != "M" && g != "F" && !g.empty())
        throw Error(where + ": gender '" + g.substr(0, 16) + "' is not M, F or empty");
    s.gender = g == "M" ? Gender::Male : (g == "F" ? Gender::Female : Gender::Unknown);
}

} // namespace

std::string suspectsCsv(const std::vector<Suspect>& suspects)
{
    std::string csv = std::string(kSuspectsHeader) + "\n";
    for (const Suspect& s : suspects)
        csv += labels(s) + "," + number(s.predicted, "%.1f") + "," + number(s.predictedSd, "%.2f") + ","
               + number(s.score, "%.3f") + "," + joined(s.reasons) + "\n";
    return csv;
}

std::string duplicatesCsv(const std::vector<AuditGroup>& groups, const std::vector<Suspect>& suspects)
{
    std::unordered_map<std::uint32_t, const Suspect*> byIndex;
    for (const Suspect& s : suspects)
        byIndex[s.index] = &s;
    std::string csv = std::string(kDuplicatesHeader) + "\n";
    for (const AuditGroup& g : groups)
        for (const DuplicateMember& m : g.members) {
            const auto it = byIndex.find(m.index);
            if (it == byIndex.end())
                throw Error("internal: a duplicate is not among the suspects");
            csv += std::to_string(g.id) + "," + labels(*it->second) + "," + (m.exact ? "exact" : "near") + ","
                   + std::to_string(m.distance) + "\n";
        }
    return csv;
}

nlohmann::json auditFileHashes(const std::string& suspectsCsvText, const std::string& duplicatesCsvText)
{
    return {{"suspects.csv", hexKey(fnv1a64(suspectsCsvText))}, {"duplicates.csv", hexKey(fnv1a64(duplicatesCsvText))}};
}

namespace {

/**
 * Reads DIR/audit.json into `result` (its text, the errors, the warning) and checks that the two
 * tables are the ones it was written with; returns its age tolerance. Throws Error naming the file.
 */
int readAuditSummary(const fs::path& dir, AuditResult& result)
{
    int ageTolerance = 0;
    const fs::path suspectsPath = dir / "suspects.csv", duplicatesPath = dir / "duplicates.csv";
    result.summaryJson = readFile(dir / "audit.json", kMaxManifestBytes);
    try {
        const auto summary = nlohmann::json::parse(result.summaryJson);
        if (!summary.is_object() || summary.value("format", "") != "faceatlas-audit")
            throw Error(displayPath(dir / "audit.json") + ": not an audit summary");
        const auto& oof = summary.at("oof");
        if (oof.at("mae").is_number())
            result.mae = oof.at("mae").get<double>();
        // Audits before the baseline was recorded have none: NaN, and no warning.
        if (oof.contains("baseline_mae") && oof.at("baseline_mae").is_number())
            result.baselineMae = oof.at("baseline_mae").get<double>();
        if (summary.contains("warning") && summary.at("warning").is_string())
            result.warning = summary.at("warning").get<std::string>().substr(0, 1000);
        ageTolerance = static_cast<int>(
            jsonInt(summary.at("settings"), "age_tolerance", 0, kMaxAgeTolerance, displayPath(dir / "audit.json")));
        // The tables this summary was written with (audits since the hashes were recorded): an audit
        // interrupted between renaming its files is refused rather than read as a mix of two.
        if (summary.contains("files")) {
            const auto written = auditFileHashes(readFile(suspectsPath), readFile(duplicatesPath));
            if (summary.at("files") != written)
                throw Error(
                    displayPath(dir) + ": its tables are not the ones audit.json was written with (an audit "
                    + "interrupted while its files were put in place); run the audit again, its folds are reused");
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(displayPath(dir / "audit.json") + ": invalid: " + std::string(e.what()).substr(0, 200));
    }
    return ageTolerance;
}

/**
 * Reads suspects.csv into result.suspects (indices from `records` when given, else the row
 * numbers) and counts their reasons; returns each path's row. Throws Error naming file and line.
 */
std::unordered_map<std::string, size_t> readSuspects(const fs::path& suspectsPath, const std::vector<Record>* records,
                                                     AuditResult& result)
{
    std::unordered_map<std::string, std::uint32_t> indexOf;
    if (records)
        for (size_t i = 0; i < records->size(); ++i)
            indexOf.emplace(recordKey((*records)[i]), static_cast<std::uint32_t>(i));
    std::unordered_map<std::string, size_t> rowOf;
    const auto suspectRows = rows(suspectsPath, kSuspectsHeader, 8);
    for (size_t r = 0; r < suspectRows.size(); ++r) {
        const auto& f = suspectRows[r];
        const std::string where = displayPath(suspectsPath) + ":" + std::to_string(r + 2);
        Suspect s;
        s.path = f[0];
        if (s.path.empty() || !rowOf.emplace(s.path, r).second)
            throw Error(where + ": empty or repeated path");
        if (records) {
            const auto it = indexOf.find(s.path);
            if (it == indexOf.end())
                throw Error(where + ": " + s.path.substr(0, 200) + " is not a face of the dataset");
            s.index = it->second;
        } else {
            s.index = static_cast<std::uint32_t>(r);
        }
        parseLabels(f, 1, s, where);
        s.predicted = static_cast<float>(parseNumber(f[4], where));
        s.predictedSd = static_cast<float>(parseNumber(f[5], where));
        s.score = parseNumber(f[6], where);
        for (size_t start = 0; !f[7].empty() && start <= f[7].size();) {
            const size_t end = std::min(f[7].find(';', start), f[7].size());
            s.reasons.push_back(f[7].substr(start, end - start));
            ++result.reasonCounts[s.reasons.back()];
            start = end + 1;
        }
        result.suspects.push_back(std::move(s));
    }
    return rowOf;
}

/** What reading duplicates.csv needs from the suspects read before it. */
struct SuspectRows {
    const std::unordered_map<std::string, size_t>& rowOf; // path -> its row of result.suspects
    int ageTolerance = 0;                                 // audit.json's, for flagging each group
};

/** Reads duplicates.csv into result.groups, each group flagged once complete. Throws Error naming file and line. */
void readDuplicates(const fs::path& duplicatesPath, const SuspectRows& suspects, AuditResult& result)
{
    const auto duplicateRows = rows(duplicatesPath, kDuplicatesHeader, 7);
    std::vector<const Suspect*> members;
    for (size_t r = 0; r < duplicateRows.size(); ++r) {
        const auto& f = duplicateRows[r];
        const std::string where = displayPath(duplicatesPath) + ":" + std::to_string(r + 2);
        const double id = parseNumber(f[0], where), distance = parseNumber(f[6], where);
        if (!(id >= 1) || id != std::floor(id) || id > static_cast<double>(duplicateRows.size()))
            throw Error(where + ": group '" + f[0].substr(0, 16) + "' is not a number from 1 to the rows' count");
        if (!(distance >= 0 && distance <= 64) || (f[5] != "exact" && f[5] != "near"))
            throw Error(where + ": kind must be exact or near and distance 0-64");
        const auto row = suspects.rowOf.find(f[1]);
        if (row == suspects.rowOf.end())
            throw Error(where + ": " + f[1].substr(0, 200) + " is not in suspects.csv");
        const int group = static_cast<int>(id);
        if (result.groups.empty() || result.groups.back().id != group) {
            if (!result.groups.empty() && result.groups.back().id > group)
                throw Error(where + ": groups are not in order");
            result.groups.push_back({group, {}, false, false, false});
        }
        const Suspect& s = result.suspects[row->second];
        result.groups.back().members.push_back({s.index, f[5] == "exact", static_cast<int>(distance)});
        members.push_back(&s);
        if (r + 1 == duplicateRows.size() || duplicateRows[r + 1][0] != f[0]) {
            flagGroup(result.groups.back(), members, suspects.ageTolerance);
            members.clear();
        }
    }
}

} // namespace

AuditResult readAudit(const fs::path& dir, const std::vector<Record>* records)
{
    AuditResult result;
    const int ageTolerance = readAuditSummary(dir, result);
    const auto rowOf = readSuspects(dir / "suspects.csv", records, result);
    readDuplicates(dir / "duplicates.csv", SuspectRows{rowOf, ageTolerance}, result);
    return result;
}

} // namespace faceatlas
