#include "TrainPage.h"
#include "TrainingJob.h"

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

TrainPage::TrainPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_model = new QComboBox;
    for (const ModelKindInfo& kind : modelKinds()) { // the registry's rows, its default age model first
        m_model->addItem(QStringLiteral("%1 — %2").arg(QString::fromUtf8(kind.name), QString::fromUtf8(kind.title)),
                         QString::fromUtf8(kind.name));
        m_model->setItemData(m_model->count() - 1, QString::fromUtf8(kind.description), Qt::ToolTipRole);
    }
    m_epochs = new QSpinBox;
    m_epochs->setRange(1, 500);
    m_epochs->setValue(10);
    m_batch = new QSpinBox;
    m_batch->setRange(0, 1024);
    m_batch->setSpecialValueText(tr("model default"));
    m_lr = new QDoubleSpinBox;
    m_lr->setDecimals(5);
    m_lr->setRange(0, 1);
    m_lr->setSingleStep(0.0001);
    m_lr->setSpecialValueText(tr("model default"));
    m_device = new QComboBox;
    m_device->addItems({"auto", "cpu", "cuda"});
    m_processes = new QSpinBox;
    m_processes->setObjectName(QStringLiteral("processes"));
    m_processes->setRange(1, std::max(2, static_cast<int>(std::thread::hardware_concurrency())));
    m_processes->setToolTip(tr("Processes of this machine that train together, each on its share of every batch "
                               "and of the cores (data-parallel, PyTorch's c10d). The result is one process's; "
                               "1 trains here alone. faceatlas-cli train --nproc does the same."));
    m_start = new QPushButton(tr("Start"));
    m_stop = new QPushButton(tr("Stop"));
    m_stop->setEnabled(false);
    m_resume = new QPushButton(tr("Resume latest"));
    m_resume->setObjectName(QStringLiteral("resumeLatest"));
    auto* form = new QFormLayout;
    form->addRow(tr("Model"), m_model);
    form->addRow(tr("Epochs"), m_epochs);
    form->addRow(tr("Batch"), m_batch);
    form->addRow(tr("Learning rate"), m_lr);
    form->addRow(tr("Device"), m_device);
    form->addRow(tr("Processes"), m_processes);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_resume);
    form->addRow(buttons);
    m_data = new QLabel;
    m_data->setWordWrap(true);
    form->addRow(m_data);
    auto* box = new QGroupBox(tr("Training"));
    box->setLayout(form);
    m_status = new QLabel(tr("Prepare a dataset on the Dataset page, then start."));
    m_status->setWordWrap(true);
    m_preview = new QLabel;
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setMinimumHeight(140);
    m_scatterView = new QChartView;
    m_scatterView->setRenderHint(QPainter::Antialiasing);
    m_scatterView->setMinimumHeight(260);
    m_worst = new QListWidget;
    m_worst->setViewMode(QListView::IconMode);
    m_worst->setIconSize(QSize(56, 56));
    m_worst->setFixedHeight(170);
    m_worst->setToolTip(tr("The validation faces the model got most wrong; click one to inspect it"));
    auto* left = new QVBoxLayout;
    left->addWidget(box);
    left->addWidget(m_status);
    left->addWidget(m_scatterView, 1);
    m_worstLabel = new QLabel(tr("Worst-predicted validation faces (true / predicted):"));
    left->addWidget(m_worstLabel);
    left->addWidget(m_worst);

    m_lossView = new QChartView;
    m_lossView->setRenderHint(QPainter::Antialiasing);
    m_metricView = new QChartView;
    m_metricView->setRenderHint(QPainter::Antialiasing);
    auto* right = new QVBoxLayout;
    right->addWidget(m_lossView, 1);
    right->addWidget(m_metricView, 1);
    // The autoencoder's previews, each row labelled: what it was shown, and what it made of it.
    m_previewBox = new QWidget;
    auto* rowNames = new QVBoxLayout;
    rowNames->setContentsMargins(0, 0, 0, 0);
    auto* originals = new QLabel(tr("<b>Originals</b><br>(validation faces)"));
    originals->setObjectName("previewOriginals");
    auto* reconstructions = new QLabel(tr("<b>Reconstructions</b><br>(the autoencoder's output)"));
    reconstructions->setObjectName("previewReconstructions");
    rowNames->addWidget(originals, 1);
    rowNames->addWidget(reconstructions, 1);
    auto* previewRow = new QHBoxLayout(m_previewBox);
    previewRow->setContentsMargins(0, 0, 0, 0);
    previewRow->addLayout(rowNames);
    previewRow->addWidget(m_preview, 1);
    m_previewBox->setFixedHeight(140);
    right->addWidget(m_previewBox);
    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left, 0);
    layout->addLayout(right, 1);
    resetCharts(true);

    // The settings persist between sessions.
    QSettings settings;
    settings.beginGroup("training");
    m_model->setCurrentIndex(std::max(0, m_model->findData(settings.value("model", "age"))));
    m_epochs->setValue(settings.value("epochs", m_epochs->value()).toInt());
    m_batch->setValue(settings.value("batch", 0).toInt());
    m_lr->setValue(settings.value("learningRate", 0.0).toDouble());
    m_device->setCurrentText(settings.value("device", "auto").toString());
    settings.endGroup();
    const auto save = [this] {
        QSettings s;
        s.beginGroup("training");
        s.setValue("model", m_model->currentData());
        s.setValue("epochs", m_epochs->value());
        s.setValue("batch", m_batch->value());
        s.setValue("learningRate", m_lr->value());
        s.setValue("device", m_device->currentText());
    };
    connect(m_model, &QComboBox::currentIndexChanged, this, save);
    // Idle, the charts are for the model chosen: no MAE title over an autoencoder.
    connect(m_model, &QComboBox::currentIndexChanged, this, [this] {
        if (m_session->jobs()->isRunning() && m_stop->isEnabled())
            return;
        resetCharts(modelHasRole(m_model->currentData().toString().toStdString(), ModelRole::AgeModel));
    });
    connect(m_model, &QComboBox::currentIndexChanged, this, &TrainPage::updateResume);
    connect(m_session, &Session::runsChanged, this, &TrainPage::updateResume);
    connect(m_session, &Session::datasetChanged, this, &TrainPage::updateResume);
    const auto showData = [this] {
        const auto* data = m_session->dataset();
        m_data->setText(data ? tr("Trains on %1: %2 faces at %3 px (%4 for training, %5 for validation)")
                                   .arg(QString::fromStdString(data->sourceSpec()).toHtmlEscaped())
                                   .arg(data->count())
                                   .arg(data->imageSize())
                                   .arg(data->trainIndices().size())
                                   .arg(data->valIndices().size())
                             : tr("No prepared dataset: prepare one on the Dataset page."));
        m_data->setToolTip(m_session->datasetDir());
        if (!m_session->jobs()->isRunning() && data) {
            const QString interrupted = interruptedNote();
            m_status->setText(interrupted.isEmpty() ? tr("Choose a model and the number of epochs, then Start.")
                                                    : interrupted);
        }
    };
    connect(m_session, &Session::datasetChanged, this, showData);
    // The scatter and the worst faces are of the open dataset's faces: not kept under another one.
    connect(m_session, &Session::datasetAboutToChange, this, [this] {
        replaceChart(m_scatterView, new QChart);
        m_worst->clear();
    });
    showData();
    updateResume();
    connect(m_device, &QComboBox::currentIndexChanged, this, save);
    connect(m_epochs, &QSpinBox::valueChanged, this, save);
    connect(m_batch, &QSpinBox::valueChanged, this, save);
    connect(m_lr, &QDoubleSpinBox::valueChanged, this, save);
    connect(m_start, &QPushButton::clicked, this, [this] { start(false); });
    connect(m_resume, &QPushButton::clicked, this, [this] { start(true); });
    connect(m_stop, &QPushButton::clicked, m_session->jobs(), &JobRunner::cancel);
    connect(m_worst, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceActivated(item->data(Qt::UserRole).toLongLong()); });
}

