#pragma once

#include <QList>
#include <QMap>
#include <QPointF>
#include <QWidget>

class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineSeries;
class QPushButton;
class QScatterSeries;
class QSpinBox;
class QValueAxis;
class QVBoxLayout;

#include <cstddef>
#include <cstdint>
#include <vector>

namespace faceatlas {
struct EpochMetrics;
class PreparedDataset;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;

/** The validation faces the predicted-vs-true chart predicts: all, or `most` spread evenly over them. */
std::vector<std::uint32_t> scatterSample(const std::vector<std::uint32_t>& faces, std::size_t most);

/** Trains a model on the prepared dataset with live loss curves, honest baselines and previews. */
class TrainPage : public QWidget {
    Q_OBJECT
public:
    /** Faces the predicted-vs-true chart shows at most (predicting them is lane work, cancelled by a newer request). */
    static constexpr std::size_t kScatterFaces = 2000;
    explicit TrainPage(Session* session, QWidget* parent = nullptr);
    /** Starts training with the settings on screen (resume: continue the latest run of the model). */
    void start(bool resume = false);
    void setModel(const QString& name);
    void setEpochs(int epochs);
    /** The epoch axis of the loss chart and the epoch curves (tests read what a person would see). */
    QValueAxis* epochAxis() const { return m_lossX; }
    QLineSeries* trainLossSeries() const { return m_trainLoss; }
    QString statusText() const;
    /** Points of the per-batch loss curve on screen. */
    int batchPoints() const;
    int epochPoints() const;

Q_SIGNALS:
    void trainingStarted(const QString& runDir);
    void epochFinished(const QString& runDir);
    void trainingFinished(const QString& runDir, bool ok);
    void faceActivated(qint64 index);

private:
    /** Drops the previous run's scatter and worst faces when a new run (or an autoencoder) starts. */
    void clearRunPictures(bool ageModel, bool resumed);
    /** Where the latest run stopped when it stopped early, and that Resume continues it; empty otherwise. */
    QGroupBox* buildSettings();
    QVBoxLayout* buildCharts();
    void restoreSettings();
    void showData();
    QString startProblem(bool resume, const QString& model) const;
    void trainingEnded(const QString& model, const QString& runDir, bool ok, bool cancelled, const QString& error);
    void drawEarlierEpochs(const QString& runDir, bool resumed, const std::vector<EpochMetrics>& history);
    QString interruptedNote() const;
    /** Resume latest is on only when the chosen model has a run with a checkpoint and no training runs. */
    void updateResume();
    void resetCharts(bool ageModel);
    void addEpoch(const EpochMetrics& m);
    void addBatch(double epochPosition, double loss);
    void showScatter(const QString& runDir);
    void plotScatter(const PreparedDataset& data, const std::vector<std::uint32_t>& faces,
                     const std::vector<float>& predicted, int epoch);
    Session* m_session;
    QComboBox* m_model;
    QSpinBox* m_epochs;
    QSpinBox* m_batch;
    QDoubleSpinBox* m_lr;
    QComboBox* m_device;
    QSpinBox* m_processes; // data-parallel: processes of this machine that train together
    QPushButton* m_start;
    QPushButton* m_stop;
    QPushButton* m_resume;
    QLabel* m_status;
    QLabel* m_data;     // which prepared dataset training uses
    QString m_runModel; // the model of m_runDir
    QLabel* m_worstLabel = nullptr;
    int m_axisEpochs = 1;                         // the epoch axes run from 0 to this
    QMap<QString, QList<QPointF>> m_batchHistory; // per run: the smoothed per-batch loss drawn so far
    QChartView* m_lossView;
    QChartView* m_metricView;
    QChartView* m_scatterView;
    QLabel* m_preview;
    QWidget* m_previewBox; // the preview with its rows' names
    class QListWidget* m_worst;
    QLineSeries* m_trainLoss = nullptr;
    QLineSeries* m_valLoss = nullptr;
    QLineSeries* m_batchLoss = nullptr;
    QLineSeries* m_metric = nullptr;
    QLineSeries* m_baseline = nullptr;
    QValueAxis* m_lossX = nullptr;
    QValueAxis* m_lossY = nullptr;
    QValueAxis* m_metricX = nullptr;
    QValueAxis* m_metricY = nullptr;
    QString m_runDir;
    double m_smoothed = 0;
};

} // namespace faceatlas::ui
