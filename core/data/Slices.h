#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceatlas {

class PreparedDataset;
struct Record;

/**
 * What a slice can be made of: one row per attribute, the only place that names them (the CLI's
 * --by, its help and the README read this table). Each gives a face its slice ("" when unknown:
 * such faces are left out of that attribute's slices, and the report says how many).
 */
struct SliceAttribute {
    const char* name;
    const char* description;
    std::string (*value)(const Record& record, bool inValidation);
};

/** Every attribute, in the order the report lists them. */
const std::vector<SliceAttribute>& sliceAttributes();
/** The attribute called `name`; throws Error listing the valid names. */
const SliceAttribute& sliceAttribute(const std::string& name);

/**
 * UTKFace's race code from a file name `AGE_GENDER_RACE_DATE.jpg` (0-4, named White, Black,
 * Asian, Indian, Others as its authors define them); "" when the name does not carry one.
 */
std::string utkfaceRace(const std::string& path);

/** One slice's errors: n faces, MAE and signed bias (mean of predicted - true) with bootstrap intervals. */
struct SliceRow {
    std::string by;    // the attribute(s), "gender" or "gender,race"; "all" for everyone
    std::string slice; // the value(s), "female" or "female,Black"
    std::size_t n = 0;
    double mae = 0, maeLo = 0, maeHi = 0;
    double bias = 0, biasLo = 0, biasHi = 0;
    double baselineMae = 0;      // always predicting the training set's median age
    double equalWeightMae = 0;   // the mean of the MAEs of the slice's age-year cells (NIST's weighting)
    std::string flag;            // "small" under the minimum n; else empty
    long long auditFlagged = -1; // faces of the slice a label audit flags (countAuditFlags); -1: no audit given
};

struct SliceSettings {
    int boot = 1000;        // bootstrap resamples
    std::uint64_t seed = 1; // of the resampling
    std::size_t minN = 30;  // slices with fewer faces are flagged, never hidden
    float baselineAge = 0;  // the training set's median age
    double level = 0.95;    // of the intervals
};

/** The best and the worst slice of one grouping by MAE, and the gap between them with its interval. */
struct SliceGap {
    std::string by, best, worst;
    double gap = 0, gapLo = 0, gapHi = 0;
};

struct SliceReport {
    std::vector<SliceRow> rows;                               // "all" first, then each grouping's slices by value
    std::vector<SliceGap> gaps;                               // one per grouping with at least two slices of minN faces
    std::vector<std::pair<std::string, std::size_t>> unknown; // per grouping: faces without a value
};

/**
 * Error by slice. `predicted[i]` and `truth[i]` are face i's predicted and labelled age;
 * `groupings` lists, per grouping, each face's slice ("" = unknown, left out). Intervals are
 * percentile bootstrap: every resample draws each slice's faces with replacement within that
 * slice (stratified by slice, seeded), so a slice's interval is computed from its own faces alone;
 * the gap's interval comes from the same resamples. Throws Error when the sizes differ.
 */
SliceReport computeSlices(const std::vector<float>& predicted, const std::vector<int>& truth,
                          const std::vector<std::pair<std::string, std::vector<std::string>>>& groupings,
                          const SliceSettings& settings);

/**
 * Where the audit and the slices meet: sets each row's auditFlagged to how many of its faces
 * `flagged` marks (one flag per face, as `groupings` lists the faces given to computeSlices), so a
 * slice's error can be told apart from its labels' (a slice whose faces the audit flags often).
 * Throws Error when the sizes differ.
 */
void countAuditFlags(SliceReport& report,
                     const std::vector<std::pair<std::string, std::vector<std::string>>>& groupings,
                     const std::vector<char>& flagged);

/**
 * slices.csv: by,slice,n,mae,mae_lo,mae_hi,bias,bias_lo,bias_hi,baseline_mae,equal_weight_mae,flag,
 * audit_flagged,audit_share (the last two empty when no audit was counted).
 */
std::string slicesCsv(const SliceReport& report);

} // namespace faceatlas
