// `cluster` and `attention`: the unsupervised side and the attention maps from the command line.
#include "cli/CliSupport.h"
#include "cli/Commands.h"
#include "cli/Launch.h"

#include "analysis/SliceJob.h"
#include "data/ClusterSummaries.h"
#include "data/FaceAlign.h"
#include "data/ImageIO.h"
#include "data/Overlay.h"
#include "data/PreparedDataset.h"
#include "ml/Attention.h"
#include "ml/Batches.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/Runtime.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include "util/Json.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceatlas::cli {

namespace {

/** One line per cluster: size, median age and quartiles, female share, label and name. */
void printClusterSummaries(const ClusterSummaries& s)
{
    std::printf("%7s %7s %12s %8s  %-32s %s\n", "cluster", "size", "age (IQR)", "female", "label", "name");
    for (const ClusterSummary& c : s.clusters) {
        const GroupSummary& g = c.figures;
        const std::string age = g.aged ? formatDouble(g.ageMedian, 0) + " (" + formatDouble(g.ageQ1, 0) + "-"
                                             + formatDouble(g.ageQ3, 0) + ")"
                                       : "-";
        const std::string female =
            std::isfinite(g.femaleShare()) ? formatDouble(100 * g.femaleShare(), 0) + "%" : std::string("-");
        std::printf("%7d %7lld %12s %8s  %-32s %s\n", c.cluster, static_cast<long long>(g.size), age.c_str(),
                    female.c_str(), c.label.c_str(), c.name.c_str());
    }
}

} // namespace

namespace {

/** The clustering settings of the command line (not yet the audit, nor the processes). */
ClusterParams clusterParams(const Args& args)
{
    ClusterParams p;
    p.codes = std::filesystem::u8path(args.required("codes"));
    p.outDir = std::filesystem::u8path(args.required("out"));
    p.force = args.has("force");
    if (args.has("k"))
        p.k = args.intValue("k");
    if (const auto range = args.value("k-range")) {
        const auto colon = range->find(':');
        try {
            if (colon == std::string::npos)
                throw std::invalid_argument(*range);
            p.kMin = std::stoi(range->substr(0, colon));
            p.kMax = std::stoi(range->substr(colon + 1));
        } catch (const std::exception&) {
            throw UsageError("--k-range takes A:B, e.g. 4:20, not '" + *range + "'");
        }
    }
    if ((p.k > 0) == (p.kMax > 0))
        throw UsageError("give either --k K or --k-range A:B");
    p.restarts = args.intValue("restarts");
    p.maxIterations = args.intValue("max-iter");
    p.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    p.device = *args.value("device");
    p.dist = distConfig(args);
    return p;
}

void printClustering(const ClusterResult& r, const ClusterParams& p)
{
    const auto& m = r.metrics;
    if (r.sweep.size() > 1) {
        std::printf("%4s %14s %11s %15s\n", "k", "inertia", "silhouette", "Davies-Bouldin");
        for (const auto& s : r.sweep)
            std::printf("%4d %14.1f %11.4f %15.4f\n", s.k, s.inertia, s.silhouette, s.daviesBouldin);
        std::printf("suggested k = %d: %s\n\n", r.suggestedK, r.reason.c_str());
    }
    std::printf("k %d  inertia %.1f  silhouette %.4f  Davies-Bouldin %.4f  (%d iterations)\n", m.k, m.inertia,
                m.silhouette, m.daviesBouldin, m.iterations);
    if (m.agedCount > 1)
        std::printf("against age decades (%lld faces): NMI %.4f  ARI %.4f\n", static_cast<long long>(m.agedCount),
                    m.ageNmi, m.ageAri);
    if (m.genderCount > 1)
        std::printf("against gender (%lld faces):      NMI %.4f  ARI %.4f\n", static_cast<long long>(m.genderCount),
                    m.genderNmi, m.genderAri);
    std::printf("\n");
    printClusterSummaries(r.summaries);
    std::printf("\npictures and tables in %s (name a cluster with faceatlas-cli cluster-name)%s\n", p.outDir.c_str(),
                p.dist.distributed() ? (" (" + std::to_string(p.dist.worldSize) + " processes)").c_str() : "");
}

} // namespace

int runCluster(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("cluster"));
    ClusterParams p = clusterParams(args);
    const bool jsonOut = args.has("json");
    const auto audit = args.value("audit");
    int threads = 0; // all cores
    if (args.has("threads"))
        threads = args.intValue("threads");
    const int processes = processCount(args, p.dist);
    args.rejectUnknown();
    if (processes > 1)
        return launchRanks("cluster", words, processes, args, p.dist, threads);
    configureTorchThreads(threads);
    if (audit) {
        // Checked to be of the codes' preparation and read here: the clustering (ml) reads no audit.
        const PreparedDataset data = PreparedDataset::open(Codes::open(p.codes).dataDir());
        p.auditFlagged =
            std::make_shared<const std::vector<char>>(auditFlaggedRows(std::filesystem::u8path(*audit), data));
        p.audit = std::filesystem::u8path(*audit);
    }
    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar(p.dist.leader()); // of several processes, rank 0 alone shows its progress and results
    const ClusterResult r = ClusterJob(p).run(cancel, [&](const JobProgress& jp) { bar.update(jp); });
    bar.finish();
    if (r.cancelled) {
        std::fprintf(stderr, "cluster: cancelled\n");
        return 130;
    }
    if (!p.dist.leader())
        return 0;
    if (jsonOut)
        printLine(jsonText(nlohmann::json::parse(readFile(p.outDir / "metrics.json"))));
    else
        printClustering(r, p);
    return 0;
}

