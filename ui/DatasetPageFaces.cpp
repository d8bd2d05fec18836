// The Dataset page's grid of faces beyond its filters: the face panel (the picture with its
// landmarks, the stored face, the Grad-CAM of the latest age model), the framing groups, and
// predicting every face's age.
#include "DatasetPage.h"

#include "Charts.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "data/SourceColumns.h"
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

} // namespace

void DatasetPage::refreshFramingGroups()
{
    // The groups the detector made, with their sizes, one choice away; hidden when it did not look.
    size_t aligned = 0, notFound = 0, several = 0;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const auto group = m_model->framingGroup(row);
        aligned += group == ThumbnailModel::FramingGroup::Aligned;
        notFound += group == ThumbnailModel::FramingGroup::NotFound;
        several += m_model->fromSeveral(row);
    }
    QSignalBlocker block(m_filterFraming);
    m_filterFraming->clear();
    m_filterFraming->addItem(tr("Any framing"), static_cast<int>(FaceFilter::Framing::Any));
    m_filterFraming->addItem(tr("Aligned (%1)").arg(aligned), static_cast<int>(FaceFilter::Framing::Aligned));
    m_filterFraming->addItem(tr("No face found (%1)").arg(notFound), static_cast<int>(FaceFilter::Framing::NotFound));
    m_filterFraming->addItem(tr("Several faces (%1)").arg(several), static_cast<int>(FaceFilter::Framing::Several));
    m_filterFraming->setItemData(1, tr("The faces the detector found and aligned"), Qt::ToolTipRole);
    m_filterFraming->setItemData(2, tr("Pictures in which no face was found: centre-cropped"), Qt::ToolTipRole);
    m_filterFraming->setItemData(3, tr("Faces from pictures in which several faces were found"), Qt::ToolTipRole);
    m_filter->setFraming(FaceFilter::Framing::Any);
    m_filterFraming->setVisible(aligned + notFound > 0);
}

void DatasetPage::refreshColumnFilter()
{
    const auto data = m_session->sharedDataset();
    // The names come from prepared.json in memory; the values are read (columns.csv) on the lane.
    const std::vector<std::string> names = data ? preparedColumnNames(*data) : std::vector<std::string>{};
    {
        const QSignalBlocker blockColumn(m_filterColumn), blockValue(m_filterValue);
        m_filterColumn->clear();
        m_filterColumn->addItem(tr("Any column"));
        for (const std::string& name : names)
            m_filterColumn->addItem(QString::fromStdString(name));
        m_filterValue->clear();
    }
    m_filterColumn->setVisible(!names.empty());
    m_filterValue->hide();
    m_filter->setColumnMask(nullptr);
}

void DatasetPage::refreshQuality()
{
    const auto data = m_session->sharedDataset();
    {
        const QSignalBlocker block(m_filterQuality);
        m_filterQuality->setCurrentIndex(0);
    }
    m_filter->setQualityRange(-1, 0, 0);
    m_filter->setQuality(nullptr);
    for (QWidget* w : std::initializer_list<QWidget*>{m_filterQuality, m_qualityLow, m_qualityHigh})
        w->hide();
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
            m_filter->setQuality(has ? std::move(quality) : nullptr);
            m_filterQuality->setVisible(m_filter->quality() != nullptr);
            filterChanged();
            if (m_shownFace >= 0 && m_filter->quality()) // the face panel shows them too
                showDatasetFace(m_shownFace);
        },
        [this](const QString& error) { m_matchCount->setText(tr("Cannot read the quality columns: %1").arg(error)); });
}

void DatasetPage::applyQualityRange(bool columnChanged)
{
    const int column = m_filterQuality->currentData().toInt();
    const FaceQuality* quality = m_filter->quality();
    const bool on = column >= 0 && quality;
    m_qualityLow->setVisible(on);
    m_qualityHigh->setVisible(on);
    if (on && columnChanged) {
        // The boxes span the column's values, so the range starts as every face that has one.
        float low = std::numeric_limits<float>::infinity(), high = -low;
        for (size_t i = 0; i < quality->rows; ++i)
            if (const float v = quality->at(i, static_cast<size_t>(column)); std::isfinite(v)) {
                low = std::min(low, v);
                high = std::max(high, v);
            }
        if (low > high)
            low = high = 0;
        const QSignalBlocker blockLow(m_qualityLow), blockHigh(m_qualityHigh);
        for (QDoubleSpinBox* box : {m_qualityLow, m_qualityHigh}) {
            box->setRange(std::floor(low * 10) / 10, std::ceil(high * 10) / 10);
            box->setSingleStep(std::max(0.1, (high - low) / 50.0));
        }
        m_qualityLow->setValue(m_qualityLow->minimum());
        m_qualityHigh->setValue(m_qualityHigh->maximum());
    }
    m_filter->setQualityRange(on ? column : -1, m_qualityLow->value(), m_qualityHigh->value());
    filterChanged();
}

