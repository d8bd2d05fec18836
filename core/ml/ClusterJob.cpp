#include "ml/ClusterJob.h"
#include "ml/ClusterImages.h"

#include "data/ClusterAssignments.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"
#include "util/PngWriter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json num(double v)
{
    return std::isfinite(v) ? json(v) : json();
}

void writeSheet(const fs::path& file, const std::vector<std::vector<const std::uint8_t*>>& rows, int size)
{
    const ContactSheet sheet = contactSheet(rows, size);
    writePngRgb(file, sheet.rgb.data(), sheet.width, sheet.height);
}

json histogramJson(const std::map<int, std::int64_t>& h)
{
    json out = json::object();
    for (const auto& [from, n] : h)
        out[std::to_string(from) + "-" + std::to_string(from + 9)] = n;
    return out;
}

} // namespace

ClusterMetrics labelAgreement(const std::vector<std::int32_t>& labels, const std::vector<int>& ageDecade,
                              const std::vector<int>& gender)
{
    ClusterMetrics m;
    std::vector<int> a, b;
    for (size_t i = 0; i < labels.size(); ++i)
        if (ageDecade[i] >= 0) {
            a.push_back(labels[i]);
            b.push_back(ageDecade[i]);
        }
    m.agedCount = static_cast<std::int64_t>(a.size());
    if (a.size() > 1) {
        m.ageNmi = normalizedMutualInfo(a, b);
        m.ageAri = adjustedRandIndex(a, b);
    }
    a.clear();
    b.clear();
    for (size_t i = 0; i < labels.size(); ++i)
        if (gender[i] >= 0) {
            a.push_back(labels[i]);
            b.push_back(gender[i]);
        }
    m.genderCount = static_cast<std::int64_t>(a.size());
    if (a.size() > 1) {
        m.genderNmi = normalizedMutualInfo(a, b);
        m.genderAri = adjustedRandIndex(a, b);
    }
    return m;
}

namespace {

/** Codes per picture of a path: between the two largest clusters, and along the age direction. */
constexpr int kPathSteps = 8;

/**
 * One clustering, in named steps: check the inputs, choose k, describe the clusters, then write the
 * folder. Nothing is written before writeFolder(), which writes it whole beside DIR and swaps it in.
 */
class ClusterSession {
public:
    ClusterSession(const ClusterParams& p, const CancelToken& cancel, const ClusterJob::ProgressFn& onProgress)
        : m_p(p)
        , m_cancel(cancel)
        , m_onProgress(onProgress)
        , m_group(p.dist.distributed() ? ProcessGroup::connect(p.dist) : nullptr)
        , m_codes(openCodes(p))
        , m_images(PreparedDataset::open(encodedFolder(p, m_codes)))
    {
    }

    ClusterResult run()
    {
        checkSameFaces();
        selectFaces();
        const std::vector<int> ks = kValues();
        if (m_group)
            checkSameJob(*m_group, {{"codes fingerprint", m_codes.dataFingerprint()},
                                    {"faces", std::to_string(m_n)},
                                    {"code size", std::to_string(m_codes.dim())},
                                    {"k", std::to_string(ks.front()) + ".." + std::to_string(ks.back())},
                                    {"restarts", std::to_string(m_p.restarts)},
                                    {"seed", std::to_string(m_p.seed)},
                                    {"output folder", fs::absolute(m_p.outDir).lexically_normal().string()}});
        for (size_t i = 0; i < ks.size() && !m_result.cancelled; ++i)
            tryK(ks, i);
        if (m_result.cancelled || !m_p.dist.leader())
            return m_result; // of several processes, rank 0 alone scores, describes and writes
        keepBestK(ks);
        compareWithLabels();
        describeClusters();
        summarizeClusters();
        writeFolder(ks.size() > 1);
        return m_result;
    }

private:
    static Codes openCodes(const ClusterParams& p)
    {
        if (p.dist.leader())
            checkOutputFolder(p.outDir, OutputKind::Clustering,
                              {p.force, {p.codes}}); // before the work, and again at the write
        return Codes::open(p.codes);
    }