QString TrainPage::interruptedNote() const
{
    // The chosen model's latest run first, then the others': a run stopped before its planned epochs.
    QStringList models{m_model->currentData().toString()};
    for (int i = 0; i < m_model->count(); ++i)
        if (!models.contains(m_model->itemData(i).toString()))
            models << m_model->itemData(i).toString();
    for (const QString& model : models) {
        const QString run = m_session->latestRun(model);
        if (run.isEmpty())
            continue;
        try {
            if (const auto summary = readRunSummary(run.toStdString()))
                if (const QString note = interruptedRunNote(*summary, run == m_runDir && m_stop->isEnabled());
                    !note.isEmpty())
                    return note;
        } catch (const std::exception&) {
            // a run that cannot be read says nothing here (the Runs page lists it as damaged)
        }
    }
    return {};
}

void TrainPage::updateResume()
{
    const QString model = m_model->currentData().toString();
    const bool training = m_stop->isEnabled();
    const bool resumable = !m_session->latestRun(model).isEmpty();
    m_resume->setEnabled(!training && resumable);
    m_resume->setToolTip(resumable
                             ? tr("Continues the latest %1 run from its last checkpoint (Ctrl+R).").arg(model)
                             : tr("There is no %1 run with a checkpoint to resume yet: Start begins one.").arg(model));
}

