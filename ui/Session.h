#pragma once

#include "data/Overlay.h"

#include <memory>
#include <QImage>
#include <QObject>
#include <QString>
#include <vector>

namespace faceatlas {
class PreparedDataset;
}

namespace faceatlas::ui {

class JobRunner;

/**
 * What the pages share: the workspace folder, the dataset that is open (its SPEC and prepared
 * folder), the latest runs, codes and clustering, and the one job runner.
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

    const PreparedDataset* dataset() const { return m_dataset.get(); }
    QString datasetDir() const { return m_datasetDir; }
    /** Opens a prepared folder (after a prepare job); emits datasetChanged. */
    void openPrepared(const QString& dir);

    QString newRunDir(const QString& model) const;
    QString latestRun(const QString& model) const;
    void setLatestRun(const QString& model, const QString& dir);
    QString codesDir() const { return m_codesDir; }
    void setCodesDir(const QString& dir);
    QString clustersDir() const { return m_clustersDir; }
    void setClustersDir(const QString& dir);

    /** RGB image i of the open dataset, or a null image. */
    QImage face(qint64 index) const;
    /** Rows of the open dataset in a cluster of the current clustering. */
    std::vector<qint64> clusterMembers(int cluster) const;

    /** Predicted age per face of the open dataset (empty until predicted), from the latest age run. */
    const std::vector<float>& predictions() const { return m_predictions; }
    void setPredictions(std::vector<float> predictions);
    /** Cluster of every face of the open dataset (empty when the clustering is of other faces). */
    const std::vector<int>& clusterLabels() const { return m_clusterLabels; }

Q_SIGNALS:
    void sourceChanged(const QString& spec);
    void datasetChanged();
    void runsChanged();
    void codesChanged();
    void clustersChanged();
    void predictionsChanged();

private:
    QString m_workspace;
    QString m_source;
    QString m_datasetDir;
    QString m_codesDir;
    QString m_clustersDir;
    std::unique_ptr<PreparedDataset> m_dataset;
    std::vector<float> m_predictions;
    std::vector<int> m_clusterLabels;
    void loadClusterLabels();
    JobRunner* m_jobs;
};

/** A deep copy of S x S RGB bytes as a QImage. */
QImage rgbImage(const unsigned char* rgb, int width, int height);

/** An attention map ([mapSize x mapSize] floats, see renderOverlay) over `face` scaled to side x side. */
QImage overlayImage(const QImage& face, int side, const float* map, int mapSize, bool isSigned, double opacity,
                    Colormap colormap = Colormap::Jet);

} // namespace faceatlas::ui