void DatasetPage::listColumnValues()
{
    const int column = m_filterColumn->currentIndex() - 1;
    {
        const QSignalBlocker block(m_filterValue);
        m_filterValue->clear();
    }
    m_filterValue->setVisible(column >= 0);
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
            if (data != m_session->sharedDataset() || m_filterColumn->currentIndex() - 1 != column)
                return;
            const QSignalBlocker block(m_filterValue);
            m_filterValue->clear();
            m_filterValue->addItem(tr("Any value"));
            m_filterValue->setItemData(0, tr("Every face, whatever its %1").arg(m_filterColumn->currentText()),
                                       Qt::ToolTipRole);
            for (const auto& [value, count] : values)
                m_filterValue->addItem(
                    tr("%1 (%2)").arg(value.empty() ? tr("(empty)") : QString::fromStdString(value)).arg(count),
                    QString::fromStdString(value));
        },
        [this](const QString& error) { m_matchCount->setText(tr("Cannot read the columns: %1").arg(error)); });
}

void DatasetPage::applyColumnFilter()
{
    const int column = m_filterColumn->currentIndex() - 1;
    const auto data = m_session->sharedDataset();
    if (column < 0 || m_filterValue->currentIndex() < 1 || !data) {
        m_filter->setColumnMask(nullptr);
        filterChanged();
        return;
    }
    const std::string value = m_filterValue->currentData().toString().toStdString();
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
        [this](const QString& error) { m_matchCount->setText(tr("Cannot read the columns: %1").arg(error)); });
}

void DatasetPage::showDatasetFace(qint64 row)
{
    if (!m_session->dataset() || row < 0 || row >= m_model->rowCount())
        return;
    const QModelIndex source = m_model->index(static_cast<int>(row), 0);
    const QModelIndex shown = m_filter->mapFromSource(source);
    if (shown.isValid()) {
        m_grid->setCurrentIndex(shown);
        m_grid->scrollTo(shown);
    }
    showFace(source);
}

void DatasetPage::clearFacePanel()
{
    m_shownFace = -1;
    m_faceImage->clear();
    m_faceCrop->clear();
    m_faceOverlay->clear();
    m_faceOverlay->setToolTip({});
    m_overlayCaption->clear();
    m_faceInfo->setText(tr("Click a face to see it here."));
}

