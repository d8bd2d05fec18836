#pragma once

#include "data/Overlay.h"
#include "data/WorkspaceIndex.h"
#include "ml/ModelKinds.h"

#include <functional>
#include <map>
#include <memory>
#include <QImage>
#include <QObject>
#include <QString>
#include <QTimer>
#include <vector>

class QFileSystemWatcher;

namespace faceatlas {
class PreparedDataset;
struct ClusterSummaries;
} // namespace faceatlas

namespace faceatlas::ui {

class InteractiveLane;
class JobRunner;
class WriteQueue;

/**
 * What the pages share: the workspace folder and its index, the dataset that is open (its SPEC and
 * prepared folder), the runs, codes and clustering that belong to it, the job runner, the interactive
 * lane (reads) and the write queue (what the user made: decisions, excludes, subsets, exports).
 *
 * What is current is never a setting: the codes, clustering, map and audit shown are the newest of
 * the open preparation in the workspace index (found by the fingerprint their manifests record), so
 * another dataset's work is never drawn as this one's, and a fresh settings profile finds
 * everything. The index is scanned again when a job ends and when the workspace's folders change
 * (a CLI job writing into the same workspace).
 *
 * Ownership: the open PreparedDataset (and the predictions and cluster labels that describe it)
 * are held by shared_ptr. Views, models and worker tasks that read them keep their own reference,
 * so a dataset stays mapped while anything still reads it. Switching datasets goes in one order:
 * the new one is opened (a failure leaves everything as it was), datasetAboutToChange is emitted
 * (views drop what they derived from the old one, the lane forgets its requests), the session swaps
 * in the new one, then datasetChanged is emitted. A prepared folder is never modified once its
 * manifest exists (PrepareJob writes a new one beside it and swaps the names), so a mapped dataset
 * never changes under a reader.
 */
class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr);
    ~Session() override;

    QString workspace() const { return m_workspace; }
    void setWorkspace(const QString& dir);
    JobRunner* jobs() const { return m_jobs; }

    QString source() const { return m_source; }
    /** Chooses a dataset SPEC (it is prepared by the Dataset page); remembered in the recent list. */
    void setSource(const QString& spec);
    /** The prepared folder for the current source and image size. */
    QString preparedDirFor(const QString& spec, int size) const;

    /** The open dataset, valid on the GUI thread until the next datasetAboutToChange; null when none. */
    const PreparedDataset* dataset() const { return m_dataset.get(); }
    /** The open dataset for a reader that may outlive the next switch (a worker, a model). */
    std::shared_ptr<const PreparedDataset> sharedDataset() const { return m_dataset; }
    QString datasetDir() const { return m_datasetDir; }
    /** The fingerprint of the open preparation (codes and clusterings record theirs). */
    QString datasetFingerprint() const { return m_fingerprint; }
    /**
     * Whether an artifact's recorded fingerprint names the open preparation: its fingerprint, or the
     * one an earlier FaceAtlas recorded for it (the hash of its whole prepared.json).
     */
    bool isOpenPreparation(const std::string& fingerprint) const;
    /** The open preparation's fingerprints (both definitions); empty when none is open. */
    std::vector<std::string> openFingerprints() const;
    /**
     * Opens a prepared folder (after a prepare job) in the order the class comment gives.
     * Throws Error naming the file and the problem; nothing changes then.
     */
    void openPrepared(const QString& dir);
    /** Closes the open dataset (it stays mapped while readers hold it). */
    void closeDataset();
    /** Forgets the settings' remembered preparation (a start that could not use it). */
    void forgetRemembered();
    InteractiveLane* lane() const { return m_lane; }
    /** Where what the user made is written: in order, never dropped, drained when the window closes. */
    WriteQueue* writer() const { return m_writer; }

    QString newRunDir(const QString& model) const;
    /** The image size a run was trained at (its run.json), 0 when it cannot be read. */
    static int runImageSize(const QString& runDir);
    /** Why `runDir` cannot be applied to the open dataset (another image size, no dataset); empty when it can. */
    QString runMismatch(const QString& runDir) const;
    /** "trained on SOURCE, not on this dataset" when the run was trained on another source; else empty. */
    QString runSourceNote(const QString& runDir) const;
    /**
     * The run of `model` to use: the one chosen (setLatestRun) since the open dataset was opened, else
     * from the index the newest trained on the open preparation, else the newest at its image size
     * (runSourceNote() says it was trained on another dataset), else the newest; empty when none.
     */
    QString latestRun(const QString& model) const;
    /** latestRun() of any kind of the role ("the latest age model" is a role, not a kind). */
    QString latestRunFor(ModelRole role) const;
    QString latestAgeRun() const { return latestRunFor(ModelRole::AgeModel); }
    /** Chooses the run of `model` to use until another dataset is opened (the Runs page, a training that ended). */
    void setLatestRun(const QString& model, const QString& dir);
    /** The newest codes of the open preparation; empty when it has none. */
    QString codesDir() const { return m_codesDir; }
    /** After an encoding wrote `dir`: scans the workspace again (the codes become current). */
    void setCodesDir(const QString& dir);
    /** The newest clustering of the open preparation; empty when it has none. */
    QString clustersDir() const { return m_clustersDir; }
    /** After a clustering wrote `dir`: scans the workspace again (it becomes current). */
    void setClustersDir(const QString& dir);
    /** The newest map (Map) or audit (Audit) of the open preparation; empty when it has none. */
    QString newest(OutputKind kind) const;
    /**
     * When the open preparation has no usable artifact of `kind`: " The workspace holds N of other
     * datasets (not of this one)." (empty when it holds none, or the open one has its own).
     */
    QString otherDatasetsNote(OutputKind kind) const;
    /** What the workspace holds (refreshed by refreshIndex()). */
    const WorkspaceIndex& index() const { return m_index; }
    /** Scans the workspace again (cheap when nothing changed) and updates what is current. */
    void refreshIndex();

    /** RGB image i of the open dataset, or a null image. */
    QImage face(qint64 index) const;
    /** Rows of the open dataset in a cluster of the current clustering. */
    std::vector<qint64> clusterMembers(int cluster) const;

    /** Predicted age per face of the open dataset (empty until predicted), from the latest age run. */
    const std::vector<float>& predictions() const { return *m_predictions; }
    std::shared_ptr<const std::vector<float>> sharedPredictions() const { return m_predictions; }
    /**
     * The calibrated standard deviation in years of each prediction (AgeDistributions::sd): set and
     * dropped with the predictions, one per face; NaN for a run trained before FaceAtlas calibrated
     * its spread; empty when the predictions came without spreads.
     */
    /** predictedAgeText() of face `row`'s prediction and spread; empty when it has no prediction. */
    QString predictedAgeOf(size_t row) const;
    const std::vector<float>& predictionSpreads() const { return *m_predictionSpreads; }
    std::shared_ptr<const std::vector<float>> sharedPredictionSpreads() const { return m_predictionSpreads; }
    /**
     * Sets predictions (and their spreads, empty or one per face) for `forDataset`; ignored (false)
     * when another dataset is open now or a count differs.
     */
    bool setPredictions(const PreparedDataset* forDataset, std::vector<float> predictions,
                        std::vector<float> spreads = {});
    /** Cluster of every face of the open dataset (empty when the clustering is of other faces). */
    const std::vector<int>& clusterLabels() const { return *m_clusterLabels; }
    std::shared_ptr<const std::vector<int>> sharedClusterLabels() const { return m_clusterLabels; }
    /** Why the current clustering does not describe the open dataset (empty when it does or there is none). */
    QString clusterMismatch() const { return m_clusterMismatch; }
    /**
     * The current clustering's summaries, automatic labels and names (cluster_names.json; for a
     * clustering made before names were kept, computed from the labels on opening it); null when
     * there are no labels of the open dataset or the names file cannot be read (clusterNamesNote()).
     */
    std::shared_ptr<const ClusterSummaries> clusterSummaries() const { return m_clusterSummaries; }
    /** Why the names cannot be shown or saved, or that they were computed on opening; empty otherwise. */
    QString clusterNamesNote() const { return m_clusterNamesNote; }
    /** "3 · older · mostly female": the cluster's number and its name or automatic label; "3" without. */
    QString clusterTitle(int cluster) const;
    /**
     * Names `cluster` ("" gives it back its automatic label): shown at once (clusterNamesChanged), then
     * written through the write queue, in order, never dropped (clusterNameWritten). Returns why it
     * cannot (a bad name, no names to edit: a damaged file stays as it is), else empty.
     */
    QString renameCluster(int cluster, const QString& name);