    /** The prepared folder the codes were made from, for the pictures: the same preparation, row for row. */
    static const fs::path& encodedFolder(const ClusterParams& p, const Codes& codes)
    {
        if (codes.dataDir().empty())
            throw Error(displayPath(p.codes / "codes.json") + ": does not name the prepared folder it encoded");
        return codes.dataDir();
    }

    void checkSameFaces() const
    {
        if (!m_codes.dataFingerprint().empty() && !madeFromDataset(m_codes.dataFingerprint(), m_images))
            throw Error("codes " + displayPath(m_p.codes) + " were made from another preparation of "
                        + displayPath(m_codes.dataDir()) + " (prepared again since); encode again");
        if (m_images.count() != m_codes.count())
            throw Error("codes " + displayPath(m_p.codes) + " hold " + std::to_string(m_codes.count()) + " faces but "
                        + displayPath(m_codes.dataDir()) + " holds " + std::to_string(m_images.count())
                        + " (another preparation); encode again");
    }

    /** The device, and the codes to cluster on it: all of them, or the subset's rows. */
    void selectFaces()
    {
        m_device = resolveDevice(m_p.device);
        const std::vector<int64_t>& rows = m_p.rows;
        for (size_t i = 0; i < rows.size(); ++i)
            if (rows[i] < 0 || rows[i] >= static_cast<int64_t>(m_codes.count()) || (i > 0 && rows[i] <= rows[i - 1]))
                throw Error("a subset to cluster must list rows of the codes " + displayPath(m_p.codes)
                            + " in increasing order, each below " + std::to_string(m_codes.count()));
        m_rowsTensor = torch::tensor(rows, torch::kLong);
        m_data = rows.empty() ? (m_device.is_cuda() ? m_codes.tensor().to(m_device) : m_codes.tensor())
                              : m_codes.tensor().index_select(0, m_rowsTensor).to(m_device);
        m_n = rows.empty() ? static_cast<int64_t>(m_codes.count()) : static_cast<int64_t>(rows.size());
    }

    /** A subset clusters only those rows; `codeRow(i)` maps position i of the clustered data to its code row. */
    int64_t codeRow(int64_t i) const { return m_p.rows.empty() ? i : m_p.rows[static_cast<size_t>(i)]; }

    /** The k given, or every k of the range. */
    std::vector<int> kValues() const
    {
        std::vector<int> ks;
        if (m_p.k > 0) {
            ks.push_back(m_p.k);
        } else {
            if (m_p.kMin < 2 || m_p.kMax < m_p.kMin)
                throw Error("give --k K or a range --k-range A:B with 2 <= A <= B");
            for (int k = m_p.kMin; k <= m_p.kMax; ++k)
                ks.push_back(k);
        }
        return ks;
    }

    /** k-means with the i-th k, scored into the sweep; kept when its silhouette is the highest so far. */
    void tryK(const std::vector<int>& ks, size_t i)
    {
        KMeansParams kp;
        kp.k = ks[i];
        kp.restarts = m_p.restarts;
        kp.maxIterations = m_p.maxIterations;
        kp.seed = m_p.seed;
        kp.group = m_group.get();
        KMeansResult km = kmeans(m_data, kp, m_cancel, [&](const JobProgress& jp) {
            if (m_onProgress)
                m_onProgress({"k-means", static_cast<long long>(i) * jp.total + jp.done,
                              static_cast<long long>(ks.size()) * jp.total});
        });
        if (km.cancelled) {
            m_result.cancelled = true;
            return;
        }
        if (!m_p.dist.leader())
            return;
        const double silhouette = silhouetteScore(m_data, km.labels, ks[i], m_p.silhouetteSample, m_p.seed);
        const double db = daviesBouldin(m_data, km.labels, km.centroids);
        m_result.sweep.push_back({ks[i], km.inertia, silhouette, db});
        if (silhouette > m_bestSilhouette) {
            m_bestSilhouette = silhouette;
            m_chosen = std::move(km);
            m_result.suggestedK = ks[i];
        }
    }

