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

TrainPage::TrainPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    auto* left = new QVBoxLayout;
    left->addWidget(buildSettings());
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
    left->addWidget(m_status);
    left->addWidget(m_scatterView, 1);
    m_worstLabel = new QLabel(tr("Worst-predicted validation faces (true / predicted):"));
    left->addWidget(m_worstLabel);
    left->addWidget(m_worst);
    left->addStretch(); // with the scatter hidden (the autoencoder), the status stays under the settings

    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left, 0);
    layout->addLayout(buildCharts(), 1);
    resetCharts(true);
    restoreSettings();
    // Idle, the charts are for the model chosen: no MAE title over an autoencoder.
    connect(m_model, &QComboBox::currentIndexChanged, this, [this] {
        if (m_session->jobs()->isRunning() && m_stop->isEnabled())
            return;
        resetCharts(modelHasRole(m_model->currentData().toString().toStdString(), ModelRole::AgeModel));
    });
    connect(m_model, &QComboBox::currentIndexChanged, this, &TrainPage::updateResume);
    connect(m_session, &Session::runsChanged, this, &TrainPage::updateResume);
    connect(m_session, &Session::datasetChanged, this, &TrainPage::updateResume);
    connect(m_session, &Session::datasetChanged, this, &TrainPage::showData);
    // The scatter and the worst faces are of the open dataset's faces: not kept under another one.
    connect(m_session, &Session::datasetAboutToChange, this, [this] {
        replaceChart(m_scatterView, new QChart);
        m_worst->clear();
    });
    showData();
    updateResume();
    connect(m_start, &QPushButton::clicked, this, [this] { start(false); });
    connect(m_resume, &QPushButton::clicked, this, [this] { start(true); });
    connect(m_stop, &QPushButton::clicked, m_session->jobs(), &JobRunner::cancel);
    connect(m_worst, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceActivated(item->data(Qt::UserRole).toLongLong()); });
}

/** The Training box: model, epochs, batch, learning rate, device, processes, the buttons and the data line. */
QGroupBox* TrainPage::buildSettings()
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
    return box;
}

/** The right column: the loss and metric charts, and the autoencoder's previews under them. */
QVBoxLayout* TrainPage::buildCharts()
{
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
    return right;
}

/** The settings persist between sessions: read back here, written on every change. */
void TrainPage::restoreSettings()
{
    QSettings settings;
    settings.beginGroup("training");
    m_model->setCurrentIndex(std::max(
        0, m_model->findData(settings.value("model", QString::fromUtf8(defaultModelName(ModelRole::AgeModel))))));
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
    connect(m_device, &QComboBox::currentIndexChanged, this, save);
    connect(m_epochs, &QSpinBox::valueChanged, this, save);
    connect(m_batch, &QSpinBox::valueChanged, this, save);
    connect(m_lr, &QDoubleSpinBox::valueChanged, this, save);
}

/** The data line under the settings, and the idle status for the open dataset. */
void TrainPage::showData()
{
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

/** Why a training cannot start now (no dataset, a job running, nothing to resume, ...), or empty. */
QString TrainPage::startProblem(bool resume, const QString& model) const
{
    if (!m_session->dataset())
        return tr("No prepared dataset yet: prepare one on the Dataset page first.");
    if (m_session->jobs()->isRunning())
        return tr("Cannot start training now. %1").arg(m_session->jobs()->busyReason());
    if (resume
        && (m_session->latestRun(model).isEmpty() || !QFileInfo::exists(m_session->latestRun(model) + "/last.pt")))
        return tr("There is no earlier %1 run with a checkpoint to resume; Start begins a new one.").arg(model);
    if (m_session->dataset()->trainIndices().empty())
        return tr("The open dataset has no training faces: prepare it with more faces or a smaller "
                  "validation share.");
    if (resume) // a run continues only on data of its own image size
        if (const QString why = m_session->runMismatch(m_session->latestRun(model)); !why.isEmpty())
            return tr("Cannot resume: %1").arg(why);
    return {};
}

void TrainPage::start(bool resume)
{
    const QString model = m_model->currentData().toString();
    if (const QString problem = startProblem(resume, model); !problem.isEmpty()) {
        // A refused start changes nothing: the charts of the running (or last) training stay.
        m_status->setText(problem);
        return;
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
        trainingEnded(model, runDir, ok, cancelled, error);
    };
    if (!m_session->jobs()->start(tr("Training %1").arg(model), job, done)) {
        m_status->setText(tr("Cannot start training now. %1").arg(m_session->jobs()->busyReason()));
        return;
    }
    m_runDir = runDir;
    m_runModel = model; // before the history is drawn: addEpoch reads both
    const bool ageModel = modelKindInfo(p.model).role == ModelRole::AgeModel;
    resetCharts(ageModel);
    m_preview->clear();
    m_status->setText(p.resume ? tr("Resuming %1 from its last checkpoint ...").arg(QFileInfo(runDir).fileName())
                               : tr("Training %1 into %2 ...").arg(model, QFileInfo(runDir).fileName()));
    clearRunPictures(ageModel, p.resume);
    drawEarlierEpochs(runDir, p.resume, history);
    m_start->setEnabled(false);
    m_resume->setEnabled(false);
    m_stop->setEnabled(true);
    Q_EMIT trainingStarted(m_runDir);
}

void TrainPage::clearRunPictures(bool ageModel, bool resumed)
{
    // The scatter and the worst faces describe one run: an autoencoder or a new run starts without
    // the previous run's (a resumed run keeps its own until its next epoch redraws them).
    if (ageModel && resumed)
        return;
    auto* empty = new QChart;
    if (ageModel)
        empty->setTitle(tr("Predicted vs true age (after this run's first epoch)"));
    replaceChart(m_scatterView, empty);
    m_worst->clear();
}

/** The end of a training: the status, the scatter of an age model, and the run as the latest. */
void TrainPage::trainingEnded(const QString& model, const QString& runDir, bool ok, bool cancelled,
                              const QString& error)
{
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
}

} // namespace faceatlas::ui
