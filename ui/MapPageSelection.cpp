// The Map page's selection: its size, ages and decoded mean face for the panel, and what its buttons
// do with the session (a slice, a CSV export, a saved subset, clustering). MapPage.cpp holds the rest
// of the page, MapPageExclude.cpp the Exclude button.
#include "AgeHistogram.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "data/Subsets.h"
#include "InteractiveLane.h"
#include "MapPage.h"
#include "MapSelectionPanel.h"
#include "ml/Checkpoint.h"
#include "ml/Inference.h"
#include "PointMapView.h"
#include "Session.h"
#include "WriteQueue.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>

namespace faceatlas::ui {

namespace {

/** The mean code of `rows` (all when null) decoded by the codes' autoencoder, on the lane. */
QImage decodedMean(InteractiveLane* lane, const Codes& codes, const std::vector<qint64>* rows)
{
    const auto model = lane->model(QString::fromStdString(codes.runDir().string()));
    std::vector<std::int64_t> chosen;
    if (rows)
        chosen.assign(rows->begin(), rows->end());
    const std::vector<std::uint8_t> rgb = decodeMeanCode(*model->model, codes, rows ? &chosen : nullptr);
    const int side = model->model->imageSize();
    return rgb.empty() ? QImage() : rgbImage(rgb.data(), side, side);
}

} // namespace

void MapPage::requestSlice()
{
    const qint64 n = m_view->selectedCount();
    if (n == 0) {
        m_status->setText(tr("Select faces first: draw around them with the lasso, or choose a saved subset."));
        return;
    }
    // Commas join two attributes in a grouping's name: none in a subset's.
    QString name = m_selectedSubset.isEmpty() ? tr("selection: %1 faces").arg(n)
                                              : tr("subset %1: %2 faces").arg(m_selectedSubset).arg(n);
    name.replace(QLatin1Char(','), QLatin1Char(' '));
    Q_EMIT sliceRequested(name, std::make_shared<const std::vector<char>>(m_view->selection()));
}

void MapPage::askExportSelection()
{
    if (m_view->selectedCount() == 0) {
        m_status->setText(tr("Select faces first: draw around them with the lasso."));
        return;
    }
    const QString file = QFileDialog::getSaveFileName(this, tr("Export the selection as a CSV dataset"),
                                                      QStringLiteral("selection.csv"), tr("CSV (*.csv)"));
    if (!file.isEmpty())
        exportSelection(file);
}

void MapPage::askSaveSubset()
{
    if (m_view->selectedCount() == 0) {
        m_status->setText(tr("Select faces first: draw around them with the lasso."));
        return;
    }
    const QString name = QInputDialog::getText(this, tr("Save subset"), tr("Name of the subset"));
    if (!name.trimmed().isEmpty())
        saveSubset(name);
}

void MapPage::selectionChanged(qint64 count)
{
    m_selectedSubset.clear();
    const qint64 total = m_view->pointCount();
    m_selectionPanel->setSelectionText(
        count > 0 ? tr("<b>%1 of %2 faces selected</b>").arg(count).arg(total)
                  : tr("Nothing selected: draw around faces with the lasso (%1 faces).").arg(total));
    std::shared_ptr<const std::vector<char>> mask;
    if (count > 0)
        mask = std::make_shared<const std::vector<char>>(m_view->selection());
    Q_EMIT subsetChanged(mask, count);
    summarizeSelection(total);
}

void MapPage::summarizeSelection(qint64 total)
{
    const auto data = m_session->sharedDataset();
    const auto codes = m_codes;
    if (!data || !codes || total == 0)
        return;
    struct Summary {
        std::vector<double> all, selection;
        QImage selectionMean, allMean;
    };
    auto rows = std::make_shared<const std::vector<qint64>>(m_view->selectedRows());
    InteractiveLane* lane = m_session->lane();
    const bool needAll = m_allMean.isNull();
    m_session->lane()->submit<Summary>(
        QStringLiteral("map-selection"), this,
        [data, codes, rows, lane, needAll] {
            Summary s;
            s.all = ageShares(*data, nullptr);
            if (!rows->empty()) {
                s.selection = ageShares(*data, rows.get());
                s.selectionMean = decodedMean(lane, *codes, rows.get());
            }
            if (needAll)
                s.allMean = decodedMean(lane, *codes, nullptr);
            return s;
        },
        [this](Summary s) {
            m_selectionPanel->setAgeShares(std::move(s.all), std::move(s.selection));
            if (!s.allMean.isNull())
                m_allMean = s.allMean;
            m_selectionMean = s.selectionMean;
            m_selectionPanel->showMeanFaces(m_selectionMean, m_allMean);
        },
        [this](const QString& error) { m_selectionPanel->showMeanError(error); });
}

void MapPage::exportSelection(const QString& file)
{
    const auto data = m_session->sharedDataset();
    const std::vector<qint64> rows = m_view->selectedRows();
    if (!data || rows.empty()) {
        m_status->setText(tr("Select faces first: draw around them with the lasso."));
        return;
    }
    const std::vector<std::int64_t> selected(rows.begin(), rows.end());
    m_status->setText(tr("Exporting %1 faces to %2 ...").arg(selected.size()).arg(file));
    m_session->writer()->submit<size_t>(
        this, [data, selected, file] { return exportCsvDataset(*data, selected, file.toStdString()); },
        [this, file](size_t written) {
            m_status->setText(tr("Exported %1 faces to %2 (open it with File > Open CSV).").arg(written).arg(file));
        },
        [this](const QString& error) { m_status->setText(tr("Export failed: %1").arg(error)); });
}

QString MapPage::subsetsDir() const
{
    // Subsets name their faces by path, so they outlive a preparation: any dataset holding those
    // faces can select them again.
    return QDir(m_session->workspace()).filePath(QStringLiteral("subsets"));
}

QStringList MapPage::subsets() const
{
    if (!m_session->dataset())
        return {};
    QStringList names;
    for (const std::string& name : listSubsets(subsetsDir().toStdString()))
        names << QString::fromStdString(name);
    return names;
}

void MapPage::saveSubset(const QString& name)
{
    const auto data = m_session->sharedDataset();
    const std::vector<qint64> selected = m_view->selectedRows();
    if (!data || selected.empty())
        return;
    const std::filesystem::path file = subsetFile(subsetsDir().toStdString(), name.toStdString());
    const std::vector<std::int64_t> rows(selected.begin(), selected.end());
    m_session->writer()->submit<bool>(
        this,
        [file, text = name.toStdString(), data, rows] {
            writeSubset(file, text, data->sourceSpec(), data->records(), rows);
            return true;
        },
        [this, name, file](bool) {
            m_selectionPanel->addSubset(QFileInfo(QString::fromStdString(file.string())).completeBaseName());
            m_status->setText(tr("Saved the selection as the subset '%1'.").arg(name));
        },
        [this](const QString& error) { m_status->setText(tr("Cannot save the subset: %1").arg(error)); });
}

bool MapPage::loadSubset(const QString& name)
{
    const auto data = m_session->sharedDataset();
    if (!data || !hasMap())
        return false;
    const std::filesystem::path file = subsetFile(subsetsDir().toStdString(), name.toStdString());
    m_session->lane()->submit<SubsetSelection>(
        QStringLiteral("subset-open"), this, [file, data] { return readSubset(file, data->records()); },
        [this, name](SubsetSelection f) {
            m_view->setSelection(std::move(f.mask));
            m_selectedSubset = name; // after setSelection, whose selectionChanged forgets the last one
            m_status->setText(f.found == f.listed
                                  ? tr("Selected the subset '%1' (%2 faces).").arg(name).arg(f.found)
                                  : tr("Selected %1 faces of the subset '%2': %3 of its faces are not in this dataset.")
                                        .arg(f.found)
                                        .arg(name)
                                        .arg(f.listed - f.found));
        },
        [this](const QString& error) { m_status->setText(tr("Cannot open the subset: %1").arg(error)); });
    return true;
}

void MapPage::clusterSelection()
{
    const std::vector<qint64> rows = m_view->selectedRows();
    if (rows.size() < 3) {
        m_status->setText(tr("Select at least 3 faces to cluster."));
        return;
    }
    Q_EMIT clusterRows(std::vector<std::int64_t>(rows.begin(), rows.end()));
}

} // namespace faceatlas::ui