    void keepBestK(const std::vector<int>& ks)
    {
        m_result.reason = ks.size() == 1
                              ? "k given"
                              : "highest silhouette (" + std::to_string(m_bestSilhouette).substr(0, 6)
                                    + ") over k = " + std::to_string(ks.front()) + ".." + std::to_string(ks.back());
        m_k = m_result.suggestedK;
        m_result.labels = m_chosen.labels;
    }

    /** The clustering's scores, and its agreement with age decades and gender where the records have them. */
    void compareWithLabels()
    {
        std::vector<int> decade(m_n, -1), gender(m_n, -1);
        for (int64_t i = 0; i < m_n; ++i) {
            const Record& r = m_codes.records()[codeRow(i)];
            if (r.age)
                decade[i] = std::max(0, *r.age) / 10;
            if (r.gender != Gender::Unknown)
                gender[i] = r.gender == Gender::Male ? 1 : 0;
        }
        ClusterMetrics& metrics = m_result.metrics;
        metrics = labelAgreement(m_chosen.labels, decade, gender);
        metrics.k = m_k;
        metrics.inertia = m_chosen.inertia;
        metrics.iterations = m_chosen.iterations;
        for (const auto& s : m_result.sweep)
            if (s.k == m_k) {
                metrics.silhouette = s.silhouette;
                metrics.daviesBouldin = s.daviesBouldin;
            }
    }

    /** Per cluster: label statistics, and members ordered by distance to the centre. */
    void describeClusters()
    {
        torch::Tensor assigned, dist2;
        assignToCentroids(m_data, m_chosen.centroids.to(m_data.device()), assigned, dist2);
        const auto dist = dist2.cpu();
        const float* d = dist.data_ptr<float>();
        std::vector<std::vector<std::int64_t>> members(m_k);
        for (int64_t i = 0; i < m_n; ++i)
            members[m_chosen.labels[i]].push_back(i);
        m_result.clusters.resize(m_k);
        for (int c = 0; c < m_k; ++c) {
            ClusterInfo& info = m_result.clusters[c];
            info.id = c;
            countLabels(info, members[c]);
            auto& m = members[c];
            std::sort(m.begin(), m.end(), [&](std::int64_t a, std::int64_t b) { return d[a] < d[b]; });
            if (!m.empty())
                info.medoid = codeRow(m.front());
            const size_t e = std::min<size_t>(static_cast<size_t>(m_p.exemplars), m.size());
            for (size_t j = 0; j < e; ++j) {
                info.nearest.push_back(codeRow(m[j]));
                info.farthest.push_back(codeRow(m[m.size() - 1 - j]));
            }
        }
    }

    /**
     * Each cluster's summary and automatic label against every clustered face (data/ClusterSummaries),
     * counting the audit's flags and the quality column when the caller gave them.
     */
    void summarizeClusters()
    {
        // Both are of the preparation's rows, as the codes are (summarizeClusters checks the sizes).
        static const std::vector<char> noFlags;
        static const std::vector<float> noQuality;
        m_result.summaries = faceatlas::summarizeClusters(m_codes.records(), labelOfRow(), m_k,
                                                          m_p.auditFlagged ? *m_p.auditFlagged : noFlags,
                                                          m_p.quality ? *m_p.quality : noQuality);
        if (m_p.auditFlagged)
            m_result.summaries.audit = fs::absolute(m_p.audit).lexically_normal().string();
    }