void DatasetPage::showFace(const QModelIndex& index, bool activate)
{
    const auto data = m_session->sharedDataset();
    const qint64 row = index.data(ThumbnailModel::IndexRole).toLongLong();
    if (!data || !index.isValid() || row < 0 || static_cast<size_t>(row) >= data->count())
        return;
    const Record& r = data->records()[static_cast<size_t>(row)];
    m_shownFace = row;
    m_overlayCaption->clear();
    // The stored face (what the models see) at once; the original file, decoded on the lane, when it
    // arrives (it may be large, slow or gone: then the stored face stays).
    const QPixmap stored = QPixmap::fromImage(m_session->face(row));
    m_faceImage->setPixmap(stored.scaled(220, 220, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    m_faceImage->setToolTip(tr("The stored face, as the models see it"));
    m_faceCrop->setPixmap(stored.scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    m_faceCrop->setToolTip(tr("The stored face, as the models see it"));
    m_session->lane()->submit<QImage>(
        QStringLiteral("face-original"), this,
        [data, row, path = QString::fromStdString(r.path)] {
            // Unreadable or absurdly large: null, and the stored face stays.
            return pictureWithFace(path, faceLandmarks(*data, static_cast<size_t>(row)), 220);
        },
        [this, found = r.facesFound > 0](QImage original) {
            if (original.isNull())
                return;
            m_faceImage->setPixmap(QPixmap::fromImage(original));
            m_faceImage->setToolTip(found ? tr("The picture, with the 68 landmarks the face was aligned by (green); "
                                               "the stored face is below")
                                          : tr("The picture; the stored face is below"));
        },
        [](const QString&) {});
    QString info = tr("<b>Face %1</b><br>%2<br>").arg(row).arg(QString::fromStdString(r.path).toHtmlEscaped());
    info += tr("Age: %1<br>Gender: %2<br>")
                .arg(r.age ? QString::number(*r.age) : tr("unknown"),
                     r.gender == Gender::Unknown ? tr("unknown") : QString::fromUtf8(genderName(r.gender)));
    if (!std::isnan(r.faceScore))
        info += tr("Face score: %1<br>").arg(r.faceScore);
    if (r.facesFound == 0)
        info += tr("No face found: centre-cropped<br>");
    else if (r.facesFound > 0)
        info += (r.faceIndex >= 0   ? tr("Aligned: face %1 of %2 in the picture").arg(r.faceIndex + 1).arg(r.facesFound)
                 : r.facesFound > 1 ? tr("Aligned: the best of %1 faces in the picture").arg(r.facesFound)
                                    : tr("Aligned"))
                + tr(" (turned %1°, yaw about %2°)<br>")
                      .arg(std::lround(r.roll)) // whole degrees, never "-0"
                      .arg(std::lround(r.yaw));
    info += index.data(ThumbnailModel::SplitRole).toInt() ? tr("Validation set") : tr("Training set");
    if (const QString predicted = m_session->predictedAgeOf(static_cast<size_t>(row)); !predicted.isEmpty())
        info += tr("<br>Predicted age: %1").arg(predicted.toHtmlEscaped());
    const QVariant cluster = index.data(ThumbnailModel::ClusterRole);
    if (cluster.isValid() && cluster.toInt() >= 0)
        info += tr("<br>Cluster %1").arg(m_session->clusterTitle(cluster.toInt()).toHtmlEscaped());
    else if (cluster.isValid())
        info += tr("<br>In no cluster (only a selection was clustered)");
    // The quality columns measured on the stored face at Prepare, when the preparation has them.
    if (const FaceQuality* quality = m_filter->quality(); quality && static_cast<size_t>(row) < quality->rows) {
        QStringList parts;
        for (size_t k = 0; k < quality->names.size(); ++k)
            parts << tr("%1 %2")
                         .arg(QString::fromStdString(quality->names[k]))
                         .arg(quality->at(static_cast<size_t>(row), k), 0, 'f', 1);
        info += tr("<br>Quality: %1").arg(parts.join(QStringLiteral(", ")));
    }
    m_faceInfo->setText(info);
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
                m_faceInfo->setText(m_faceInfo->text() + html);
        },
        [this, row](const QString& error) {
            if (m_shownFace == row)
                m_faceInfo->setText(m_faceInfo->text() + tr("<br>The source's columns: %1").arg(error.toHtmlEscaped()));
        });
    // The latest age model's signed Grad-CAM over this face, computed on the interactive lane (the
    // checkpoint is reloaded there when training has written a newer one).
    m_faceOverlay->clear();
    m_faceOverlay->setToolTip({});
    const QString run = m_session->latestAgeRun();
    if (!run.isEmpty()) {
        InteractiveLane* lane = m_session->lane();
        struct Overlay {
            QImage image;
            double predicted;
            int epoch;
        };
        lane->submit<Overlay>(
            QStringLiteral("face-gradcam"), this,
            [lane, run, data, row]() -> Overlay {
                const auto model = lane->model(run);
                if (model->model->imageSize() != data->imageSize())
                    return {QImage(), 0, 0};
                const AttentionPicture map =
                    faceAttention(*model->model, *data, static_cast<size_t>(row), {AttentionMethod::GradCam, "", -1});
                const int s = data->imageSize();
                const QImage face = rgbImage(data->image(static_cast<size_t>(row)), s, s);
                int epoch = 0;
                try {
                    epoch = nlohmann::json::parse(model->metaJson).value("epoch", 0);
                } catch (const std::exception&) {
                }
                return {overlayImage(face, 200, map.values.data(), s, true, 0.6), map.predictedAge, epoch};
            },
            [this, run](Overlay overlay) {
                if (overlay.image.isNull())
                    return;
                m_faceOverlay->setPixmap(QPixmap::fromImage(overlay.image));
                QString caption = tr("Signed Grad-CAM of %1 (checkpoint of epoch %2): red pushes the predicted "
                                     "age up, blue down.")
                                      .arg(QFileInfo(run).fileName())
                                      .arg(overlay.epoch);
                if (const QString note = m_session->runSourceNote(run); !note.isEmpty())
                    caption += " " + tr("The model was %1.").arg(note);
                m_overlayCaption->setText(caption);
                m_faceOverlay->setToolTip(caption);
            },
            [this](const QString&) { m_faceOverlay->clear(); }); // an unreadable run: no overlay, the panel stands
    }
    if (activate)
        Q_EMIT faceActivated(row);
}

void DatasetPage::selectFirstFace()
{
    if (m_filter->rowCount() == 0)
        return;
    m_grid->setCurrentIndex(m_filter->index(0, 0));
    showFace(m_filter->index(0, 0));
}

void DatasetPage::predictAll()
{
    const QString run = m_session->latestAgeRun();
    const auto data = m_session->sharedDataset();
    if (run.isEmpty() || !data) {
        m_faceInfo->setText(tr("Predicting ages needs a prepared dataset and an age model: train one on the Train "
                               "page first."));
        return;
    }
    if (const QString why = m_session->runMismatch(run); !why.isEmpty()) {
        m_faceInfo->setText(tr("Cannot predict with the latest age run: %1").arg(why));
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
        m_faceInfo->setText(tr("Cannot predict now. %1").arg(m_session->jobs()->busyReason()));
}

void DatasetPage::setNamedSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what)
{
    setSubset(std::move(mask), count);
    if (showsSubset())
        m_subsetLabel->setText(tr("Showing %1: %2 faces").arg(what).arg(count));
}

QString DatasetPage::subsetText() const
{
    return m_subsetLabel->isVisibleTo(this) ? m_subsetLabel->text() : QString();
}

} // namespace faceatlas::ui