void TrainPage::setModel(const QString& name)
{
    m_model->setCurrentIndex(m_model->findData(name));
}

void TrainPage::setEpochs(int epochs)
{
    m_epochs->setValue(epochs);
}

int TrainPage::batchPoints() const
{
    return m_batchLoss ? static_cast<int>(m_batchLoss->count()) : 0;
}

QString TrainPage::statusText() const
{
    return m_status->text();
}

int TrainPage::epochPoints() const
{
    return m_trainLoss ? static_cast<int>(m_trainLoss->count()) : 0;
}

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

void TrainPage::start(bool resume)
{
    if (!m_session->dataset()) {
        m_status->setText(tr("No prepared dataset yet: prepare one on the Dataset page first."));
        return;
    }
    // A refused start changes nothing: the charts of the running (or last) training stay.
    if (m_session->jobs()->isRunning()) {
        m_status->setText(tr("Cannot start training now. %1").arg(m_session->jobs()->busyReason()));
        return;
    }
    const QString model = m_model->currentData().toString();
    if (resume
        && (m_session->latestRun(model).isEmpty() || !QFileInfo::exists(m_session->latestRun(model) + "/last.pt"))) {
        m_status->setText(
            tr("There is no earlier %1 run with a checkpoint to resume; Start begins a new one.").arg(model));
        return;
    }
    if (m_session->dataset()->trainIndices().empty()) {
        m_status->setText(tr("The open dataset has no training faces: prepare it with more faces or a smaller "
                             "validation share."));
        return;
    }
    if (resume) { // a run continues only on data of its own image size
        if (const QString why = m_session->runMismatch(m_session->latestRun(model)); !why.isEmpty()) {
            m_status->setText(tr("Cannot resume: %1").arg(why));
            return;
        }
    }
    TrainParams p;
    p.model = parseModelKind(model.toStdString());
    p.data = m_session->datasetDir().toStdString();
    const QString runDir =
        resume && !m_session->latestRun(model).isEmpty() ? m_session->latestRun(model) : m_session->newRunDir(model);
    p.runDir = runDir.toStdString();
    p.workspace = m_session->workspace().toStdString();
    p.epochs = m_epochs->value();
    p.batch = m_batch->value() > 0 ? m_batch->value() : -1;
    p.learningRate = m_lr->value() > 0 ? m_lr->value() : -1;
    p.device = m_device->currentText().toStdString();
    p.resume = resume && QFileInfo::exists(runDir + "/last.pt");
    std::vector<EpochMetrics> history;
    if (p.resume && QFileInfo::exists(runDir + "/metrics.csv")) {
        try {
            history = parseMetricsCsv(readFile((runDir + "/metrics.csv").toStdString()));
        } catch (const std::exception& e) {
            m_status->setText(tr("Cannot resume %1: %2").arg(runDir, QString::fromUtf8(e.what())));
            return;
        }
    }
    std::vector<std::string> helperWords;
    if (const QString problem = shareAmongProcesses(p, model, m_processes->value(), helperWords); !problem.isEmpty()) {
        m_status->setText(problem);
        return;
    }
    QPointer<TrainPage> self(this);
    const auto job = trainingJob(
        p, helperWords,
        [self](double position, double loss) {
            QMetaObject::invokeMethod( // qApp: `self` is read on the GUI thread only
                qApp,
                [self, position, loss] {
                    if (self)
                        self->addBatch(position, loss);
                },
                Qt::QueuedConnection);
        },
        [self](const EpochMetrics& m) {
            QMetaObject::invokeMethod(
                qApp,
                [self, m] {
                    if (self)
                        self->addEpoch(m);
                },
                Qt::QueuedConnection);
        });
    const auto done = [this, model, runDir](bool ok, bool cancelled, const QString& error) {
        m_start->setEnabled(true);
        m_stop->setEnabled(false);
        if (!ok)
            m_status->setText(tr("Training failed: %1").arg(error));
        else if (cancelled) // what is kept is the last epoch that ended, in this run or before a resume
            m_status->setText(epochPoints() > 0
                                  ? tr("Stopped during epoch %1. Epoch %2, the last complete one, is kept; Resume "
                                       "latest continues from it.")
                                        .arg(epochPoints() + 1)
                                        .arg(epochPoints())
                                  : tr("Stopped before the first epoch ended: no epoch is kept, so Resume latest "
                                       "starts this run from the beginning."));
        // A run becomes "the latest" (which Predict, Encode and the maps use) only with a checkpoint.
        const bool hasCheckpoint = QFileInfo::exists(runDir + "/last.pt");
        if (ok && hasCheckpoint && modelHasRole(model.toStdString(), ModelRole::AgeModel))
            showScatter(runDir);
        if (hasCheckpoint)
            m_session->setLatestRun(model, runDir);
        updateResume();
        Q_EMIT trainingFinished(runDir, ok && !cancelled);
    };
    if (!m_session->jobs()->start(tr("Training %1").arg(model), job, done)) {
        m_status->setText(tr("Cannot start training now. %1").arg(m_session->jobs()->busyReason()));
        return;
    }
    m_runDir = runDir;
    m_runModel = model; // before the history is drawn: addEpoch reads both
    resetCharts(p.model != ModelKind::Autoencoder);
    m_preview->clear();
    m_status->setText(p.resume ? tr("Resuming %1 from its last checkpoint ...").arg(QFileInfo(runDir).fileName())
                               : tr("Training %1 into %2 ...").arg(model, QFileInfo(runDir).fileName()));
    if (p.model == ModelKind::Autoencoder) { // the age model's scatter does not describe this run
        replaceChart(m_scatterView, new QChart);
        m_worst->clear();
    }
    for (const auto& m : history)
        addEpoch(m);
    if (p.resume) { // the per-batch curve of the epochs before the stop, as this window drew it
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
    m_start->setEnabled(false);
    m_resume->setEnabled(false);
    m_stop->setEnabled(true);
    Q_EMIT trainingStarted(m_runDir);
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
            scatter.predicted = predictAges(*loaded->model, *data, scatter.faces, torch::kCPU, cancel);
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
