#pragma once

#include <QWidget>

class QChartView;
class QCheckBox;
class QLabel;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace faceatlas::ui {

class Session;

/** Encodes faces with the autoencoder, clusters the codes and shows galleries and decoded centroids. */
class ClustersPage : public QWidget {
    Q_OBJECT
public:
    explicit ClustersPage(Session* session, QWidget* parent = nullptr);
    void encode();
    void cluster();
    void setK(int k);
    int clusterCount() const;
    void selectCluster(int row);

Q_SIGNALS:
    void clustered();

private:
    void loadResults();
    void showCluster(int row);
    Session* m_session;
    QPushButton* m_encode;
    QPushButton* m_run;
    QSpinBox* m_k;
    QCheckBox* m_sweep;
    QSpinBox* m_kMax;
    QLabel* m_summary;
    QListWidget* m_list;
    QLabel* m_gallery;
    QLabel* m_centroid;
    QLabel* m_medoid;
    QLabel* m_interpolation;
    QLabel* m_ageDirection;
    QChartView* m_sweepView;
    QChartView* m_ageView;
};

} // namespace faceatlas::ui