    /** One cluster per code row, -1 for a face outside the clustered subset. */
    std::vector<int> labelOfRow() const
    {
        std::vector<int> labelOfRow(m_codes.count(), -1);
        for (int64_t i = 0; i < m_n; ++i)
            labelOfRow[static_cast<size_t>(codeRow(i))] = m_chosen.labels[i];
        return labelOfRow;
    }

    /** A cluster's size, ages (mean and decades) and gender mix. */
    void countLabels(ClusterInfo& info, const std::vector<std::int64_t>& members) const
    {
        info.size = static_cast<std::int64_t>(members.size());
        double ageSum = 0;
        for (auto i : members) {
            const Record& r = m_codes.records()[codeRow(i)];
            if (r.age) {
                ageSum += *r.age;
                ++info.aged;
                ++info.ageDecades[std::max(0, *r.age) / 10 * 10];
            }
            if (r.gender == Gender::Male)
                ++info.male;
            else if (r.gender == Gender::Female)
                ++info.female;
            else
                ++info.unknownGender;
        }
        if (info.aged)
            info.ageMean = ageSum / info.aged;
    }

    /**
     * Pictures: decoded centroids (the capstone's step), medoids, galleries; then the text outputs.
     * Written whole beside DIR and swapped in at the end: the window or a reader of the earlier
     * clustering sees it or this one, never a mix, and a failed or killed run leaves it as it was.
     * Order: centroids.f32, the pictures of each cluster, interpolation.png, age_direction.png,
     * assignments.csv, clusters.json, cluster_names.json, metrics.json.
     */
    void writeFolder(bool swept)
    {
        StagedFolder staged(m_p.outDir, OutputKind::Clustering,
                            {m_p.force, {m_p.codes, m_codes.dataDir(), m_codes.runDir()}});
        const fs::path& out = staged.work();
        for (const char* sub : {"centroids", "medoids", "galleries"})
            fs::create_directories(out / sub);
        LoadedModel ae = loadAutoencoder();
        writeClusterPictures(out, *ae.model);
        // Beyond the capstone: a path between the two largest clusters, and the age direction.
        writeInterpolation(out, *ae.model);
        const json ageDirection = writeAgeDirection(out, *ae.model);
        writeAssignments(out);
        writeClustersJson(out);
        writeClusterNames(out, m_result.summaries);
        writeMetrics(out, swept, ageDirection);
        staged.commit(); // every file synced, then swapped in
    }

    /** The autoencoder that made the codes, on the device; an Error if the run holds another model. */
    LoadedModel loadAutoencoder() const
    {
        LoadedModel ae = loadRunModel(m_codes.runDir());
        ae.model->to(m_device);
        const int s = m_images.imageSize();
        if (ae.model->kind() != ModelKind::Autoencoder || ae.model->imageSize() != s
            || autoencoderCodeShape(s) != m_codes.shape())
            throw Error(displayPath(m_codes.runDir()) + ": not the autoencoder that made codes "
                        + displayPath(m_p.codes) + " (its model or size differ)");
        return ae;
    }

    /** centroids.f32, then each cluster's decoded centroid, medoid and gallery. */
    void writeClusterPictures(const fs::path& out, FaceModelImpl& ae) const
    {
        const auto decoded = toRgb(decodeCodes(ae, m_chosen.centroids.to(m_device)));
        {
            // The centres themselves, so any two can be joined later (CentroidPaths).
            const auto centres = m_chosen.centroids.to(torch::kCPU, torch::kFloat).contiguous();
            writeFileAtomic(out / "centroids.f32",
                            std::string_view(reinterpret_cast<const char*>(centres.data_ptr<float>()),
                                             static_cast<size_t>(centres.numel()) * sizeof(float)));
        }
        const int s = m_images.imageSize();
        for (int c = 0; c < m_k; ++c) {
            const ClusterInfo& info = m_result.clusters[c];
            const std::uint8_t* centroid = decoded.data() + c * tileBytes();
            writePngRgb(out / "centroids" / (std::to_string(c) + ".png"), centroid, s, s);
            if (info.medoid >= 0)
                writePngRgb(out / "medoids" / (std::to_string(c) + ".png"), m_images.image(info.medoid), s, s);
            std::vector<const std::uint8_t*> top{centroid}, bottom{nullptr};
            for (auto i : info.nearest)
                top.push_back(m_images.image(i));
            for (auto i : info.farthest)
                bottom.push_back(m_images.image(i));
            writeSheet(out / "galleries" / (std::to_string(c) + ".png"), {top, bottom}, s);
        }
    }

