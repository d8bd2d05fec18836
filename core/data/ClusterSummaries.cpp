#include "data/ClusterSummaries.h"

#include "data/ClusterAssignments.h"
#include "data/PreparedDataset.h"
#include "data/Slices.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "faceatlas-cluster-names 1";
constexpr size_t kMaxNameBytes = 120;
constexpr double kNoDifference = 0.3; // effect sizes under this say nothing about a cluster
constexpr std::int64_t kFewest = 3;   // a part of a summary read from fewer faces is not read

/** The q-quantile of sorted `v` by linear interpolation between order statistics (numpy's default). */
double quantile(const std::vector<double>& v, double q)
{
    if (v.empty())
        return GroupSummary::kNaN;
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

/** Cohen's h between two shares: 0.2 small, 0.5 medium, 0.8 large. */
double cohenH(double p, double q)
{
    return 2 * std::asin(std::sqrt(std::clamp(p, 0.0, 1.0))) - 2 * std::asin(std::sqrt(std::clamp(q, 0.0, 1.0)));
}

json num(double v)
{
    return std::isfinite(v) ? json(v) : json();
}

json summaryJson(const GroupSummary& g)
{
    json out = {{"size", g.size}};
    if (g.aged > 0)
        out["age"] = {{"n", g.aged},        {"median", num(g.ageMedian)},    {"q1", num(g.ageQ1)},
                      {"q3", num(g.ageQ3)}, {"iqr", num(g.ageQ3 - g.ageQ1)}, {"sd", num(g.ageSd)}};
    out["gender"] = {
        {"F", g.female}, {"M", g.male}, {"unknown", g.unknownGender}, {"female_share", num(g.femaleShare())}};
    if (!g.races.empty()) {
        json shares = json::object();
        for (const auto& [race, n] : g.races)
            shares[race] = static_cast<double>(n) / static_cast<double>(g.raced());
        out["race"] = {{"counts", g.races}, {"shares", shares}};
    }
    if (g.flagged >= 0)
        out["audit"] = {
            {"flagged", g.flagged},
            {"share", g.size ? json(static_cast<double>(g.flagged) / static_cast<double>(g.size)) : json()}};
    if (g.framed)
        out["framing"] = {{"aligned", g.aligned}, {"no_face_found", g.noFaceFound}, {"several_faces", g.severalFaces}};
    if (std::isfinite(g.qualityMedian))
        out["quality"] = {{"median", g.qualityMedian}, {"q1", num(g.qualityQ1)}, {"q3", num(g.qualityQ3)}};
    return out;
}

/** Reads one summary back; `where` names the file and the cluster for the Error. */
class SummaryReader {
public:
    explicit SummaryReader(std::string where)
        : m_where(std::move(where))
    {
    }

    GroupSummary read(const json& j) const
    {
        if (!j.is_object())
            fail("the summary must be an object");
        GroupSummary g;
        g.size = count(j, "size");
        if (j.contains("age")) {
            const json& a = j.at("age");
            g.aged = count(a, "n");
            g.ageMedian = number(a, "median");
            g.ageQ1 = number(a, "q1");
            g.ageQ3 = number(a, "q3");
            g.ageSd = number(a, "sd");
        }
        const json& gender = j.at("gender");
        g.female = count(gender, "F");
        g.male = count(gender, "M");
        g.unknownGender = count(gender, "unknown");
        if (j.contains("race")) {
            const json& counts = j.at("race").at("counts");
            if (!counts.is_object() || counts.size() > 64)
                fail("race counts must be an object of at most 64 races");
            for (const auto& [race, n] : counts.items())
                g.races[race] = count(counts, race.c_str());
        }
        if (j.contains("audit"))
            g.flagged = count(j.at("audit"), "flagged");
        if (j.contains("framing")) {
            const json& f = j.at("framing");
            g.framed = true;
            g.aligned = count(f, "aligned");
            g.noFaceFound = count(f, "no_face_found");
            g.severalFaces = count(f, "several_faces");
        }
        if (j.contains("quality")) {
            const json& q = j.at("quality");
            g.qualityMedian = number(q, "median");
            g.qualityQ1 = number(q, "q1");
            g.qualityQ3 = number(q, "q3");
        }
        if (g.female + g.male + g.unknownGender != g.size || g.aged > g.size || g.raced() > g.size || g.flagged > g.size
            || g.aligned + g.noFaceFound > g.size || g.severalFaces > g.aligned)
            fail("its counts do not add up to its size " + std::to_string(g.size));
        return g;
    }

private:
    [[noreturn]] void fail(const std::string& what) const { throw Error(m_where + what); }

    std::int64_t count(const json& j, const char* key) const
    {
        if (!j.is_object() || !j.contains(key) || !j.at(key).is_number_integer() || j.at(key).get<std::int64_t>() < 0
            || j.at(key).get<std::int64_t>() > (std::int64_t(1) << 40))
            fail(std::string("'") + key + "' must be a count");
        return j.at(key).get<std::int64_t>();
    }

    double number(const json& j, const char* key) const
    {
        if (!j.is_object() || !j.contains(key))
            fail(std::string("'") + key + "' is missing");
        if (j.at(key).is_null())
            return GroupSummary::kNaN;
        if (!j.at(key).is_number() || !std::isfinite(j.at(key).get<double>()))
            fail(std::string("'") + key + "' must be a number");
        return j.at(key).get<double>();
    }

    std::string m_where;
};

/** One candidate word of a label and how far it sets the cluster apart. */
struct Deviation {
    double size;
    std::string words;
};

void addShareDeviation(std::vector<Deviation>& out, std::int64_t n, std::int64_t of, std::int64_t allN,
                       std::int64_t allOf, const std::string& mostly, const std::string& more)
{
    if (of < kFewest || allOf < kFewest)
        return;
    const double p = static_cast<double>(n) / static_cast<double>(of);
    const double h = cohenH(p, static_cast<double>(allN) / static_cast<double>(allOf));
    if (h >= kNoDifference)
        out.push_back({h, !mostly.empty() && p >= 0.8 ? mostly : more});
}

} // namespace