Q_SIGNALS:
    void sourceChanged(const QString& spec);
    /** The open dataset is about to be replaced or closed: drop everything derived from it. */
    void datasetAboutToChange();
    void datasetChanged();
    void runsChanged();
    void codesChanged();
    void clustersChanged();
    /** A cluster was named: its name is in clusterSummaries() (the file is written afterwards). */
    void clusterNamesChanged();
    /** A name's write finished: `error` is empty when it was saved. */
    void clusterNameWritten(const QString& error);
    void predictionsChanged();
    /** The newest map of the open preparation changed (a job, another process, a switch). */
    void newestMapChanged();
    /** The newest audit of the open preparation changed. */
    void newestAuditChanged();

private:
    QString m_workspace;
    QString m_source;
    QString m_datasetDir;
    QString m_codesDir;
    QString m_clustersDir;
    QString m_newestMap;
    QString m_newestAudit;
    std::map<QString, QString> m_chosenRuns; // model -> run, until the dataset changes
    WorkspaceIndex m_index;
    QFileSystemWatcher* m_watcher = nullptr;
    QTimer m_rescan;        // coalesces the watcher's bursts
    std::string m_runsSeen; // the runs the last scan found (dir and status), to tell runsChanged
    void watchWorkspace();
    /** Sets what is current from the index; emits the changes unless `quiet` (a switch emits datasetChanged). */
    void updateCurrent(bool quiet);
    QString bestRun(const std::function<bool(const Artifact&)>& wanted) const;
    QString m_fingerprint;
    std::string m_legacyFingerprint;
    QString m_clusterMismatch;
    std::shared_ptr<const PreparedDataset> m_dataset;
    std::shared_ptr<const std::vector<float>> m_predictions;
    std::shared_ptr<const std::vector<float>> m_predictionSpreads; // empty, or one per prediction
    std::shared_ptr<const std::vector<int>> m_clusterLabels;
    std::shared_ptr<const ClusterSummaries> m_clusterSummaries; // null: none (m_clusterNamesNote says why)
    QString m_clusterNamesNote;
    void loadClusterLabels();
    void loadClusterNames();
    JobRunner* m_jobs;
    InteractiveLane* m_lane;
    WriteQueue* m_writer;
};

/**
 * A predicted age as the window writes it: "34.2 (80% interval 25–43)" from the calibrated spread
 * `sd` in years; a short note instead of the interval when `sd` is NaN (a run trained before
 * calibration); the age alone when `hasSpread` is false (predictions that came without spreads).
 */
QString predictedAgeText(float age, float sd, bool hasSpread = true);

/** A deep copy of S x S RGB bytes as a QImage. */
QImage rgbImage(const unsigned char* rgb, int width, int height);

/** An attention map ([mapSize x mapSize] floats, see renderOverlay) over `face` scaled to side x side. */
QImage overlayImage(const QImage& face, int side, const float* map, int mapSize, bool isSigned, double opacity,
                    Colormap colormap = Colormap::Jet);

} // namespace faceatlas::ui
