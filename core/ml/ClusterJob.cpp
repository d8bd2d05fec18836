#include "ml/ClusterJob.h"

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

/** `steps` codes evenly spaced on the straight line from code `a` to code `b` ([D] each). */
torch::Tensor linePath(const torch::Tensor& a, const torch::Tensor& b, int steps)
{
    const auto t = torch::linspace(0, 1, steps, a.options()).unsqueeze(1);
    return a.unsqueeze(0) * (1 - t) + b.unsqueeze(0) * t;
}

/** Images [N,3,S,S] float 0-1 -> a row of RGB uint8 tiles. */
std::vector<std::uint8_t> toRgb(const torch::Tensor& images)
{
    const auto t = images.mul(255).round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().cpu();
    return std::vector<std::uint8_t>(t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel());
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

ContactSheet contactSheet(const std::vector<std::vector<const std::uint8_t*>>& rows, int size)
{
    size_t columns = 1;
    for (const auto& r : rows)
        columns = std::max(columns, r.size());
    const int gap = 2;
    ContactSheet sheet;
    sheet.width = static_cast<int>(columns) * (size + gap) + gap;
    sheet.height = static_cast<int>(rows.size()) * (size + gap) + gap;
    sheet.rgb.assign(static_cast<size_t>(sheet.width) * sheet.height * 3, 48);
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < rows[r].size(); ++c) {
            if (!rows[r][c])
                continue;
            const int x0 = gap + static_cast<int>(c) * (size + gap), y0 = gap + static_cast<int>(r) * (size + gap);
            for (int y = 0; y < size; ++y)
                std::memcpy(&sheet.rgb[(static_cast<size_t>(y0 + y) * sheet.width + x0) * 3],
                            rows[r][c] + static_cast<size_t>(y) * size * 3, static_cast<size_t>(size) * 3);
        }
    return sheet;
}

CentroidPaths CentroidPaths::open(const fs::path& clustersDir)
{
    const fs::path metricsPath = clustersDir / "metrics.json";
    const fs::path centresPath = clustersDir / "centroids.f32";
    if (!fs::is_regular_file(metricsPath))
        throw Error(displayPath(clustersDir) + ": not a clustering folder (no metrics.json)");
    if (!fs::is_regular_file(centresPath))
        throw Error(displayPath(clustersDir) + ": no centroids.f32 (clustered by an older FaceAtlas; cluster again)");
    int64_t k = 0, dim = 0;
    fs::path codesDir;
    try {
        const json metrics = json::parse(readFile(metricsPath, kMaxManifestBytes));
        if (!metrics.is_object() || !metrics.at("k").is_number_integer() || !metrics.at("dim").is_number_integer())
            throw Error(displayPath(metricsPath) + ": invalid: k and dim must be whole numbers");
        k = metrics.at("k").get<int64_t>();
        dim = metrics.at("dim").get<int64_t>();
        codesDir = metrics.at("codes").get<std::string>();
    } catch (const json::exception& e) {
        throw Error(displayPath(metricsPath) + ": invalid: " + e.what());
    }
    if (k < 1 || dim < 1 || k > (int64_t(1) << 20) || dim > (int64_t(1) << 24))
        throw Error(displayPath(metricsPath) + ": invalid: k " + std::to_string(k) + ", dim " + std::to_string(dim));
    const std::string bytes = readFile(centresPath);
    if (bytes.size() != static_cast<size_t>(k * dim) * sizeof(float))
        throw Error(displayPath(centresPath) + ": size does not match " + std::to_string(k) + " centres of "
                    + std::to_string(dim) + " floats");
    fs::path runDir;
    if (!fs::is_regular_file(codesDir / "codes.json"))
        throw Error(displayPath(codesDir / "codes.json") + ": the codes this clustering was made from are gone");
    try {
        runDir = json::parse(readFile(codesDir / "codes.json", kMaxManifestBytes)).at("run").get<std::string>();
    } catch (const json::exception& e) {
        throw Error(displayPath(codesDir / "codes.json") + ": invalid: " + e.what());
    }
    CentroidPaths paths;
    paths.m_centroids = torch::empty({k, dim}, torch::kFloat);
    std::memcpy(paths.m_centroids.data_ptr<float>(), bytes.data(), bytes.size());
    paths.m_autoencoder = loadRunModel(runDir).model;
    paths.m_autoencoder->eval();
    paths.m_imageSize = paths.m_autoencoder->imageSize();
    return paths;
}

std::vector<std::uint8_t> CentroidPaths::between(int from, int to, int steps) const
{
    if (from < 0 || to < 0 || from >= clusters() || to >= clusters())
        throw Error("clusters " + std::to_string(from) + " and " + std::to_string(to) + ": there are clusters 0 to "
                    + std::to_string(clusters() - 1));
    if (steps < 2)
        throw Error("a path between two clusters needs at least 2 steps");
    return toRgb(decodeCodes(*m_autoencoder, linePath(m_centroids[from], m_centroids[to], steps)));
}

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