std::int64_t GroupSummary::raced() const
{
    std::int64_t n = 0;
    for (const auto& [race, count] : races)
        n += count;
    return n;
}

double GroupSummary::femaleShare() const
{
    return female + male > 0 ? static_cast<double>(female) / static_cast<double>(female + male) : kNaN;
}

GroupSummary summarizeGroup(const std::vector<Record>& records, const std::vector<std::int64_t>& rows,
                            const std::vector<char>& flagged, const std::vector<float>& quality)
{
    GroupSummary g;
    g.size = static_cast<std::int64_t>(rows.size());
    g.flagged = flagged.empty() ? -1 : 0;
    std::vector<double> ages, qualities;
    for (const std::int64_t row : rows) {
        const Record& r = records[static_cast<size_t>(row)];
        if (r.age)
            ages.push_back(*r.age);
        if (r.gender == Gender::Female)
            ++g.female;
        else if (r.gender == Gender::Male)
            ++g.male;
        else
            ++g.unknownGender;
        if (const std::string race = utkfaceRace(r.path); !race.empty())
            ++g.races[race];
        if (!flagged.empty() && flagged[static_cast<size_t>(row)])
            ++g.flagged;
        if (r.facesFound >= 0) {
            g.framed = true;
            if (r.facesFound == 0)
                ++g.noFaceFound;
            else
                ++g.aligned;
            if (r.facesFound > 1)
                ++g.severalFaces;
        }
        if (!quality.empty() && std::isfinite(quality[static_cast<size_t>(row)]))
            qualities.push_back(quality[static_cast<size_t>(row)]);
    }
    g.aged = static_cast<std::int64_t>(ages.size());
    std::sort(ages.begin(), ages.end());
    g.ageMedian = quantile(ages, 0.5);
    g.ageQ1 = quantile(ages, 0.25);
    g.ageQ3 = quantile(ages, 0.75);
    if (ages.size() > 1) {
        double mean = 0, squares = 0;
        for (const double a : ages)
            mean += a;
        mean /= static_cast<double>(ages.size());
        for (const double a : ages)
            squares += (a - mean) * (a - mean);
        g.ageSd = std::sqrt(squares / static_cast<double>(ages.size() - 1));
    }
    std::sort(qualities.begin(), qualities.end());
    g.qualityMedian = quantile(qualities, 0.5);
    g.qualityQ1 = quantile(qualities, 0.25);
    g.qualityQ3 = quantile(qualities, 0.75);
    return g;
}

