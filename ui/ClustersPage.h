#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <QWidget>
#include <vector>

class QChartView;
class QCheckBox;
class QDir;
class QLabel;
class QLayout;
class QLineEdit;
class QListWidget;
class QPushButton;
class QPixmap;
class QSpinBox;

namespace faceatlas {
class CentroidPaths;
}

namespace faceatlas::ui {

class Session;

/** Encodes faces with the autoencoder, clusters the codes and shows galleries and decoded centroids. */
class ClustersPage : public QWidget {
    Q_OBJECT
public:
    explicit ClustersPage(Session* session, QWidget* parent = nullptr);
    void encode();
    void cluster();
    /** Clusters only these rows of the codes (the Map page's selection), with the k on the page. */
    void clusterRows(const std::vector<std::int64_t>& rows);
    void setK(int k);
    int clusterCount() const;
    /** Faces shown (clickable) under the selected cluster's gallery. */
    int memberCount() const;
    void selectCluster(int row);
    /** Shows the decoded path between the centres of clusters `from` and `to`. */
    void setInterpolation(int from, int to);
    QPixmap interpolationPixmap() const;
    /** The summary line: k, quality figures, which codes and run, and warnings. */
    QString summaryText() const;
    /** The sweep chart (inertia and silhouette against k), hidden when no range was swept. */
    QChartView* sweepView() const;
    /** Clusters a range of k (kMin..kMax) and keeps the best by silhouette. */
    void sweep(int kMin, int kMax);
    /** Copies assignments.csv to `to` and writes its JSON companion (names, labels, summaries) beside it. */
    void exportAssignments(const QString& to);
    /** Names the selected cluster as typing a name into its name field and pressing Enter does. */
    void nameSelectedCluster(const QString& name);
    /** The list's line of cluster `row` (its number, name or automatic label, size and age). */
    QString clusterText(int row) const;
    /** The selected cluster's summary beside the list. */
    QString clusterSummaryText() const;

Q_SIGNALS:
    void clustered();
    /** The user asked to browse every face of `cluster` in the grid. */
    void showMembers(int cluster);
    /** A face of the selected cluster was clicked. */
    void faceChosen(qint64 face);

private:
    /** The row of buttons and k above the page, its buttons connected. */
    QLayout* buildControls();
    /** The left column: the cluster list, the selected cluster's name and summary, the age and sweep charts. */
    QLayout* buildClusterPanel();
    /** The pictures: decoded centroid, medoid, gallery, members, interpolation and age direction. */
    QLayout* buildPicturesPanel();
    /** Connects the page's own controls to what they do. */
    void connectControls();
    /** Follows the session: cluster names, a new clustering, new runs. */
    void connectSession(Session* session);
    /** Asks where to save assignments.csv, then exports it (exportAssignments). */
    void exportAssignmentsAs();
    /** Asks where to save the selected cluster's contact sheet, then copies it there. */
    void exportContactSheetAs();
    void loadResults();
    void showResults();
    /** Lists the clusters of clusters.json, each with its size and mean age. */
    void showClusterList(const nlohmann::json& clusters);
    /** The summary line: k, the quality figures of metrics.json, provenance and a mismatch. */
    void showMetrics(const nlohmann::json& metrics);
    /** The sweep chart (inertia and silhouette against k), hidden when no range was swept. */
    void showSweep(const nlohmann::json& metrics);
    /** The age histogram of cluster `row`, by decade; none when clusters.json has no ages. */
    void showAgeHistogram(const QDir& dir, int row);
    /** No clustering of the open preparation: nothing of another one stays on screen; says the next step. */
    void clearResults();
    QString provenance(const nlohmann::json& metrics) const;
    void showCluster(int row);
    /** Each cluster's line and the selected one's name and summary, from the session's names. */
    void showNames();
    void showClusterSummary(int row);
    void loadInterpolation(const nlohmann::json& clusters);
    void showInterpolation();
    Session* m_session;
    QPushButton* m_encode;
    QPushButton* m_run;
    QSpinBox* m_k;
    QCheckBox* m_sweep;
    QSpinBox* m_kMax;
    QLabel* m_summary;
    QListWidget* m_list;
    QLineEdit* m_name;        // the selected cluster's name; empty shows its automatic label
    QLabel* m_clusterSummary; // the selected cluster's figures against every clustered face
    QLabel* m_nameStatus;     // a name that could not be saved, or why names cannot be edited
    QLabel* m_gallery;
    QListWidget* m_members;
    QLabel* m_centroid;
    QLabel* m_medoid;
    QLabel* m_interpolation;
    QSpinBox* m_from;
    QSpinBox* m_to;
    std::shared_ptr<CentroidPaths> m_paths; // the open clustering's centres and autoencoder
    QLabel* m_ageDirection;
    QChartView* m_sweepView;
    QChartView* m_ageView;
    std::vector<std::int64_t> m_subsetRows; // the next cluster() clusters only these
};

} // namespace faceatlas::ui