    size_t tileBytes() const
    {
        const int s = m_images.imageSize();
        return static_cast<size_t>(s) * s * 3;
    }

    /** Decodes the codes [kPathSteps, D] and writes them as one row of pictures. */
    void writeRow(const fs::path& file, FaceModelImpl& ae, const torch::Tensor& codes) const
    {
        const auto images = toRgb(decodeCodes(ae, codes.to(m_device)));
        std::vector<const std::uint8_t*> row;
        for (int i = 0; i < kPathSteps; ++i)
            row.push_back(images.data() + i * tileBytes());
        writeSheet(file, {row}, m_images.imageSize());
    }

    /** interpolation.png: the straight path between the centres of the two largest clusters. */
    void writeInterpolation(const fs::path& out, FaceModelImpl& ae) const
    {
        std::vector<int> bySize(m_k);
        for (int c = 0; c < m_k; ++c)
            bySize[c] = c;
        std::sort(bySize.begin(), bySize.end(),
                  [&](int a, int b) { return m_result.clusters[a].size > m_result.clusters[b].size; });
        writeRow(out / "interpolation.png", ae,
                 linePath(m_chosen.centroids[bySize[0]], m_chosen.centroids[bySize[1]], kPathSteps));
    }

    /**
     * age_direction.png: from the clustered faces' mean code along the oldest tenth's mean minus the
     * youngest tenth's. Needs 20 aged faces; its description for metrics.json (null without).
     */
    json writeAgeDirection(const fs::path& out, FaceModelImpl& ae) const
    {
        std::vector<std::pair<int, std::int64_t>> aged;
        for (int64_t i = 0; i < m_n; ++i)
            if (m_codes.records()[codeRow(i)].age)
                aged.emplace_back(*m_codes.records()[codeRow(i)].age, codeRow(i));
        if (aged.size() < 20)
            return json();
        std::sort(aged.begin(), aged.end());
        const size_t tenth = aged.size() / 10;
        std::vector<int64_t> young, old;
        for (size_t i = 0; i < tenth; ++i) {
            young.push_back(aged[i].second);
            old.push_back(aged[aged.size() - 1 - i].second);
        }
        const auto all = m_codes.tensor();
        const auto youngMean = all.index_select(0, torch::tensor(young)).mean(0);
        const auto oldMean = all.index_select(0, torch::tensor(old)).mean(0);
        const auto direction = oldMean - youngMean;
        const auto centre = m_p.rows.empty() ? all.mean(0) : all.index_select(0, m_rowsTensor).mean(0);
        auto alphas = torch::linspace(-1, 1, kPathSteps).unsqueeze(1);
        const auto walk = centre.unsqueeze(0) + alphas * direction.unsqueeze(0);
        writeRow(out / "age_direction.png", ae, walk);
        return {{"young_mean_age", aged[tenth / 2].first},
                {"old_mean_age", aged[aged.size() - 1 - tenth / 2].first},
                {"steps", kPathSteps}};
    }

    /** assignments.csv: one row per code, in code order; -1 for a face outside the clustered subset. */
    void writeAssignments(const fs::path& out) const
    {
        writeFileAtomic(out / "assignments.csv", assignmentsCsv(m_codes.records(), labelOfRow()));
    }