ClusterSummaries summarizeClusters(const std::vector<Record>& records, const std::vector<int>& labels, int k,
                                   const std::vector<char>& flagged, const std::vector<float>& quality)
{
    if (labels.size() != records.size() || (!flagged.empty() && flagged.size() != records.size())
        || (!quality.empty() && quality.size() != records.size()))
        throw Error("internal: cluster summaries need one label, audit flag and quality value per record");
    std::vector<std::vector<std::int64_t>> members(static_cast<size_t>(std::max(k, 0)));
    std::vector<std::int64_t> clustered;
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0)
            continue;
        if (labels[i] >= k)
            throw Error("internal: cluster " + std::to_string(labels[i]) + " of " + std::to_string(k));
        members[static_cast<size_t>(labels[i])].push_back(static_cast<std::int64_t>(i));
        clustered.push_back(static_cast<std::int64_t>(i));
    }
    ClusterSummaries out;
    out.all = summarizeGroup(records, clustered, flagged, quality);
    for (int c = 0; c < k; ++c) {
        ClusterSummary s;
        s.cluster = c;
        s.figures = summarizeGroup(records, members[static_cast<size_t>(c)], flagged, quality);
        s.label = automaticLabel(s.figures, out.all);
        out.clusters.push_back(std::move(s));
    }
    return out;
}

std::string automaticLabel(const GroupSummary& c, const GroupSummary& all)
{
    if (c.size == 0)
        return "empty";
    std::vector<Deviation> found;
    // Age: the median's difference in the dataset's standard deviations.
    if (c.aged >= kFewest && all.aged >= kFewest && std::isfinite(all.ageSd) && all.ageSd > 0) {
        const double d = (c.ageMedian - all.ageMedian) / all.ageSd;
        if (std::fabs(d) >= kNoDifference)
            found.push_back({std::fabs(d), d > 0 ? "older" : "younger"});
    }
    // Gender: the female share of the faces whose gender is known.
    if (c.female + c.male >= kFewest && all.female + all.male >= kFewest) {
        const double p = c.femaleShare();
        const double h = cohenH(p, all.femaleShare());
        if (std::fabs(h) >= kNoDifference)
            found.push_back({std::fabs(h), p >= 0.8   ? "mostly female"
                                           : p <= 0.2 ? "mostly male"
                                           : h > 0    ? "more female"
                                                      : "more male"});
    }
    // Races (in their names' order), the audit's flags, the framing groups: only a larger share says something.
    for (const auto& [race, n] : c.races) {
        const auto inAll = all.races.find(race);
        addShareDeviation(found, n, c.raced(), inAll == all.races.end() ? 0 : inAll->second, all.raced(),
                          "mostly " + race, "more " + race);
    }
    if (c.flagged >= 0 && all.flagged >= 0)
        addShareDeviation(found, c.flagged, c.size, all.flagged, all.size, "", "often flagged");
    if (c.framed && all.framed) {
        addShareDeviation(found, c.noFaceFound, c.size, all.noFaceFound, all.size, "", "no face found");
        addShareDeviation(found, c.severalFaces, c.size, all.severalFaces, all.size, "", "group photos");
    }
    // Quality (when the preparation has a quality column): the median's difference in the dataset's IQR / 1.349.
    if (std::isfinite(c.qualityMedian) && std::isfinite(all.qualityMedian) && all.qualityQ3 > all.qualityQ1) {
        const double d = (c.qualityMedian - all.qualityMedian) / ((all.qualityQ3 - all.qualityQ1) / 1.349);
        if (std::fabs(d) >= kNoDifference)
            found.push_back({std::fabs(d), d > 0 ? "higher quality" : "lower quality"});
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const Deviation& a, const Deviation& b) { return a.size > b.size; });
    std::string label;
    for (size_t i = 0; i < found.size() && i < 2; ++i)
        label += (i ? " · " : "") + found[i].words;
    return label.empty() ? "typical" : label;
}

std::string checkClusterName(const std::string& name)
{
    const size_t from = name.find_first_not_of(" \t");
    const std::string trimmed =
        from == std::string::npos ? std::string() : name.substr(from, name.find_last_not_of(" \t") - from + 1);
    if (trimmed.size() > kMaxNameBytes)
        throw Error("a cluster name has at most " + std::to_string(kMaxNameBytes) + " bytes, not "
                    + std::to_string(trimmed.size()));
    // Valid UTF-8, no control characters: a name is shown in lists, legends and a terminal.
    for (size_t i = 0; i < trimmed.size();) {
        const auto b = static_cast<unsigned char>(trimmed[i]);
        if (b < 0x20 || b == 0x7f)
            throw Error("a cluster name cannot hold control characters (tabs, line breaks)");
        const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > trimmed.size())
            throw Error("a cluster name must be UTF-8 text");
        for (size_t j = 1; j < n; ++j)
            if ((static_cast<unsigned char>(trimmed[i + j]) & 0xc0) != 0x80)
                throw Error("a cluster name must be UTF-8 text");
        i += n;
    }
    return trimmed;
}

