#pragma once

#include "data/ClusterSummaries.h"
#include "ml/Distributed.h"
#include "ml/KMeans.h"
#include "ml/Models.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
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
    std::vector<std::int64_t> rows; // cluster only these rows of the codes (increasing); empty: all
    bool force = false;             // replace a FaceAtlas folder of another kind at outDir
    // What the cluster summaries count beside the records' labels (cluster_names.json), both one
    // value per row of the preparation: the label audit's flags (auditFlaggedRows of an audit of
    // this preparation, read by the caller: ml cannot read audits) and the folder they came from;
    // and a per-face quality column (NaN unknown; issue 29 part 1 fills it). Null: not counted.
    std::shared_ptr<const std::vector<char>> auditFlagged;
    std::filesystem::path audit;
    std::shared_ptr<const std::vector<float>> quality;
    // Several processes: each rank runs Lloyd's iterations on its share of the rows, the sums
    // summed over the ranks (ml/KMeans.h); rank 0 alone scores the clusters and writes the folder.
    DistConfig dist;
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
    ClusterSummaries summaries; // what cluster_names.json holds: figures and automatic labels, no names yet
    int suggestedK = 0;
    std::string reason;
    bool cancelled = false;
};

/**
 * Clusters autoencoder codes and writes DIR: assignments.csv, clusters.json, cluster_names.json (each
 * cluster's summary and automatic label, and later the names the user gives), metrics.json,
 * centroids.f32 (the k centres, k x D float32), centroids/<c>.png (the decoded mean code: the
 * capstone's picture), medoids/<c>.png,
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

/** RGB tiles (size x size each) laid out in rows on a dark grey ground with 2-pixel gaps. */
struct ContactSheet {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb; // width x height x 3
};
/** Rows of tiles (a null tile leaves its cell empty) as one sheet, as the galleries are drawn. */
ContactSheet contactSheet(const std::vector<std::vector<const std::uint8_t*>>& rows, int size);

/**
 * The straight path between any two cluster centres of a clustering folder, decoded by the
 * autoencoder that made the codes: what changes from one cluster to the other.
 */
class CentroidPaths {
public:
    /** Reads DIR/centroids.f32 and the autoencoder of the codes. Throws Error naming the file. */
    static CentroidPaths open(const std::filesystem::path& clustersDir);
    int clusters() const { return static_cast<int>(m_centroids.size(0)); }
    int imageSize() const { return m_imageSize; }
    /** `steps` (>= 2) RGB images of S x S, one after another, from cluster `from`'s centre to `to`'s. */
    std::vector<std::uint8_t> between(int from, int to, int steps) const;

private:
    std::shared_ptr<FaceModelImpl> m_autoencoder;
    torch::Tensor m_centroids; // [k, D] on the CPU
    int m_imageSize = 0;
};

/** Cluster statistics against the records' labels (ages by decade, gender). */
ClusterMetrics labelAgreement(const std::vector<std::int32_t>& labels, const std::vector<int>& ageDecade,
                              const std::vector<int>& gender);

} // namespace faceatlas
