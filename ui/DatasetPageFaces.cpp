// The Dataset page's grid of faces beyond its filter bar (what needs the session or the lane: the
// CSV columns' values, the quality columns), what its face panel shows (the picture with its
// landmarks, the stored face, the Grad-CAM of the latest age model), and predicting every face's age.
#include "DatasetPage.h"

#include "Charts.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "data/SourceColumns.h"
#include "FaceGrid.h"
#include "FacePanel.h"
#include "FacePicture.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MapColoring.h"
#include "ml/Attention.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "Session.h"
#include "ThumbnailModel.h"
#include "util/Parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QLabel>
#include <QListView>
#include <QListWidget>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/**
 * The open preparation's further CSV columns (columns.csv), read once per preparation. Called on the
 * interactive lane only (a file read); the cache holds the preparation weakly, so a switch reads the
 * next one's and never serves another's.
 */
std::shared_ptr<const SourceColumns> columnsOf(const std::shared_ptr<const PreparedDataset>& data)
{
    static std::mutex mutex;
    static std::weak_ptr<const PreparedDataset> cachedFor;
    static std::shared_ptr<const SourceColumns> cached;
    const std::lock_guard lock(mutex);
    if (cachedFor.lock() != data || !cached) {
        cached = std::make_shared<const SourceColumns>(readPreparedColumns(*data));
        cachedFor = data;
    }
    return cached;
}

/** The latest age model's Grad-CAM over one face: the picture (null when the model's image size is not the dataset's).
 */
struct GradCamOverlay {
    QImage image;
    double predicted;
    int epoch;
};

/** Computes a face's signed Grad-CAM with the run's model (loaded by the lane's cache). Lane only. */
GradCamOverlay gradCamOverlay(InteractiveLane& lane, const QString& run, const PreparedDataset& data, qint64 row)
{
    const auto model = lane.model(run);
    if (model->model->imageSize() != data.imageSize())
        return {QImage(), 0, 0};
    const AttentionPicture map =
        faceAttention(*model->model, data, static_cast<size_t>(row), {AttentionMethod::GradCam, "", -1});
    const int s = data.imageSize();
    const QImage face = rgbImage(data.image(static_cast<size_t>(row)), s, s);
    int epoch = 0;
    try {
        epoch = nlohmann::json::parse(model->metaJson).value("epoch", 0);
    } catch (const std::exception&) {
    }
    return {overlayImage(face, 200, map.values.data(), s, true, 0.6), map.predictedAge, epoch};
}

} // namespace

void DatasetPage::refreshColumnFilter()
{
    const auto data = m_session->sharedDataset();
    // The names come from prepared.json in memory; the values are read (columns.csv) on the lane.
    m_faceGrid->setColumnNames(data ? preparedColumnNames(*data) : std::vector<std::string>{});
}

void DatasetPage::refreshQuality()
{
    const auto data = m_session->sharedDataset();
    m_faceGrid->clearQuality();
    if (!data)
        return;
    // quality.f32 is read on the lane (qualityOf, shared with the map); a preparation from before the
    // quality columns has none: the range filter stays hidden and a sort by one says why.
    m_session->lane()->submit<std::shared_ptr<const FaceQuality>>(
        QStringLiteral("grid-quality"), this, [data] { return qualityOf(data); },
        [this, data](std::shared_ptr<const FaceQuality> quality) {
            if (data != m_session->sharedDataset())
                return;
            const bool has = quality && !quality->empty();
            m_faceGrid->setQuality(has ? std::move(quality) : nullptr);
            filterChanged();
            if (m_shownFace >= 0 && m_filter->quality()) // the face panel shows them too
                showDatasetFace(m_shownFace);
        },
        [this](const QString& error) {
            m_faceGrid->setMatchText(tr("Cannot read the quality columns: %1").arg(error));
        });
}

void DatasetPage::listColumnValues()
{
    const int column = m_faceGrid->chosenColumn();
    m_faceGrid->clearColumnValues(column >= 0);
    applyColumnFilter(); // no value chosen yet: every face
    const auto data = m_session->sharedDataset();
    if (column < 0 || !data)
        return;
    using Counted = std::vector<std::pair<std::string, size_t>>;
    m_session->lane()->submit<Counted>(
        QStringLiteral("grid-column-values"), this,
        [data, column] {
            const auto columns = columnsOf(data);
            std::map<std::string, size_t> counts;
            for (const auto& row : columns->rows)
                if (static_cast<size_t>(column) < row.size())
                    ++counts[row[static_cast<size_t>(column)]];
            Counted byCount(counts.begin(), counts.end());
            // The most frequent first (then by value), as the map's legend lists them.
            std::stable_sort(byCount.begin(), byCount.end(),
                             [](const auto& a, const auto& b) { return a.second > b.second; });
            return byCount;
        },
        [this, data, column](Counted values) {
            if (data != m_session->sharedDataset() || m_faceGrid->chosenColumn() != column)
                return;
            m_faceGrid->showColumnValues(values);
        },
        [this](const QString& error) { m_faceGrid->setMatchText(tr("Cannot read the columns: %1").arg(error)); });
}