    void writeClustersJson(const fs::path& out) const
    {
        const auto& records = m_codes.records();
        json clusters = json::array();
        for (const auto& c : m_result.clusters) {
            json nearest = json::array(), farthest = json::array();
            for (auto i : c.nearest)
                nearest.push_back(recordKey(records[i]));
            for (auto i : c.farthest)
                farthest.push_back(recordKey(records[i]));
            clusters.push_back({{"cluster", c.id},
                                {"size", c.size},
                                {"age_mean", num(c.ageMean)},
                                {"aged", c.aged},
                                {"age_histogram", histogramJson(c.ageDecades)},
                                {"gender", {{"M", c.male}, {"F", c.female}, {"unknown", c.unknownGender}}},
                                {"medoid", c.medoid >= 0 ? json(recordKey(records[c.medoid])) : json()},
                                {"nearest", nearest},
                                {"farthest", farthest}});
        }
        writeFileAtomic(out / "clusters.json", jsonText(clusters, 2) + "\n");
    }

    /** metrics.json, written last: the sweep when there was one, the age direction when it was drawn. */
    void writeMetrics(const fs::path& out, bool swept, const json& ageDirection) const
    {
        json sweep = json::array();
        for (const auto& sp : m_result.sweep)
            sweep.push_back({{"k", sp.k},
                             {"inertia", sp.inertia},
                             {"silhouette", sp.silhouette},
                             {"davies_bouldin", sp.daviesBouldin}});
        const auto& m = m_result.metrics;
        json metrics = {{"format", outputKindFormat(OutputKind::Clustering)},
                        {"k", m.k},
                        {"n", m_n},
                        {"dim", m_codes.dim()},
                        {"inertia", m.inertia},
                        {"iterations", m.iterations},
                        {"silhouette", m.silhouette},
                        {"silhouette_sample", std::min<int64_t>(m_n, m_p.silhouetteSample)},
                        {"davies_bouldin", m.daviesBouldin},
                        {"labels",
                         {{"age_decade", {{"n", m.agedCount}, {"nmi", num(m.ageNmi)}, {"ari", num(m.ageAri)}}},
                          {"gender", {{"n", m.genderCount}, {"nmi", num(m.genderNmi)}, {"ari", num(m.genderAri)}}}}},
                        {"suggested_k", m_result.suggestedK},
                        {"reason", m_result.reason},
                        {"seed", m_p.seed},
                        {"restarts", m_p.restarts},
                        {"codes", fs::absolute(m_p.codes).lexically_normal().string()}};
        if (swept)
            metrics["sweep"] = sweep;
        if (!ageDirection.is_null())
            metrics["age_direction"] = ageDirection;
        if (!m_p.rows.empty())
            metrics["subset"] = m_n; // faces clustered, of codes.count(); the others are -1 in assignments.csv
        metrics["data"] = m_codes.dataDir().string();
        metrics["data_fingerprint"] = datasetFingerprint(m_images);
        writeFileAtomic(out / "metrics.json", jsonText(metrics, 2) + "\n", /*durable=*/false);
    }

    const ClusterParams& m_p;
    const CancelToken& m_cancel;
    const ClusterJob::ProgressFn& m_onProgress;
    // Several processes: the job's connections, made first; each rank assigns its share of the rows.
    std::unique_ptr<ProcessGroup> m_group;
    const Codes m_codes;
    const PreparedDataset m_images;
    torch::Device m_device = torch::kCPU;
    torch::Tensor m_rowsTensor;
    torch::Tensor m_data; // the codes clustered, [n, D] on the device
    int64_t m_n = 0;
    ClusterResult m_result;
    KMeansResult m_chosen;
    double m_bestSilhouette = -2;
    int m_k = 0;
};

} // namespace

ClusterJob::ClusterJob(ClusterParams params)
    : m_params(std::move(params))
{
}

ClusterResult ClusterJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    torch::NoGradGuard noGrad;
    ClusterSession session(m_params, cancel, onProgress);
    return session.run();
}

} // namespace faceatlas