int runClusterName(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("cluster-name"));
    const auto dir = std::filesystem::u8path(args.required("clusters"));
    const auto cluster = args.value("cluster");
    const auto name = args.value("name");
    const bool jsonOut = args.has("json");
    args.rejectUnknown();
    if (cluster.has_value() != name.has_value())
        throw UsageError("give --cluster N and --name TEXT together (or neither, to list the names)");
    bool computed = false;
    ClusterSummaries s = openClusterNames(dir, &computed);
    if (cluster) {
        const int k = static_cast<int>(s.clusters.size());
        char* end = nullptr;
        const long c = std::strtol(cluster->c_str(), &end, 10);
        if (cluster->empty() || *end != '\0' || c < 0 || c >= k)
            throw UsageError("--cluster must be a cluster of " + displayPath(dir) + ": 0 to " + std::to_string(k - 1)
                             + ", not '" + cluster->substr(0, 20) + "'");
        try {
            s.clusters[static_cast<size_t>(c)].name = checkClusterName(*name);
        } catch (const Error& e) {
            throw UsageError(std::string("--name: ") + e.what());
        }
        writeClusterNames(dir, s);
        std::fprintf(stderr, "cluster %ld of %s is now %s\n", c, displayPath(dir).c_str(),
                     s.clusters[static_cast<size_t>(c)].shown().c_str());
    } else if (computed) {
        std::fprintf(stderr,
                     "%s was made before FaceAtlas kept cluster names: the summaries are computed from its "
                     "preparation (without the audit's flags) and saved when a cluster is named\n",
                     displayPath(dir).c_str());
    }
    if (jsonOut)
        std::fputs(clusterNamesJson(s).c_str(), stdout);
    else
        printClusterSummaries(s);
    return 0;
}

int runAttention(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("attention"));
    const auto runDir = std::filesystem::u8path(args.required("run"));
    const auto imagePath = std::filesystem::u8path(args.required("image"));
    const auto out = std::filesystem::u8path(args.required("out"));
    AttentionParams params;
    params.method = parseAttentionMethod(args.required("method"));
    params.layer = args.value("layer").value_or("");
    if (args.has("channel")) // else -1: the mean over the channels
        params.channel = args.intValue("channel");
    const double opacity = args.doubleValue("opacity");
    const Colormap colormap = parseColormap(*args.value("colormap"));
    const int display = args.intValue("size");
    args.rejectUnknown();
    if (opacity < 0 || opacity > 1)
        throw UsageError("--opacity must be between 0 and 1");
    if (display < 16 || display > 4096)
        throw UsageError("--size must be between 16 and 4096");

    LoadedModel loaded = loadRunModel(runDir);
    const int s = loaded.model->imageSize();
    const std::string bytes = readFile(imagePath);
    std::vector<std::uint8_t> face(static_cast<size_t>(s) * s * 3), big(static_cast<size_t>(display) * display * 3);
    // Framed as the model's training faces were; the picture under the map is the same framing, larger.
    const Framing framing = parseFraming(checkpointFraming(loaded.metaJson));
    std::string problem;
    FaceFinding found;
    if (!decodeFramedFace(bytes, s, framing, face.data(), &found, problem)
        || !frameKnownFace(bytes, display, &found, big.data(), problem))
        throw Error(displayPath(imagePath) + ": " + problem);
    if (framing == Framing::Aligned && !found.found())
        std::fprintf(stderr, "attention: no face found in %s; the map is of its centred square\n",
                     displayPath(imagePath).c_str());
    const auto input = imageTensor(face.data(), s);
    const AttentionMap map = attentionMap(*loaded.model, input, params);
    const cv::Mat rgb(display, display, CV_8UC3, big.data());
    const auto mapData = map.map.contiguous();
    const cv::Mat overlay = renderOverlay(rgb, mapData.data_ptr<float>(), s, map.isSigned, opacity, colormap);
    cv::Mat bgr;
    cv::cvtColor(overlay, bgr, cv::COLOR_RGB2BGR);
    std::vector<uchar> png;
    cv::imencode(".png", bgr, png);
    writeFileAtomic(out, std::string(png.begin(), png.end()));
    std::printf("%s map of layer %s%s written to %s", map.isSigned ? "signed" : "unsigned", map.layer.c_str(),
                params.channel >= 0 ? (" channel " + std::to_string(params.channel)).c_str() : "", out.c_str());
    if (std::isfinite(map.predictedAge))
        std::printf(" (predicted age %.1f)", map.predictedAge);
    std::printf("\n");
    return 0;
}

} // namespace faceatlas::cli