void DatasetPage::applyColumnFilter()
{
    const int column = m_faceGrid->chosenColumn();
    const auto data = m_session->sharedDataset();
    const std::optional<std::string> chosen = m_faceGrid->chosenValue(); // nullopt: any value
    if (column < 0 || !chosen || !data) {
        m_filter->setColumnMask(nullptr);
        filterChanged();
        return;
    }
    const std::string value = *chosen;
    m_session->lane()->submit<std::shared_ptr<const std::vector<char>>>(
        QStringLiteral("grid-column-filter"), this,
        [data, column, value] {
            const auto columns = columnsOf(data);
            auto mask = std::make_shared<std::vector<char>>(columns->rows.size(), 0);
            for (size_t i = 0; i < columns->rows.size(); ++i)
                (*mask)[i] = static_cast<size_t>(column) < columns->rows[i].size()
                             && columns->rows[i][static_cast<size_t>(column)] == value;
            return std::shared_ptr<const std::vector<char>>(std::move(mask));
        },
        [this, data](std::shared_ptr<const std::vector<char>> mask) {
            if (data != m_session->sharedDataset())
                return;
            m_filter->setColumnMask(std::move(mask));
            filterChanged();
        },
        [this](const QString& error) { m_faceGrid->setMatchText(tr("Cannot read the columns: %1").arg(error)); });
}

void DatasetPage::showDatasetFace(qint64 row)
{
    if (!m_session->dataset() || row < 0 || row >= m_model->rowCount())
        return;
    const QModelIndex source = m_model->index(static_cast<int>(row), 0);
    const QModelIndex shown = m_filter->mapFromSource(source);
    if (shown.isValid()) {
        m_faceGrid->view()->setCurrentIndex(shown);
        m_faceGrid->view()->scrollTo(shown);
    }
    showFace(source);
}

void DatasetPage::clearFacePanel()
{
    m_shownFace = -1;
    m_facePanel->clear();
}

void DatasetPage::showFace(const QModelIndex& index, bool activate)
{
    const auto data = m_session->sharedDataset();
    const qint64 row = index.data(ThumbnailModel::IndexRole).toLongLong();
    if (!data || !index.isValid() || row < 0 || static_cast<size_t>(row) >= data->count())
        return;
    const Record& r = data->records()[static_cast<size_t>(row)];
    m_shownFace = row;
    // The stored face (what the models see) at once; the original file, decoded on the lane, when it
    // arrives (it may be large, slow or gone: then the stored face stays).
    m_facePanel->showStoredFace(m_session->face(row));
    requestFacePicture(data, row);
    FaceDetails details;
    details.row = row;
    details.record = &r;
    details.validation = index.data(ThumbnailModel::SplitRole).toInt() != 0;
    details.predictedAge = m_session->predictedAgeOf(static_cast<size_t>(row));
    details.cluster = index.data(ThumbnailModel::ClusterRole);
    if (details.cluster.isValid() && details.cluster.toInt() >= 0)
        details.clusterTitle = m_session->clusterTitle(details.cluster.toInt());
    details.quality = m_filter->quality();
    m_facePanel->showDetails(details);
    requestFaceColumns(data, row);
    requestFaceGradCam(data, row);
    if (activate)
        Q_EMIT faceActivated(row);
}

void DatasetPage::requestFacePicture(const std::shared_ptr<const PreparedDataset>& data, qint64 row)
{
    const Record& r = data->records()[static_cast<size_t>(row)];
    m_session->lane()->submit<QImage>(
        QStringLiteral("face-original"), this,
        [data, row, path = QString::fromStdString(r.path)] {
            // Unreadable or absurdly large: null, and the stored face stays.
            return pictureWithFace(path, faceLandmarks(*data, static_cast<size_t>(row)), 220);
        },
        [this, found = r.facesFound > 0](QImage original) {
            if (original.isNull())
                return;
            m_facePanel->showPicture(original, found);
        },
        [](const QString&) {});
}

