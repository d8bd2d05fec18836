// The Train page's charts: the loss and metric curves, and an age model's predicted-against-true scatter.
#include "TrainPage.h"

#include "Charts.h"

#include "data/PreparedDataset.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/Distributed.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "RunStatus.h"
#include "Session.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/RankProcess.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QListWidget>
#include <QPen>
#include <QPointer>
#include <QPushButton>
#include <QScatterSeries>
#include <QSettings>
#include <QSpinBox>
#include <QValueAxis>
#include <QVBoxLayout>
#include <thread>

namespace faceatlas::ui {

namespace {

QChart* lineChart(const QString& title, QValueAxis*& x, QValueAxis*& y)
{
    auto* chart = new QChart;
    chart->setTitle(title);
    x = new QValueAxis;
    x->setTitleText(QObject::tr("epoch"));
    y = new QValueAxis;
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    chart->legend()->setAlignment(Qt::AlignBottom);
    return chart;
}

QLineSeries* addLine(QChart* chart, QValueAxis* x, QValueAxis* y, const QString& name, const QColor& color,
                     Qt::PenStyle style = Qt::SolidLine, qreal width = 2)
{
    auto* series = new QLineSeries;
    series->setName(name);
    QPen pen(color);
    pen.setWidthF(width);
    pen.setStyle(style);
    series->setPen(pen);
    chart->addSeries(series);
    series->attachAxis(x);
    series->attachAxis(y);
    if (width >= 2) // the per-epoch curves: a point per epoch, visible from the first
        showPoints(series);
    return series;
}

void growAxis(QValueAxis* axis, double value, bool fromZero = true)
{
    if (!std::isfinite(value))
        return;
    const double low = fromZero ? 0.0 : std::min(axis->min(), value * 0.95);
    if (value * 1.1 <= axis->max() && low >= axis->min())
        return;
    axis->setRange(low, std::max(axis->max(), value * 1.1));
    axis->applyNiceNumbers(); // ticks on round values
}

} // namespace

void TrainPage::resetCharts(bool ageModel)
{
    QChart* loss = lineChart(tr("Loss"), m_lossX, m_lossY);
    m_batchLoss =
        addLine(loss, m_lossX, m_lossY, tr("training, per batch (smoothed)"), QColor(160, 190, 230), Qt::SolidLine, 1);
    m_trainLoss = addLine(loss, m_lossX, m_lossY, tr("training"), QColor(30, 90, 200));
    m_valLoss = addLine(loss, m_lossX, m_lossY, tr("validation"), QColor(220, 90, 30));
    m_axisEpochs = std::max(1, m_epochs->value());
    setIntegerAxis(m_lossX, 0, m_axisEpochs);
    m_lossY->setRange(0, 0.01);
    replaceChart(m_lossView, loss);
    QChart* metric =
        lineChart(ageModel ? tr("Validation MAE (years)") : tr("Validation PSNR (dB)"), m_metricX, m_metricY);
    m_metric = addLine(metric, m_metricX, m_metricY, ageModel ? tr("model") : tr("PSNR"), QColor(40, 150, 60));
    m_baseline = ageModel ? addLine(metric, m_metricX, m_metricY, tr("baseline: always the training median"),
                                    QColor(120, 120, 120), Qt::DashLine)
                          : nullptr;
    setIntegerAxis(m_metricX, 0, m_axisEpochs);
    m_metricY->setRange(0, 1);
    replaceChart(m_metricView, metric);
    m_smoothed = 0;
    // The age model's panels mean nothing for the autoencoder (its previews show instead).
    for (QWidget* w :
         {static_cast<QWidget*>(m_scatterView), static_cast<QWidget*>(m_worst), static_cast<QWidget*>(m_worstLabel)})
        w->setVisible(ageModel);
    m_previewBox->setVisible(!ageModel);
    m_preview->setToolTip(ageModel ? QString()
                                   : tr("Fixed validation faces (top row) above the autoencoder's reconstructions "
                                        "(bottom row), at the last epoch"));
}

void TrainPage::addEpoch(const EpochMetrics& m)
{
    Q_EMIT epochFinished(m_runDir);
    // The first finished epoch of a new run gives it a checkpoint: from now on it is the latest run.
    if (!m_runModel.isEmpty() && m_session->latestRun(m_runModel) != m_runDir
        && QFileInfo::exists(m_runDir + "/last.pt"))
        m_session->setLatestRun(m_runModel, m_runDir);
    // A figure that does not exist (no validation faces: NaN) is left out of its curve, not drawn as 0.
    const auto add = [&](QLineSeries* series, double value) {
        if (std::isfinite(value))
            series->append(m.epoch, value);
    };
    add(m_trainLoss, m.trainLoss);
    add(m_valLoss, m.valLoss);
    growAxis(m_lossY, std::max(m.trainLoss, m.valLoss));
    m_axisEpochs = std::max(m_axisEpochs, m.epoch);
    setIntegerAxis(m_lossX, 0, m_axisEpochs);
    setIntegerAxis(m_metricX, 0, m_axisEpochs);
    if (m_baseline) {
        add(m_metric, m.valMae);
        add(m_baseline, m.baselineMae);
        growAxis(m_metricY, std::max(m.valMae, m.baselineMae));
        if (std::isfinite(m.valMae))
            m_status->setText(tr("Epoch %1: validation MAE %2 years (baseline %3)")
                                  .arg(m.epoch)
                                  .arg(m.valMae, 0, 'f', 2)
                                  .arg(m.baselineMae, 0, 'f', 2));
        else
            m_status->setText(tr("Epoch %1: no validation MAE: the validation split has no faces with an age. "
                                 "Prepare with a larger validation share to measure the model.")
                                  .arg(m.epoch));
    } else {
        add(m_metric, m.valPsnr);
        growAxis(m_metricY, m.valPsnr);
        if (std::isfinite(m.valPsnr))
            m_status->setText(tr("Epoch %1: validation PSNR %2 dB").arg(m.epoch).arg(m.valPsnr, 0, 'f', 2));
        else
            m_status->setText(tr("Epoch %1: no validation PSNR: the validation split has no faces.").arg(m.epoch));
        const QString preview =
            QDir(m_runDir).filePath(QStringLiteral("previews/epoch-%1.png").arg(m.epoch, 3, 10, QChar('0')));
        QPixmap pixmap(preview);
        if (!pixmap.isNull())
            m_preview->setPixmap(pixmap.scaledToHeight(140, Qt::SmoothTransformation));
    }
}

void TrainPage::addBatch(double epochPosition, double loss)
{
    m_smoothed = m_batchLoss->count() == 0 ? loss : 0.8 * m_smoothed + 0.2 * loss;
    m_batchLoss->append(epochPosition, m_smoothed);
    m_batchHistory[m_runDir].append(QPointF(epochPosition, m_smoothed)); // kept for a resume of this run
    growAxis(m_lossY, m_smoothed);
}

/** A resumed run's epochs and, as this window drew it, its per-batch curve up to the stop. */
void TrainPage::drawEarlierEpochs(const QString& runDir, bool resumed, const std::vector<EpochMetrics>& history)
{
    for (const auto& m : history)
        addEpoch(m);
    if (resumed) { // the per-batch curve of the epochs before the stop, as this window drew it
        const QList<QPointF> before = m_batchHistory.value(runDir);
        const double resumeAt = history.empty() ? 0.0 : history.back().epoch;
        for (const QPointF& point : before)
            if (point.x() <= resumeAt) {
                m_batchLoss->append(point);
                m_smoothed = point.y();
                growAxis(m_lossY, point.y());
            }
        QList<QPointF> kept;
        for (const QPointF& point : before)
            if (point.x() <= resumeAt)
                kept.append(point);
        m_batchHistory[runDir] = kept;
    } else {
        m_batchHistory.remove(runDir);
    }
}

void TrainPage::showScatter(const QString& runDir)
{
    const auto data = m_session->sharedDataset();
    if (!data)
        return;
    // Predicting takes seconds: on the interactive lane, charted when done. At most kScatterFaces
    // validation faces (at the capstone's scale the whole set took minutes), and the prediction stops
    // between batches when a newer request, a dataset switch or the window's close cancels it.
    struct Scatter {
        std::vector<std::uint32_t> faces;
        std::vector<float> predicted;
        int epoch = 0;
    };
    InteractiveLane* lane = m_session->lane();
    lane->submit<Scatter>(
        QStringLiteral("train-scatter"), this,
        [lane, runDir, data](const CancelToken& cancel) {
            const auto loaded = lane->model(runDir);
            Scatter scatter;
            scatter.faces = scatterSample(data->valIndices(), kScatterFaces);
            scatter.predicted = predictAges(*loaded->model, *data, scatter.faces, resolveDevice("cpu"), cancel);
            try {
                scatter.epoch = nlohmann::json::parse(loaded->metaJson).value("epoch", 0);
            } catch (const std::exception&) {
            }
            return scatter;
        },
        [this, data](Scatter scatter) {
            if (data.get() != m_session->dataset())
                return; // another dataset was opened meanwhile
            plotScatter(*data, scatter.faces, scatter.predicted, scatter.epoch);
        },
        [this](const QString& error) { m_status->setText(tr("Could not evaluate the run: %1").arg(error)); });
}

std::vector<std::uint32_t> scatterSample(const std::vector<std::uint32_t>& faces, std::size_t most)
{
    if (faces.size() <= most)
        return faces;
    std::vector<std::uint32_t> sample(most);
    for (std::size_t k = 0; k < most; ++k) // evenly spread: the same faces every time
        sample[k] = faces[k * faces.size() / most];
    return sample;
}

void TrainPage::plotScatter(const PreparedDataset& data, const std::vector<std::uint32_t>& val,
                            const std::vector<float>& predicted, int epoch)
{
    auto* series = new QScatterSeries;
    series->setName(tr("validation faces"));
    series->setMarkerSize(5);
    double top = 10;
    for (size_t k = 0; k < val.size() && k < predicted.size(); ++k)
        if (const auto& age = data.records()[val[k]].age) {
            series->append(*age, predicted[k]);
            top = std::max({top, static_cast<double>(*age), static_cast<double>(predicted[k])});
        }
    std::vector<std::pair<double, size_t>> errors;
    for (size_t k = 0; k < val.size() && k < predicted.size(); ++k)
        if (const auto& age = data.records()[val[k]].age)
            errors.emplace_back(std::abs(predicted[k] - *age), k);
    std::sort(errors.rbegin(), errors.rend());
    m_worst->clear();
    for (size_t w = 0; w < errors.size() && w < 12; ++w) {
        const size_t k = errors[w].second;
        auto* item = new QListWidgetItem(
            QIcon(QPixmap::fromImage(m_session->face(val[k]))),
            QStringLiteral("%1 / %2").arg(*data.records()[val[k]].age).arg(predicted[k], 0, 'f', 0));
        item->setData(Qt::UserRole, static_cast<qint64>(val[k]));
        m_worst->addItem(item);
    }
    auto* diagonal = new QLineSeries;
    diagonal->setName(tr("perfect"));
    diagonal->append(0, 0);
    diagonal->append(top, top);
    auto* chart = new QChart;
    const size_t allVal = data.valIndices().size();
    chart->setTitle(val.size() < allVal ? tr("Predicted vs true age, %1 of the %2 validation faces (checkpoint of "
                                             "epoch %3)")
                                              .arg(val.size())
                                              .arg(allVal)
                                              .arg(epoch)
                                        : tr("Predicted vs true age (checkpoint of epoch %1)").arg(epoch));
    chart->addSeries(series);
    chart->addSeries(diagonal);
    auto* x = new QValueAxis;
    x->setTitleText(tr("true age"));
    x->setRange(0, top);
    x->applyNiceNumbers();
    auto* y = new QValueAxis;
    y->setTitleText(tr("predicted"));
    y->setRange(0, top);
    y->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (auto* s : {static_cast<QAbstractSeries*>(series), static_cast<QAbstractSeries*>(diagonal)}) {
        s->attachAxis(x);
        s->attachAxis(y);
    }
    chart->legend()->setAlignment(Qt::AlignBottom);
    replaceChart(m_scatterView, chart);
}

} // namespace faceatlas::ui
