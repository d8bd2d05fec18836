#pragma once

#include "data/Record.h"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * What a group of faces (a cluster, or every clustered face) is made of. Each part is there only
 * when the data has it: ages when some face is aged, races when the source names them (UTKFace's
 * file names), the audit's share when an audit of the same preparation was counted, the framing
 * groups when the preparation's detector looked, a quality median when the preparation has a quality
 * column.
 */
struct GroupSummary {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    std::int64_t size = 0;
    // Ages: median and spread (quartiles by linear interpolation, as numpy's default; sd with n - 1).
    std::int64_t aged = 0;
    double ageMedian = kNaN, ageQ1 = kNaN, ageQ3 = kNaN, ageSd = kNaN;
    std::int64_t female = 0, male = 0, unknownGender = 0;
    std::map<std::string, std::int64_t> races; // race -> faces; empty: the source names none
    std::int64_t flagged = -1;                 // faces the label audit flags; -1: no audit counted
    bool framed = false;                       // the detector looked (aligned preparations)
    std::int64_t aligned = 0, noFaceFound = 0, severalFaces = 0;
    // Hook for a per-face quality column (issue 29, part 1): NaN, and absent from the file, until
    // a quality column is given to summarizeClusters().
    double qualityMedian = kNaN, qualityQ1 = kNaN, qualityQ3 = kNaN;

    std::int64_t raced() const;
    /** Female share of the faces whose gender is known; NaN when none is. */
    double femaleShare() const;
};

/** One cluster: its figures, the automatic label, and the name the user gave it ("" none). */
struct ClusterSummary {
    int cluster = 0;
    GroupSummary figures;
    std::string label;
    std::string name;
    /** The name when the user gave one, else the automatic label. */
    const std::string& shown() const { return name.empty() ? label : name; }
};

/** The summaries of one clustering: every clustered face, then each cluster. */
struct ClusterSummaries {
    GroupSummary all;
    std::vector<ClusterSummary> clusters;
    std::string audit; // the audit folder whose flags were counted; empty: none
};

/** The file beside clusters.json that keeps the names, labels and summaries of a clustering. */
constexpr const char* kClusterNamesFile = "cluster_names.json";

/** Figures of the faces `rows` of `records` (flagged and quality: one per record, or empty). */
GroupSummary summarizeGroup(const std::vector<Record>& records, const std::vector<std::int64_t>& rows,
                            const std::vector<char>& flagged = {}, const std::vector<float>& quality = {});

/**
 * Summaries of a clustering: `labels` holds one cluster per record (-1: not clustered), k clusters.
 * `flagged` (the label audit's flags, one per record) and `quality` (a quality column, NaN unknown,
 * one per record) may be empty. Every cluster gets its automatic label and no name. Throws Error
 * when a size differs or a label is k or more.
 */
ClusterSummaries summarizeClusters(const std::vector<Record>& records, const std::vector<int>& labels, int k,
                                   const std::vector<char>& flagged = {}, const std::vector<float>& quality = {});

/**
 * A short label from what sets `cluster` apart from `all`: the (at most) two largest deviations,
 * largest first, joined by " · " — "older · mostly female". Deviations are effect sizes: the median
 * age's difference in the dataset's standard deviations, Cohen's h for shares (gender, each race,
 * the audit's flags, faces not found, group photos), the quality median's in the dataset's IQR/1.349;
 * under 0.3 is no difference, a part with fewer than 3 faces is not read, ties keep that order.
 * Deterministic: the same figures give the same label. "typical" when nothing stands out, "empty"
 * for a cluster without faces.
 */
std::string automaticLabel(const GroupSummary& cluster, const GroupSummary& all);

/**
 * Checks a user's name for a cluster: at most 120 bytes of valid UTF-8 without control characters,
 * surrounding spaces trimmed ("" clears it). Returns the trimmed name; throws Error saying what is wrong.
 */
std::string checkClusterName(const std::string& name);

/** cluster_names.json's text. */
std::string clusterNamesJson(const ClusterSummaries& summaries);

/**
 * Reads DIR/cluster_names.json, which must hold `k` clusters (metrics.json's k). Throws Error naming
 * the file for anything else: not JSON, another format, a wrong cluster count or order, a name that
 * checkClusterName refuses, a figure that is not a count or a number.
 */
ClusterSummaries readClusterNames(const std::filesystem::path& clustersDir, int k);

/** Writes DIR/cluster_names.json whole beside it and renames it into place (atomic). */
void writeClusterNames(const std::filesystem::path& clustersDir, const ClusterSummaries& summaries);

/** metrics.json's k of a clustering folder; throws Error naming the file. */
int clusteringK(const std::filesystem::path& clustersDir);

/**
 * The names and summaries of the clustering in DIR: cluster_names.json when it is there (as
 * readClusterNames reads it); for a clustering made before FaceAtlas kept names, summaries computed
 * from its preparation (metrics.json's data) and assignments.csv, without the audit's flags, and
 * `computed` set. Throws Error naming the file that is wrong.
 */
ClusterSummaries openClusterNames(const std::filesystem::path& clustersDir, bool* computed = nullptr);

} // namespace faceatlas