void DatasetPage::requestFaceColumns(const std::shared_ptr<const PreparedDataset>& data, qint64 row)
{
    // The CSV source's further columns, when the preparation kept some: read on the lane, then added.
    m_session->lane()->submit<QString>(
        QStringLiteral("face-columns"), this,
        [data, row] {
            const auto columns = columnsOf(data);
            QString html;
            if (static_cast<size_t>(row) < columns->rows.size())
                for (size_t k = 0; k < columns->names.size(); ++k)
                    html += QStringLiteral("<br>%1: %2")
                                .arg(QString::fromStdString(columns->names[k]).toHtmlEscaped(),
                                     QString::fromStdString(columns->rows[row][k]).toHtmlEscaped());
            return html;
        },
        [this, row](QString html) {
            if (m_shownFace == row && !html.isEmpty())
                m_facePanel->appendDetails(html);
        },
        [this, row](const QString& error) {
            if (m_shownFace == row)
                m_facePanel->appendDetails(tr("<br>The source's columns: %1").arg(error.toHtmlEscaped()));
        });
}

void DatasetPage::requestFaceGradCam(const std::shared_ptr<const PreparedDataset>& data, qint64 row)
{
    // The latest age model's signed Grad-CAM over this face, computed on the interactive lane (the
    // checkpoint is reloaded there when training has written a newer one).
    const QString run = m_session->latestAgeRun();
    if (run.isEmpty())
        return;
    InteractiveLane* lane = m_session->lane();
    lane->submit<GradCamOverlay>(
        QStringLiteral("face-gradcam"), this, [lane, run, data, row] { return gradCamOverlay(*lane, run, *data, row); },
        [this, run](GradCamOverlay overlay) {
            if (overlay.image.isNull())
                return;
            QString caption = tr("Signed Grad-CAM of %1 (checkpoint of epoch %2): red pushes the predicted "
                                 "age up, blue down.")
                                  .arg(QFileInfo(run).fileName())
                                  .arg(overlay.epoch);
            if (const QString note = m_session->runSourceNote(run); !note.isEmpty())
                caption += " " + tr("The model was %1.").arg(note);
            m_facePanel->showOverlay(overlay.image, caption);
        },
        [this](const QString&) { m_facePanel->clearOverlay(); }); // an unreadable run: no overlay, the panel stands
}

void DatasetPage::selectFirstFace()
{
    if (m_filter->rowCount() == 0)
        return;
    m_faceGrid->view()->setCurrentIndex(m_filter->index(0, 0));
    showFace(m_filter->index(0, 0));
}

void DatasetPage::predictAll()
{
    const QString run = m_session->latestAgeRun();
    const auto data = m_session->sharedDataset();
    if (run.isEmpty() || !data) {
        m_facePanel->showMessage(tr("Predicting ages needs a prepared dataset and an age model: train one on the Train "
                                    "page first."));
        return;
    }
    if (const QString why = m_session->runMismatch(run); !why.isEmpty()) {
        m_facePanel->showMessage(tr("Cannot predict with the latest age run: %1").arg(why));
        return;
    }
    // Each face's age and its calibrated spread (NaN for a run trained before calibration), handed
    // to the session together when the job ends.
    auto predictions = std::make_shared<AgeDistributions>();
    const std::string runDir = run.toStdString();
    const auto job = [predictions, data, runDir](const CancelToken& cancel, const JobRunner::Report& report) {
        LoadedModel loaded = loadRunModel(runDir);
        std::vector<std::uint32_t> all(data->count());
        for (size_t i = 0; i < all.size(); ++i)
            all[i] = static_cast<std::uint32_t>(i);
        *predictions =
            predictAgeDistributions(*loaded.model, *data, all, resolveDevice("cpu"), cancel,
                                    [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); });
        return predictions->mean.size() == data->count() && predictions->sd.size() == data->count();
    };
    const auto done = [this, predictions, data](bool ok, bool cancelled, const QString&) {
        // Predictions of a dataset that is no longer open are dropped (setPredictions checks).
        // The user's filter and sort stay as they were.
        if (ok && !cancelled
            && m_session->setPredictions(data.get(), std::move(predictions->mean), std::move(predictions->sd)))
            filterChanged();
    };
    if (!m_session->jobs()->start(tr("Predicting ages"), job, done))
        m_facePanel->showMessage(tr("Cannot predict now. %1").arg(m_session->jobs()->busyReason()));
}

void DatasetPage::setNamedSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what)
{
    setSubset(std::move(mask), count);
    if (showsSubset())
        m_faceGrid->setSubsetText(tr("Showing %1: %2 faces").arg(what).arg(count));
}

QString DatasetPage::subsetText() const
{
    return m_faceGrid->subsetText();
}

} // namespace faceatlas::ui
