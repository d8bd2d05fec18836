#pragma once

#include "ml/KMeans.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace faceatlas {

struct ClusterParams {
    std::filesystem::path codes; // a codes folder written by encode
    std::filesystem::path outDir;
    int k = 0; // one k, or a sweep kMin..kMax (the suggested k is kept)
    int kMin = 0;
    int kMax = 0;
    int restarts = 1;
    int maxIterations = 100;
    std::uint64_t seed = 1;
    std::string device = "auto";
    int exemplars = 8; // nearest and farthest members shown per cluster
    int silhouetteSample = 4000;
};

/** One cluster: its size, ages, gender mix and exemplars (row indices into the codes). */
struct ClusterInfo {
    int id = 0;
    std::int64_t size = 0;
    double ageMean = std::numeric_limits<double>::quiet_NaN();
    std::int64_t aged = 0;
    std::map<int, std::int64_t> ageDecades;
    std::int64_t male = 0, female = 0, unknownGender = 0;
    std::int64_t medoid = -1;
    std::vector<std::int64_t> nearest;
    std::vector<std::int64_t> farthest;
};

/** Clustering quality: inertia, silhouette, Davies-Bouldin, and agreement with labels. */
struct ClusterMetrics {
    int k = 0;
    double inertia = 0;
    double silhouette = 0;
    double daviesBouldin = 0;
    int iterations = 0;
    double ageNmi = std::numeric_limits<double>::quiet_NaN(), ageAri = std::numeric_limits<double>::quiet_NaN();
    double genderNmi = std::numeric_limits<double>::quiet_NaN(), genderAri = std::numeric_limits<double>::quiet_NaN();
    std::int64_t agedCount = 0, genderCount = 0;
};

struct SweepPoint {
    int k;
    double inertia;
    double silhouette;
    double daviesBouldin;
};

struct ClusterResult {
    ClusterMetrics metrics;
    std::vector<ClusterInfo> clusters;
    std::vector<std::int32_t> labels;
    std::vector<SweepPoint> sweep;
    int suggestedK = 0;
    std::string reason;
    bool cancelled = false;
};

/**
 * Clusters autoencoder codes and writes DIR: assignments.csv, clusters.json, metrics.json,
 * centroids/<c>.png (the decoded mean code: the capstone's picture), medoids/<c>.png,
 * galleries/<c>.png (centroid, medoid and nearest members on top; the farthest below),
 * interpolation.png (between the two largest clusters) and age_direction.png (younger <-> older).
 */
class ClusterJob {
public:
    using ProgressFn = std::function<void(const JobProgress&)>;
    explicit ClusterJob(ClusterParams params);
    ClusterResult run(const CancelToken& cancel = {}, const ProgressFn& onProgress = {});

private:
    ClusterParams m_params;
};

/** Cluster statistics against the records' labels (ages by decade, gender). */
ClusterMetrics labelAgreement(const std::vector<std::int32_t>& labels, const std::vector<int>& ageDecade,
                              const std::vector<int>& gender);

} // namespace faceatlas