std::string clusterNamesJson(const ClusterSummaries& s)
{
    json clusters = json::array();
    for (const ClusterSummary& c : s.clusters)
        clusters.push_back(
            {{"cluster", c.cluster}, {"name", c.name}, {"label", c.label}, {"summary", summaryJson(c.figures)}});
    const json out = {{"format", kFormat},
                      {"k", s.clusters.size()},
                      {"audit", s.audit.empty() ? json() : json(s.audit)},
                      {"all", summaryJson(s.all)},
                      {"clusters", clusters}};
    return jsonText(out, 2) + "\n";
}

ClusterSummaries readClusterNames(const fs::path& clustersDir, int k)
{
    const fs::path file = clustersDir / kClusterNamesFile;
    const std::string what = displayPath(file);
    json j;
    try {
        j = json::parse(readFile(file, kMaxManifestBytes));
    } catch (const json::exception& e) {
        throw Error(what + ": not JSON: " + e.what());
    }
    try {
        if (!j.is_object() || j.value("format", std::string()) != kFormat)
            throw Error(what + ": not a FaceAtlas cluster names file (format '" + kFormat + "' expected)");
        const json& clusters = j.at("clusters");
        if (!clusters.is_array() || static_cast<long long>(clusters.size()) != k)
            throw Error(what + ": holds " + std::to_string(clusters.is_array() ? clusters.size() : 0)
                        + " clusters; the clustering has " + std::to_string(k));
        ClusterSummaries out;
        if (j.contains("audit") && j.at("audit").is_string())
            out.audit = j.at("audit").get<std::string>();
        out.all = SummaryReader(what + ": all faces: ").read(j.at("all"));
        for (int c = 0; c < k; ++c) {
            const std::string where = what + ": cluster " + std::to_string(c) + ": ";
            const json& entry = clusters.at(static_cast<size_t>(c));
            if (!entry.is_object() || !entry.at("cluster").is_number_integer()
                || entry.at("cluster").get<long long>() != c)
                throw Error(where + "expected the entry of cluster " + std::to_string(c) + " here");
            if (!entry.at("name").is_string() || !entry.at("label").is_string())
                throw Error(where + "its name and label must be text");
            ClusterSummary s;
            s.cluster = c;
            try {
                s.name = checkClusterName(entry.at("name").get<std::string>());
                s.label = checkClusterName(entry.at("label").get<std::string>());
            } catch (const Error& e) {
                throw Error(where + e.what());
            }
            s.figures = SummaryReader(where).read(entry.at("summary"));
            out.clusters.push_back(std::move(s));
        }
        return out;
    } catch (const json::exception& e) {
        throw Error(what + ": invalid: " + e.what());
    }
}

void writeClusterNames(const fs::path& clustersDir, const ClusterSummaries& summaries)
{
    writeFileAtomic(clustersDir / kClusterNamesFile, clusterNamesJson(summaries));
}

int clusteringK(const fs::path& clustersDir)
{
    const fs::path file = clustersDir / "metrics.json";
    try {
        const json metrics = json::parse(readFile(file, kMaxManifestBytes));
        if (!metrics.is_object() || !metrics.contains("k") || !metrics.at("k").is_number_integer()
            || metrics.at("k").get<long long>() < 1 || metrics.at("k").get<long long>() > 100000)
            throw Error(displayPath(file) + ": k must be a whole number from 1 to 100,000");
        return metrics.at("k").get<int>();
    } catch (const json::exception& e) {
        throw Error(displayPath(file) + ": invalid: " + e.what());
    }
}

ClusterSummaries openClusterNames(const fs::path& clustersDir, bool* computed)
{
    const int k = clusteringK(clustersDir);
    if (computed)
        *computed = false;
    if (fs::exists(clustersDir / kClusterNamesFile))
        return readClusterNames(clustersDir, k);
    // Made before names were kept: the figures again from the faces it clustered.
    const fs::path metricsFile = clustersDir / "metrics.json";
    fs::path data;
    try {
        data = fs::u8path(json::parse(readFile(metricsFile, kMaxManifestBytes)).at("data").get<std::string>());
    } catch (const json::exception& e) {
        throw Error(displayPath(metricsFile) + ": does not name the prepared folder it clustered: " + e.what());
    }
    const PreparedDataset prepared = PreparedDataset::open(data);
    const std::vector<int> labels = readAssignments(clustersDir, prepared.records());
    for (const int label : labels)
        if (label >= k)
            throw Error(displayPath(clustersDir / "assignments.csv") + ": cluster " + std::to_string(label)
                        + " of a clustering of k = " + std::to_string(k));
    if (computed)
        *computed = true;
    return summarizeClusters(prepared.records(), labels, k);
}

} // namespace faceatlas
