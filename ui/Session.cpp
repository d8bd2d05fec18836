#include "Session.h"

#include "data/ClusterAssignments.h"
#include "data/ClusterSummaries.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/Calibration.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "WriteQueue.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QSettings>
#include <QStandardPaths>

namespace faceatlas::ui {

namespace {
/** m_chosenRuns' key for the age run chosen last, of any age-model kind (the role). */
/** The key in m_chosenRuns of the run chosen last of any kind of a role. */
QString roleKey(ModelRole role)
{
    return role == ModelRole::AgeModel ? QStringLiteral("<age model>") : QStringLiteral("<autoencoder>");
}
} // namespace

Session::Session(QObject* parent)
    : QObject(parent)
    , m_predictions(std::make_shared<const std::vector<float>>())
    , m_predictionSpreads(std::make_shared<const std::vector<float>>())
    , m_clusterLabels(std::make_shared<const std::vector<int>>())
    , m_jobs(new JobRunner(this))
    , m_lane(new InteractiveLane(this))
    , m_writer(new WriteQueue(this))
{
    m_rescan.setSingleShot(true);
    m_rescan.setInterval(300);
    connect(&m_rescan, &QTimer::timeout, this, &Session::refreshIndex);
    QSettings settings;
    // The same default as the CLI's, so both see the same runs.
    const QString fallback = QString::fromStdString(workspaceDir().string());
    setWorkspace(settings.value("workspace", fallback).toString());
}

Session::~Session() = default;

void Session::setWorkspace(const QString& dir)
{
    m_workspace = dir;
    QDir().mkpath(dir);
    // Core is told the workspace where it needs it (a training's run index, the Runs page's list).
    QSettings().setValue("workspace", dir);
    m_index = WorkspaceIndex(dir.toStdString());
    m_index.refresh();
    watchWorkspace();
    updateCurrent(false);
    Q_EMIT runsChanged(); // the Runs page lists this workspace's runs
}

void Session::watchWorkspace()
{
    // The folders that artifacts appear in (a finished job swaps its folder in by a rename there),
    // and the workspace itself for runs.index and folders made after this.
    delete m_watcher;
    m_watcher = new QFileSystemWatcher(this);
    QStringList folders{m_workspace};
    for (const OutputKind kind :
         {OutputKind::Run, OutputKind::Codes, OutputKind::Clustering, OutputKind::Map, OutputKind::Audit}) {
        const QString folder = QDir(m_workspace).filePath(QString::fromLatin1(WorkspaceIndex::folderName(kind)));
        if (QFileInfo(folder).isDir())
            folders << folder;
    }
    m_watcher->addPaths(folders);
    const auto later = [this] { m_rescan.start(); };
    connect(m_watcher, &QFileSystemWatcher::directoryChanged, this, later);
    connect(m_watcher, &QFileSystemWatcher::fileChanged, this, later);
}

void Session::refreshIndex()
{
    m_index.refresh();
    if (m_watcher && m_watcher->directories().size() < 6)
        watchWorkspace(); // a folder of the workspace was made since: watch it too
    updateCurrent(false);
}

void Session::updateCurrent(bool quiet)
{
    const std::vector<std::string> fingerprint = openFingerprints();
    const auto newestDir = [&](OutputKind kind) {
        const Artifact* a = m_index.newest(kind, fingerprint);
        return a ? QString::fromStdString(a->dir.string()) : QString();
    };
    // The runs the index found, with their status: runsChanged when one appears, goes or ends.
    std::string runs;
    for (const Artifact& a : m_index.artifacts())
        if (a.kind == OutputKind::Run)
            runs += a.dir.string() + '\t' + a.status + (a.usable() ? "" : "\tdamaged") + '\n';
    const bool runsDiffer = runs != m_runsSeen;
    m_runsSeen = std::move(runs);
    const QString codes = newestDir(OutputKind::Codes), clusters = newestDir(OutputKind::Clustering),
                  map = newestDir(OutputKind::Map), audit = newestDir(OutputKind::Audit);
    const bool codesDiffer = codes != m_codesDir, clustersDiffer = clusters != m_clustersDir,
               mapDiffers = map != m_newestMap, auditDiffers = audit != m_newestAudit;
    m_codesDir = codes;
    m_newestMap = map;
    m_newestAudit = audit;
    if (clustersDiffer) {
        m_clustersDir = clusters;
        loadClusterLabels();
    }
    if (quiet)
        return;
    if (runsDiffer)
        Q_EMIT runsChanged();
    if (codesDiffer)
        Q_EMIT codesChanged();
    if (clustersDiffer)
        Q_EMIT clustersChanged();
    if (mapDiffers)
        Q_EMIT newestMapChanged();
    if (auditDiffers)
        Q_EMIT newestAuditChanged();
}

std::vector<std::string> Session::openFingerprints() const
{
    if (!m_dataset)
        return {};
    return {m_fingerprint.toStdString(), m_legacyFingerprint};
}

bool Session::isOpenPreparation(const std::string& fingerprint) const
{
    const auto open = openFingerprints();
    return !fingerprint.empty() && std::find(open.begin(), open.end(), fingerprint) != open.end();
}

QString Session::newest(OutputKind kind) const
{
    switch (kind) {
    case OutputKind::Codes: return m_codesDir;
    case OutputKind::Clustering: return m_clustersDir;
    case OutputKind::Map: return m_newestMap;
    case OutputKind::Audit: return m_newestAudit;
    default: return {};
    }
}

QString Session::otherDatasetsNote(OutputKind kind) const
{
    const std::vector<std::string> fingerprint = openFingerprints();
    if (m_index.newest(kind, fingerprint))
        return {};
    const int others = m_index.countOfOthers(kind, fingerprint);
    if (others == 0)
        return {};
    return tr(" The workspace holds %n made from other preparations (another dataset, or this one prepared with other "
              "settings), none from this one; they are not shown here (File > What the workspace holds lists them).",
              "", others);
}

void Session::setSource(const QString& spec)
{
    m_source = spec;
    QSettings settings;
    QStringList recent = settings.value("recentSources").toStringList();
    recent.removeAll(spec);
    recent.prepend(spec);
    while (recent.size() > 8)
        recent.removeLast();
    settings.setValue("recentSources", recent);
    settings.setValue("source", spec);
    Q_EMIT sourceChanged(spec);
}

QString Session::preparedDirFor(const QString& spec, int size) const
{
    const QString key = QString::fromStdString(hexKey(fnv1a64(spec.toStdString())));
    return QDir(m_workspace).filePath(QStringLiteral("prepared/%1-%2").arg(key).arg(size));
}

void Session::openPrepared(const QString& dir)
{
    // Open first: a folder that fails to open changes nothing.
    auto next = std::make_shared<const PreparedDataset>(PreparedDataset::open(dir.toStdString()));
    Q_EMIT datasetAboutToChange();
    m_lane->invalidateAll();
    m_dataset = std::move(next);
    m_datasetDir = dir;
    m_fingerprint = QString::fromStdString(faceatlas::datasetFingerprint(*m_dataset));
    m_legacyFingerprint = faceatlas::legacyDatasetFingerprint(*m_dataset);
    m_predictions = std::make_shared<const std::vector<float>>();
    m_predictionSpreads = std::make_shared<const std::vector<float>>();
    m_chosenRuns.clear(); // a run chosen for the last dataset is not chosen for this one
    m_index.refresh();
    m_clustersDir.clear();
    const std::string runsBefore = m_runsSeen;
    updateCurrent(true); // what belongs to this preparation, before the pages hear of it
    if (m_clustersDir.isEmpty())
        loadClusterLabels(); // none: no labels (updateCurrent read them when there is one)
    QSettings().setValue("prepared", dir);
    Q_EMIT datasetChanged();
    if (m_runsSeen != runsBefore)
        Q_EMIT runsChanged();
    Q_EMIT codesChanged();
    Q_EMIT clustersChanged();
    Q_EMIT newestMapChanged();
    Q_EMIT newestAuditChanged();
}

void Session::closeDataset()
{
    if (!m_dataset)
        return;
    Q_EMIT datasetAboutToChange();
    m_lane->invalidateAll();
    m_dataset.reset();
    m_datasetDir.clear();
    m_fingerprint.clear();
    m_legacyFingerprint.clear();
    QSettings().remove("prepared"); // the next start reopens what is open then: nothing
    m_predictions = std::make_shared<const std::vector<float>>();
    m_predictionSpreads = std::make_shared<const std::vector<float>>();
    m_chosenRuns.clear();
    updateCurrent(true); // nothing is current without a dataset
    m_clusterLabels = std::make_shared<const std::vector<int>>();
    m_clusterSummaries.reset();
    m_clusterNamesNote.clear();
    Q_EMIT datasetChanged();
    Q_EMIT codesChanged();
    Q_EMIT clustersChanged();
    Q_EMIT newestMapChanged();
    Q_EMIT newestAuditChanged();
}

void Session::forgetRemembered()
{
    QSettings settings;
    settings.remove("prepared");
    settings.remove("source");
}

int Session::runImageSize(const QString& runDir)
{
    try {
        const auto run = nlohmann::json::parse(readFile((runDir + "/run.json").toStdString()));
        const auto size = run.value("size", 0);
        return size > 0 && size <= 1024 ? size : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

QString Session::runSourceNote(const QString& runDir) const
{
    if (!m_dataset || runDir.isEmpty())
        return {};
    try {
        const auto run = nlohmann::json::parse(readFile((runDir + "/run.json").toStdString()));
        const std::string source = run.value("source", std::string());
        if (!source.empty() && source != m_dataset->sourceSpec())
            return tr("trained on %1, not on this dataset").arg(QString::fromStdString(source));
    } catch (const std::exception&) {
    }
    return {};
}

QString Session::runMismatch(const QString& runDir) const
{
    if (!m_dataset)
        return tr("No prepared dataset is open.");
    if (runDir.isEmpty())
        return tr("There is no such run yet.");
    const int size = runImageSize(runDir);
    if (size == 0)
        return tr("%1/run.json cannot be read.").arg(runDir);
    if (size != m_dataset->imageSize())
        return tr("The run %1 was trained at %2 px; the open dataset is %3 px. Train a run on it, or open a dataset "
                  "prepared at %2 px.")
            .arg(QFileInfo(runDir).fileName())
            .arg(size)
            .arg(m_dataset->imageSize());
    return {};
}

QString Session::newRunDir(const QString& model) const
{
    return QDir(m_workspace)
        .filePath(QStringLiteral("runs/%1-%2").arg(model, QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss")));
}

QString Session::bestRun(const std::function<bool(const Artifact&)>& wanted) const
{
    // The open preparation's own runs first, then those of its image size, then any; newest first.
    const int size = m_dataset ? m_dataset->imageSize() : 0;
    const Artifact* best = nullptr;
    int bestRank = -1;
    for (const Artifact& a : m_index.artifacts()) { // newest first: the first of each rank wins
        if (a.kind != OutputKind::Run || !a.usable() || !wanted(a))
            continue;
        // A run being trained has no checkpoint until its first epoch ends: not usable yet.
        const QString dir = QString::fromStdString(a.dir.string());
        if (!QFileInfo::exists(dir + "/best.pt") && !QFileInfo::exists(dir + "/last.pt"))
            continue;
        const int rank = isOpenPreparation(a.dataFingerprint) ? 2 : (a.imageSize == size ? 1 : 0);
        if (rank > bestRank) {
            best = &a;
            bestRank = rank;
        }
    }
    return best ? QString::fromStdString(best->dir.string()) : QString();
}

QString Session::latestRun(const QString& model) const
{
    if (const auto chosen = m_chosenRuns.find(model);
        chosen != m_chosenRuns.end() && QFileInfo::exists(chosen->second + "/run.json"))
        return chosen->second;
    const std::string name = model.toStdString();
    return bestRun([&](const Artifact& a) { return a.model == name; });
}

QString Session::latestRunFor(ModelRole role) const
{
    if (const auto chosen = m_chosenRuns.find(roleKey(role)); // the run chosen last, of any kind of the role
        chosen != m_chosenRuns.end() && QFileInfo::exists(chosen->second + "/run.json"))
        return chosen->second;
    // A kind this version does not know has no role.
    return bestRun([role](const Artifact& a) { return modelHasRole(a.model, role); });
}

void Session::setLatestRun(const QString& model, const QString& dir)
{
    m_chosenRuns[model] = dir;
    if (const ModelKindInfo* kind = findModelKind(model.toStdString())) // a kind this version does not know has no role
        m_chosenRuns[roleKey(kind->role)] = dir;
    m_index.refresh();
    updateCurrent(false); // whatever else the scan found is announced too
    Q_EMIT runsChanged();
}

void Session::setCodesDir(const QString& dir)
{
    refreshIndex(); // the new codes are the newest of the open preparation now
    if (!dir.isEmpty() && m_codesDir != dir && m_index.find(dir.toStdString())) {
        m_codesDir = dir; // a clock step back could make a new folder look older
        Q_EMIT codesChanged();
    }
}

void Session::setClustersDir(const QString& dir)
{
    refreshIndex();
    if (!dir.isEmpty() && m_clustersDir != dir) {
        m_clustersDir = dir;
        loadClusterLabels();
        Q_EMIT clustersChanged();
    }
}

void Session::loadClusterLabels()
{
    // assignments.csv lists path,cluster in the order of the encoded dataset; it describes the open
    // dataset only when its paths match the dataset's records one for one. Anything else (another
    // preparation, a damaged file) leaves no labels and says why.
    m_clusterLabels = std::make_shared<const std::vector<int>>();
    m_clusterMismatch.clear();
    m_clusterSummaries.reset();
    m_clusterNamesNote.clear();
    if (!m_dataset || m_clustersDir.isEmpty())
        return;
    const QString other = tr("the clustering in %1 is of another preparation than the open dataset; encode and "
                             "cluster again")
                              .arg(m_clustersDir);
    // The clustering's own record of its preparation decides first (a re-preparation with the same
    // files keeps the paths but is another preparation).
    try {
        const auto metrics =
            nlohmann::json::parse(readFile(QDir(m_clustersDir).filePath("metrics.json").toStdString()));
        if (metrics.contains("data_fingerprint") && metrics.at("data_fingerprint").is_string()
            && !isOpenPreparation(metrics.at("data_fingerprint").get<std::string>())) {
            m_clusterMismatch = other;
            return;
        }
    } catch (const std::exception&) {
        m_clusterMismatch = tr("%1/metrics.json cannot be read").arg(m_clustersDir);
        return;
    }
    try {
        m_clusterLabels = std::make_shared<const std::vector<int>>(
            readAssignments(m_clustersDir.toStdString(), m_dataset->records()));
    } catch (const std::exception& e) {
        m_clusterMismatch = other + " (" + QString::fromStdString(e.what()) + ")";
        return;
    }
    loadClusterNames();
}

void Session::loadClusterNames()
{
    // Read with the labels (a small file); a damaged one shows no names and is never written over:
    // renameCluster() refuses while m_clusterSummaries is null, so what the user named stays in it.
    const std::filesystem::path dir = m_clustersDir.toStdString();
    try {
        const int k = clusteringK(dir);
        if (std::filesystem::exists(dir / kClusterNamesFile)) {
            m_clusterSummaries = std::make_shared<const ClusterSummaries>(readClusterNames(dir, k));
        } else {
            // Made before names were kept: the figures from the labels in memory (no file is read).
            for (const int label : *m_clusterLabels)
                if (label >= k)
                    throw Error(displayPath(dir / "assignments.csv") + ": cluster " + std::to_string(label)
                                + " of a clustering of k = " + std::to_string(k));
            m_clusterSummaries =
                std::make_shared<const ClusterSummaries>(summarizeClusters(m_dataset->records(), *m_clusterLabels, k));
            m_clusterNamesNote = tr("This clustering was made before FaceAtlas kept cluster names: its summaries were "
                                    "computed on opening it (without the audit's flags); naming a cluster saves them.");
        }
    } catch (const std::exception& e) {
        m_clusterSummaries.reset();
        m_clusterNamesNote =
            tr("The cluster names cannot be shown: %1. The file is left as it is; clustering again makes new names.")
                .arg(QString::fromUtf8(e.what()));
    }
}

QString Session::clusterTitle(int cluster) const
{
    if (m_clusterSummaries && cluster >= 0 && static_cast<size_t>(cluster) < m_clusterSummaries->clusters.size())
        return QStringLiteral("%1 · %2").arg(cluster).arg(
            QString::fromStdString(m_clusterSummaries->clusters[static_cast<size_t>(cluster)].shown()));
    return QString::number(cluster);
}

QString Session::renameCluster(int cluster, const QString& name)
{
    if (!m_clusterSummaries)
        return m_clusterNamesNote.isEmpty() ? tr("There is no clustering of the open dataset to name.")
                                            : m_clusterNamesNote;
    if (cluster < 0 || static_cast<size_t>(cluster) >= m_clusterSummaries->clusters.size())
        return tr("There is no cluster %1.").arg(cluster);
    std::string checked;
    try {
        checked = checkClusterName(name.toStdString());
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    if (checked == m_clusterSummaries->clusters[static_cast<size_t>(cluster)].name)
        return {};
    auto next = std::make_shared<ClusterSummaries>(*m_clusterSummaries);
    next->clusters[static_cast<size_t>(cluster)].name = checked;
    m_clusterSummaries = next;
    // The whole file as it is now, in the queue's order: the last rename written is the last made.
    const std::filesystem::path dir = m_clustersDir.toStdString();
    const std::shared_ptr<const ClusterSummaries> snapshot = next;
    m_writer->submit<bool>(
        this,
        [dir, snapshot] {
            writeClusterNames(dir, *snapshot);
            return true;
        },
        [this](bool) { Q_EMIT clusterNameWritten(QString()); },
        [this, dir](const QString& error) {
            Q_EMIT clusterNameWritten(tr("The cluster name could not be saved in %1: %2")
                                          .arg(QString::fromStdString(displayPath(dir / kClusterNamesFile)), error));
        });
    m_clusterNamesNote.clear(); // computed on opening: the write saves the summaries with the name
    Q_EMIT clusterNamesChanged();
    return {};
}

bool Session::setPredictions(const PreparedDataset* forDataset, std::vector<float> predictions,
                             std::vector<float> spreads)
{
    if (!m_dataset || forDataset != m_dataset.get() || predictions.size() != m_dataset->count()
        || (!spreads.empty() && spreads.size() != predictions.size()))
        return false;
    // Both replaced together: a reader never pairs one run's ages with another's spreads.
    m_predictions = std::make_shared<const std::vector<float>>(std::move(predictions));
    m_predictionSpreads = std::make_shared<const std::vector<float>>(std::move(spreads));
    Q_EMIT predictionsChanged();
    return true;
}

std::vector<qint64> Session::clusterMembers(int cluster) const
{
    std::vector<qint64> members;
    const std::vector<int>& labels = *m_clusterLabels;
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] == cluster)
            members.push_back(static_cast<qint64>(i));
    return members;
}

QImage Session::face(qint64 index) const
{
    if (!m_dataset || index < 0 || static_cast<size_t>(index) >= m_dataset->count())
        return {};
    return rgbImage(m_dataset->image(static_cast<size_t>(index)), m_dataset->imageSize(), m_dataset->imageSize());
}

QString Session::predictedAgeOf(size_t row) const
{
    if (row >= m_predictions->size())
        return {};
    const std::vector<float>& spreads = predictionSpreads();
    const bool hasSpread = row < spreads.size();
    return predictedAgeText((*m_predictions)[row], hasSpread ? spreads[row] : NAN, hasSpread);
}

QString predictedAgeText(float age, float sd, bool hasSpread)
{
    const QString mean = QString::number(age, 'f', 1);
    if (!hasSpread)
        return mean;
    if (!std::isfinite(sd))
        return QObject::tr("%1 (no interval: this run was trained before FaceAtlas calibrated its spread)").arg(mean);
    // The central 80% of the calibrated normal, in whole years; no age is below 0.
    const double half = kInterval80 * sd;
    const long low = std::max(0L, std::lround(age - half));
    const long high = std::lround(age + half);
    return QObject::tr("%1 (80% interval %2\u2013%3)").arg(mean).arg(low).arg(high);
}

QImage rgbImage(const unsigned char* rgb, int width, int height)
{
    return QImage(rgb, width, height, width * 3, QImage::Format_RGB888).copy();
}

QImage overlayImage(const QImage& face, int side, const float* map, int mapSize, bool isSigned, double opacity,
                    Colormap colormap)
{
    const QImage scaled =
        face.scaled(side, side, Qt::IgnoreAspectRatio, Qt::SmoothTransformation).convertToFormat(QImage::Format_RGB888);
    const cv::Mat rgb(side, side, CV_8UC3, const_cast<uchar*>(scaled.constBits()),
                      static_cast<size_t>(scaled.bytesPerLine()));
    const cv::Mat out = renderOverlay(rgb, map, mapSize, isSigned, opacity, colormap);
    return QImage(out.data, out.cols, out.rows, static_cast<int>(out.step), QImage::Format_RGB888).copy();
}

} // namespace faceatlas::ui
