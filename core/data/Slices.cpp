#include "Slices.h"

#include "Record.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

namespace faceatlas {

namespace {

std::string gender(const Record& r, bool)
{
    return r.gender == Gender::Female ? "female" : r.gender == Gender::Male ? "male" : "";
}

std::string race(const Record& r, bool)
{
    return utkfaceRace(r.path);
}

std::string ageDecade(const Record& r, bool)
{
    if (!r.age || *r.age < 0)
        return {};
    const int from = *r.age / 10 * 10;
    char text[24];
    std::snprintf(text, sizeof text, "%02d-%02d", from, from + 9);
    return text;
}

std::string split(const Record&, bool inValidation)
{
    return inValidation ? "val" : "train";
}

std::string faceScoreBand(const Record& r, bool)
{
    if (!std::isfinite(r.faceScore))
        return {};
    static const char* const bands[] = {"below 1", "1 to 2", "2 to 3", "3 and above"};
    return bands[std::clamp(static_cast<int>(std::floor(r.faceScore)), 0, 3)];
}

std::string photoDecade(const Record& r, bool)
{
    return r.photoTaken > 1800 && r.photoTaken < 2200 ? std::to_string(r.photoTaken / 10 * 10) + "s" : "";
}

std::string facesFound(const Record& r, bool)
{
    return r.facesFound < 0 ? "" : r.facesFound <= 1 ? "one face" : "several faces";
}

/** The percentile interval of `values` at `level` (a copy is sorted: the resamples stay paired across slices). */
std::pair<double, double> interval(std::vector<double> values, double level)
{
    if (values.empty())
        return {NAN, NAN};
    std::sort(values.begin(), values.end());
    const auto at = [&](double q) {
        const double pos = q * static_cast<double>(values.size() - 1);
        const auto lo = static_cast<size_t>(std::floor(pos));
        const auto hi = std::min(lo + 1, values.size() - 1);
        return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
    };
    return {at((1 - level) / 2), at(1 - (1 - level) / 2)};
}

/** A slice's members and its point figures. */
struct Slice {
    std::string by, value;
    std::vector<std::size_t> members;
    std::vector<double> bootMae, bootBias;
};

SliceRow pointFigures(const Slice& s, const std::vector<float>& predicted, const std::vector<int>& truth,
                      const SliceSettings& settings)
{
    SliceRow row;
    row.by = s.by;
    row.slice = s.value;
    row.n = s.members.size();
    std::map<int, std::pair<double, std::size_t>> cells; // true age -> (sum of errors, n)
    double abs = 0, signedSum = 0, baseline = 0;
    for (const std::size_t i : s.members) {
        const double error = static_cast<double>(predicted[i]) - truth[i];
        abs += std::fabs(error);
        signedSum += error;
        baseline += std::fabs(static_cast<double>(settings.baselineAge) - truth[i]);
        auto& cell = cells[truth[i]];
        cell.first += std::fabs(error);
        ++cell.second;
    }
    const double n = static_cast<double>(std::max<std::size_t>(row.n, 1));
    row.mae = abs / n;
    row.bias = signedSum / n;
    row.baselineMae = baseline / n;
    double cellSum = 0;
    for (const auto& [age, cell] : cells)
        cellSum += cell.first / static_cast<double>(cell.second);
    row.equalWeightMae = cells.empty() ? 0 : cellSum / static_cast<double>(cells.size());
    row.flag = row.n < settings.minN ? "small" : "";
    return row;
}

/** Adds one resample of every slice to their bootstrap lists, each slice drawn within itself. */
void resample(std::vector<Slice>& slices, const std::vector<float>& predicted, const std::vector<int>& truth,
              SplitMix& random)
{
    for (Slice& s : slices) {
        double abs = 0, signedSum = 0;
        for (std::size_t k = 0; k < s.members.size(); ++k) {
            const std::size_t i = s.members[random.below(s.members.size())];
            const double error = static_cast<double>(predicted[i]) - truth[i];
            abs += std::fabs(error);
            signedSum += error;
        }
        const double n = static_cast<double>(std::max<std::size_t>(s.members.size(), 1));
        s.bootMae.push_back(abs / n);
        s.bootBias.push_back(signedSum / n);
    }
}

/** The gap between the best and the worst slice of one grouping (of at least minN faces each). */
void addGap(SliceReport& report, const std::string& by, const std::vector<Slice>& slices,
            const std::vector<SliceRow>& rows, const SliceSettings& settings)
{
    long best = -1, worst = -1;
    for (std::size_t k = 0; k < slices.size(); ++k) {
        if (slices[k].by != by || rows[k].n < settings.minN)
            continue;
        if (best < 0 || rows[k].mae < rows[static_cast<size_t>(best)].mae)
            best = static_cast<long>(k);
        if (worst < 0 || rows[k].mae > rows[static_cast<size_t>(worst)].mae)
            worst = static_cast<long>(k);
    }
    if (best < 0 || best == worst)
        return;
    const Slice& b = slices[static_cast<size_t>(best)];
    const Slice& w = slices[static_cast<size_t>(worst)];
    std::vector<double> gaps(b.bootMae.size());
    for (std::size_t r = 0; r < gaps.size(); ++r)
        gaps[r] = w.bootMae[r] - b.bootMae[r];
    SliceGap gap{by, b.value, w.value, rows[static_cast<size_t>(worst)].mae - rows[static_cast<size_t>(best)].mae};
    std::tie(gap.gapLo, gap.gapHi) = interval(gaps, settings.level);
    report.gaps.push_back(gap);
}

} // namespace

const std::vector<SliceAttribute>& sliceAttributes()
{
    static const std::vector<SliceAttribute> table = {
        {"gender", "female or male, as the source labels it", gender},
        {"race", "UTKFace's race code from its file names: White, Black, Asian, Indian, Others", race},
        {"age_decade", "the labelled age's decade: 00-09, 10-19, ...", ageDecade},
        {"split", "train or val, the preparation's split", split},
        {"face_score", "the source's face score in bands: below 1, 1 to 2, 2 to 3, 3 and above", faceScoreBand},
        {"photo_decade", "the decade the photo was taken (IMDB-WIKI's photo_taken)", photoDecade},
        {"faces_found", "one face or several faces in the photo (aligned preparations)", facesFound},
    };
    return table;
}

const SliceAttribute& sliceAttribute(const std::string& name)
{
    std::string names;
    for (const SliceAttribute& a : sliceAttributes()) {
        if (name == a.name)
            return a;
        names += std::string(names.empty() ? "" : ", ") + a.name;
    }
    throw Error("unknown slice attribute '" + name + "' (known: " + names + ")");
}

std::string utkfaceRace(const std::string& path)
{
    // AGE_GENDER_RACE_DATE...: three whole numbers before the third underscore.
    const std::string name = std::filesystem::path(path).filename().string();
    const auto first = name.find('_');
    const auto second = first == std::string::npos ? first : name.find('_', first + 1);
    if (second == std::string::npos || second + 2 > name.size() || name[second + 2] != '_')
        return {};
    if (first == 0 || first > 3) // an age of 1 to 3 digits
        return {};
    for (std::size_t i = 0; i < first; ++i)
        if (name[i] < '0' || name[i] > '9')
            return {};
    if (second != first + 2 || (name[first + 1] != '0' && name[first + 1] != '1'))
        return {};
    static const char* const races[] = {"White", "Black", "Asian", "Indian", "Others"};
    const char code = name[second + 1];
    return code >= '0' && code <= '4' ? races[code - '0'] : "";
}

SliceReport computeSlices(const std::vector<float>& predicted, const std::vector<int>& truth,
                          const std::vector<std::pair<std::string, std::vector<std::string>>>& groupings,
                          const SliceSettings& settings)
{
    if (predicted.size() != truth.size())
        throw Error("slices: " + std::to_string(predicted.size()) + " predictions for " + std::to_string(truth.size())
                    + " labelled faces");
    if (truth.empty())
        throw Error("slices: no labelled face to measure");
    SliceReport report;
    std::vector<Slice> slices;
    slices.push_back({"all", "all", {}, {}, {}});
    for (std::size_t i = 0; i < truth.size(); ++i)
        slices.front().members.push_back(i);
    for (const auto& [by, values] : groupings) {
        if (values.size() != truth.size())
            throw Error("slices: grouping '" + by + "' has " + std::to_string(values.size()) + " values for "
                        + std::to_string(truth.size()) + " faces");
        std::map<std::string, std::vector<std::size_t>> members;
        std::size_t unknown = 0;
        for (std::size_t i = 0; i < values.size(); ++i)
            values[i].empty() ? void(++unknown) : members[values[i]].push_back(i);
        report.unknown.emplace_back(by, unknown);
        for (auto& [value, rows] : members)
            slices.push_back({by, value, std::move(rows), {}, {}});
    }
    std::vector<SliceRow> rows;
    for (const Slice& s : slices)
        rows.push_back(pointFigures(s, predicted, truth, settings));
    SplitMix random(settings.seed);
    for (int b = 0; b < settings.boot; ++b)
        resample(slices, predicted, truth, random);
    for (std::size_t k = 0; k < slices.size(); ++k) {
        std::tie(rows[k].maeLo, rows[k].maeHi) = interval(slices[k].bootMae, settings.level);
        std::tie(rows[k].biasLo, rows[k].biasHi) = interval(slices[k].bootBias, settings.level);
    }
    for (const auto& [by, values] : groupings)
        addGap(report, by, slices, rows, settings);
    report.rows = std::move(rows);
    return report;
}

void countAuditFlags(SliceReport& report,
                     const std::vector<std::pair<std::string, std::vector<std::string>>>& groupings,
                     const std::vector<char>& flagged)
{
    long long all = 0;
    for (const char f : flagged)
        all += f != 0;
    for (SliceRow& row : report.rows) {
        if (row.by == "all") {
            row.auditFlagged = all;
            continue;
        }
        row.auditFlagged = 0;
        for (const auto& [by, values] : groupings) {
            if (by != row.by)
                continue;
            if (values.size() != flagged.size())
                throw Error("slices: " + std::to_string(flagged.size()) + " audit flags for grouping '" + by + "' of "
                            + std::to_string(values.size()) + " faces");
            for (std::size_t i = 0; i < values.size(); ++i)
                row.auditFlagged += flagged[i] != 0 && values[i] == row.slice;
            break;
        }
    }
}

std::string slicesCsv(const SliceReport& report)
{
    std::string csv = "by,slice,n,mae,mae_lo,mae_hi,bias,bias_lo,bias_hi,baseline_mae,equal_weight_mae,flag,"
                      "audit_flagged,audit_share\n";
    for (const SliceRow& r : report.rows) {
        char numbers[256];
        std::snprintf(numbers, sizeof numbers, "%zu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f", r.n, r.mae, r.maeLo,
                      r.maeHi, r.bias, r.biasLo, r.biasHi, r.baselineMae, r.equalWeightMae);
        csv += csvField(r.by) + "," + csvField(r.slice) + "," + numbers + "," + r.flag + ",";
        if (r.auditFlagged >= 0) {
            char audit[64];
            std::snprintf(audit, sizeof audit, "%lld,%.3f", r.auditFlagged,
                          r.n ? static_cast<double>(r.auditFlagged) / static_cast<double>(r.n) : 0.0);
            csv += audit;
        } else {
            csv += ",";
        }
        csv += "\n";
    }
    return csv;
}

} // namespace faceatlas