ClusterJob::ClusterJob(ClusterParams params)
    : m_params(std::move(params))
{
}

ClusterResult ClusterJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    torch::NoGradGuard noGrad;
    const ClusterParams& p = m_params;
    checkOutputFolder(p.outDir, OutputKind::Clustering,
                      {p.force, {p.codes}}); // before the work, and again at the write
    const Codes codes = Codes::open(p.codes);
    // The prepared folder the codes were made from, for the pictures: the same preparation, row for row.
    if (codes.dataDir().empty())
        throw Error(displayPath(p.codes / "codes.json") + ": does not name the prepared folder it encoded");
    const PreparedDataset images = PreparedDataset::open(codes.dataDir());
    if (!codes.dataFingerprint().empty() && !madeFromDataset(codes.dataFingerprint(), images))
        throw Error("codes " + displayPath(p.codes) + " were made from another preparation of "
                    + displayPath(codes.dataDir()) + " (prepared again since); encode again");
    if (images.count() != codes.count())
        throw Error("codes " + displayPath(p.codes) + " hold " + std::to_string(codes.count()) + " faces but "
                    + displayPath(codes.dataDir()) + " holds " + std::to_string(images.count())
                    + " (another preparation); encode again");
    const torch::Device device = resolveDevice(p.device);
    // A subset clusters only those rows; `codeRow(i)` maps position i of the clustered data to its code row.
    const std::vector<int64_t>& rows = p.rows;
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i] < 0 || rows[i] >= static_cast<int64_t>(codes.count()) || (i > 0 && rows[i] <= rows[i - 1]))
            throw Error("a subset to cluster must list rows of the codes " + displayPath(p.codes)
                        + " in increasing order, each below " + std::to_string(codes.count()));
    const torch::Tensor rowsTensor = torch::tensor(rows, torch::kLong);
    const torch::Tensor data = rows.empty() ? (device.is_cuda() ? codes.tensor().to(device) : codes.tensor())
                                            : codes.tensor().index_select(0, rowsTensor).to(device);
    const int64_t n = rows.empty() ? static_cast<int64_t>(codes.count()) : static_cast<int64_t>(rows.size());
    const auto codeRow = [&rows](int64_t i) { return rows.empty() ? i : rows[static_cast<size_t>(i)]; };
    std::vector<int> ks;
    if (p.k > 0) {
        ks.push_back(p.k);
    } else {
        if (p.kMin < 2 || p.kMax < p.kMin)
            throw Error("give --k K or a range --k-range A:B with 2 <= A <= B");
        for (int k = p.kMin; k <= p.kMax; ++k)
            ks.push_back(k);
    }
    ClusterResult result;
    KMeansResult chosen;
    double bestSilhouette = -2;
    for (size_t i = 0; i < ks.size(); ++i) {
        KMeansParams kp;
        kp.k = ks[i];
        kp.restarts = p.restarts;
        kp.maxIterations = p.maxIterations;
        kp.seed = p.seed;
        KMeansResult km = kmeans(data, kp, cancel, [&](const JobProgress& jp) {
            if (onProgress)
                onProgress({"k-means", static_cast<long long>(i) * jp.total + jp.done,
                            static_cast<long long>(ks.size()) * jp.total});
        });
        if (km.cancelled) {
            result.cancelled = true;
            return result;
        }
        const double silhouette = silhouetteScore(data, km.labels, ks[i], p.silhouetteSample, p.seed);
        const double db = daviesBouldin(data, km.labels, km.centroids);
        result.sweep.push_back({ks[i], km.inertia, silhouette, db});
        if (silhouette > bestSilhouette) {
            bestSilhouette = silhouette;
            chosen = std::move(km);
            result.suggestedK = ks[i];
        }
    }
    result.reason = ks.size() == 1
                        ? "k given"
                        : "highest silhouette (" + std::to_string(bestSilhouette).substr(0, 6)
                              + ") over k = " + std::to_string(ks.front()) + ".." + std::to_string(ks.back());
    const int k = result.suggestedK;
    result.labels = chosen.labels;

    // Labels: age decades and gender where the records have them.
    std::vector<int> decade(n, -1), gender(n, -1);
    for (int64_t i = 0; i < n; ++i) {
        const Record& r = codes.records()[codeRow(i)];
        if (r.age)
            decade[i] = std::max(0, *r.age) / 10;
        if (r.gender != Gender::Unknown)
            gender[i] = r.gender == Gender::Male ? 1 : 0;
    }
    result.metrics = labelAgreement(chosen.labels, decade, gender);
    result.metrics.k = k;
    result.metrics.inertia = chosen.inertia;
    result.metrics.iterations = chosen.iterations;
    for (const auto& s : result.sweep)
        if (s.k == k) {
            result.metrics.silhouette = s.silhouette;
            result.metrics.daviesBouldin = s.daviesBouldin;
        }

    // Per cluster: label statistics, and members ordered by distance to the centre.
    torch::Tensor assigned, dist2;
    assignToCentroids(data, chosen.centroids.to(data.device()), assigned, dist2);
    const auto dist = dist2.cpu();
    const float* d = dist.data_ptr<float>();
    std::vector<std::vector<std::int64_t>> members(k);
    for (int64_t i = 0; i < n; ++i)
        members[chosen.labels[i]].push_back(i);
    result.clusters.resize(k);
    double ageSum = 0;
    for (int c = 0; c < k; ++c) {
        ClusterInfo& info = result.clusters[c];
        info.id = c;
        info.size = static_cast<std::int64_t>(members[c].size());
        ageSum = 0;
        for (auto i : members[c]) {
            const Record& r = codes.records()[codeRow(i)];
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
        auto& m = members[c];
        std::sort(m.begin(), m.end(), [&](std::int64_t a, std::int64_t b) { return d[a] < d[b]; });
        if (!m.empty())
            info.medoid = codeRow(m.front());
        const size_t e = std::min<size_t>(static_cast<size_t>(p.exemplars), m.size());
        for (size_t j = 0; j < e; ++j) {
            info.nearest.push_back(codeRow(m[j]));
            info.farthest.push_back(codeRow(m[m.size() - 1 - j]));
        }
    }

    // Pictures: decoded centroids (the capstone's step), medoids, galleries.
    // Written whole beside DIR and swapped in at the end: the window or a reader of the earlier
    // clustering sees it or this one, never a mix, and a failed or killed run leaves it as it was.
    StagedFolder staged(p.outDir, OutputKind::Clustering, {p.force, {p.codes, codes.dataDir(), codes.runDir()}});
    const fs::path& out = staged.work();
    for (const char* sub : {"centroids", "medoids", "galleries"})
        fs::create_directories(out / sub);
    LoadedModel ae = loadRunModel(codes.runDir());
    ae.model->to(device);
    const int s = images.imageSize();
    if (ae.model->kind() != ModelKind::Autoencoder || ae.model->imageSize() != s
        || autoencoderCodeShape(s) != codes.shape())
        throw Error(displayPath(codes.runDir()) + ": not the autoencoder that made codes " + displayPath(p.codes)
                    + " (its model or size differ)");
    const auto decoded = toRgb(decodeCodes(*ae.model, chosen.centroids.to(device)));
    {
        // The centres themselves, so any two can be joined later (CentroidPaths).
        const auto centres = chosen.centroids.to(torch::kCPU, torch::kFloat).contiguous();
        writeFileAtomic(out / "centroids.f32",
                        std::string_view(reinterpret_cast<const char*>(centres.data_ptr<float>()),
                                         static_cast<size_t>(centres.numel()) * sizeof(float)));
    }
    const size_t tile = static_cast<size_t>(s) * s * 3;
    for (int c = 0; c < k; ++c) {
        const ClusterInfo& info = result.clusters[c];
        const std::uint8_t* centroid = decoded.data() + c * tile;
        writePngRgb(out / "centroids" / (std::to_string(c) + ".png"), centroid, s, s);
        if (info.medoid >= 0)
            writePngRgb(out / "medoids" / (std::to_string(c) + ".png"), images.image(info.medoid), s, s);
        std::vector<const std::uint8_t*> top{centroid}, bottom{nullptr};
        for (auto i : info.nearest)
            top.push_back(images.image(i));
        for (auto i : info.farthest)
            bottom.push_back(images.image(i));
        writeSheet(out / "galleries" / (std::to_string(c) + ".png"), {top, bottom}, s);
    }
    // Beyond the capstone: a path between the two largest clusters, and the age direction.
    std::vector<int> bySize(k);
    for (int c = 0; c < k; ++c)
        bySize[c] = c;
    std::sort(bySize.begin(), bySize.end(),
              [&](int a, int b) { return result.clusters[a].size > result.clusters[b].size; });
    const int steps = 8;
    const auto path = linePath(chosen.centroids[bySize[0]], chosen.centroids[bySize[1]], steps);
    const auto pathImages = toRgb(decodeCodes(*ae.model, path.to(device)));
    std::vector<const std::uint8_t*> row;
    for (int i = 0; i < steps; ++i)
        row.push_back(pathImages.data() + i * tile);
    writeSheet(out / "interpolation.png", {row}, s);
    json ageDirection;
    {
        std::vector<std::pair<int, std::int64_t>> aged;
        for (int64_t i = 0; i < n; ++i)
            if (codes.records()[codeRow(i)].age)
                aged.emplace_back(*codes.records()[codeRow(i)].age, codeRow(i));
        if (aged.size() >= 20) {
            std::sort(aged.begin(), aged.end());
            const size_t tenth = aged.size() / 10;
            std::vector<int64_t> young, old;
            for (size_t i = 0; i < tenth; ++i) {
                young.push_back(aged[i].second);
                old.push_back(aged[aged.size() - 1 - i].second);
            }
            const auto all = codes.tensor();
            const auto youngMean = all.index_select(0, torch::tensor(young)).mean(0);
            const auto oldMean = all.index_select(0, torch::tensor(old)).mean(0);
            const auto direction = oldMean - youngMean;
            const auto centre = rows.empty() ? all.mean(0) : all.index_select(0, rowsTensor).mean(0);
            auto alphas = torch::linspace(-1, 1, steps).unsqueeze(1);
            const auto walk = centre.unsqueeze(0) + alphas * direction.unsqueeze(0);
            const auto walkImages = toRgb(decodeCodes(*ae.model, walk.to(device)));
            row.clear();
            for (int i = 0; i < steps; ++i)
                row.push_back(walkImages.data() + i * tile);
            writeSheet(out / "age_direction.png", {row}, s);
            ageDirection = {{"young_mean_age", aged[tenth / 2].first},
                            {"old_mean_age", aged[aged.size() - 1 - tenth / 2].first},
                            {"steps", steps}};
        }
    }

    // Text outputs.
    // One row per code, in code order; -1 for a face outside the clustered subset.
    std::vector<int> labelOfRow(codes.count(), -1);
    for (int64_t i = 0; i < n; ++i)
        labelOfRow[static_cast<size_t>(codeRow(i))] = chosen.labels[i];
    writeFileAtomic(out / "assignments.csv", assignmentsCsv(codes.records(), labelOfRow));
    json clusters = json::array();
    for (const auto& c : result.clusters) {
        json nearest = json::array(), farthest = json::array();
        for (auto i : c.nearest)
            nearest.push_back(recordKey(codes.records()[i]));
        for (auto i : c.farthest)
            farthest.push_back(recordKey(codes.records()[i]));
        clusters.push_back({{"cluster", c.id},
                            {"size", c.size},
                            {"age_mean", num(c.ageMean)},
                            {"aged", c.aged},
                            {"age_histogram", histogramJson(c.ageDecades)},
                            {"gender", {{"M", c.male}, {"F", c.female}, {"unknown", c.unknownGender}}},
                            {"medoid", c.medoid >= 0 ? json(recordKey(codes.records()[c.medoid])) : json()},
                            {"nearest", nearest},
                            {"farthest", farthest}});
    }
    writeFileAtomic(out / "clusters.json", jsonText(clusters, 2) + "\n");
    json sweep = json::array();
    for (const auto& sp : result.sweep)
        sweep.push_back({{"k", sp.k},
                         {"inertia", sp.inertia},
                         {"silhouette", sp.silhouette},
                         {"davies_bouldin", sp.daviesBouldin}});
    const auto& m = result.metrics;
    json metrics = {{"format", outputKindFormat(OutputKind::Clustering)},
                    {"k", m.k},
                    {"n", n},
                    {"dim", codes.dim()},
                    {"inertia", m.inertia},
                    {"iterations", m.iterations},
                    {"silhouette", m.silhouette},
                    {"silhouette_sample", std::min<int64_t>(n, p.silhouetteSample)},
                    {"davies_bouldin", m.daviesBouldin},
                    {"labels",
                     {{"age_decade", {{"n", m.agedCount}, {"nmi", num(m.ageNmi)}, {"ari", num(m.ageAri)}}},
                      {"gender", {{"n", m.genderCount}, {"nmi", num(m.genderNmi)}, {"ari", num(m.genderAri)}}}}},
                    {"suggested_k", result.suggestedK},
                    {"reason", result.reason},
                    {"seed", p.seed},
                    {"restarts", p.restarts},
                    {"codes", fs::absolute(p.codes).lexically_normal().string()}};
    if (ks.size() > 1)
        metrics["sweep"] = sweep;
    if (!ageDirection.is_null())
        metrics["age_direction"] = ageDirection;
    if (!rows.empty())
        metrics["subset"] = n; // faces clustered, of codes.count(); the others are -1 in assignments.csv
    metrics["data"] = codes.dataDir().string();
    metrics["data_fingerprint"] = datasetFingerprint(images);
    writeFileAtomic(out / "metrics.json", jsonText(metrics, 2) + "\n", /*durable=*/false);
    staged.commit(); // every file synced, then swapped in
    return result;
}

} // namespace faceatlas
