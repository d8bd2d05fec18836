#include "DatasetPage.h"

#include "Charts.h"
#include "CleaningPanel.h"
#include "FaceGrid.h"

#include "data/Cleaning.h"
#include "data/DatasetHistory.h"
#include "data/FaceQuality.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/PrepareSteps.h"
#include "data/Readers.h"
#include "data/ReviewFile.h"
#include "data/SourceKinds.h"
#include "FacePanel.h"
#include "FacePicture.h"
#include "HistoryPanel.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/Attention.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ScreenFit.h"
#include "Session.h"
#include "ThumbnailModel.h"
#include "util/Parallel.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QLocale>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/**
 * The folder right below `location` that holds the most image files, as "images/ holds 5,000 images",
 * or "" when none does: a dataset unpacked one level deeper than where it was opened (UTKFace's
 * archive holds UTKFace/, the sample here images/ beside labels.csv). Worker threads only (it lists
 * folders); bounded: 256 subfolders, 100,000 files counted in each.
 */
QString subfolderWithImages(const std::string& location)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    QString best;
    std::size_t bestCount = 0, folders = 0;
    for (fs::directory_iterator it(location, ec), end; !ec && it != end && folders < 256; it.increment(ec)) {
        if (!it->is_directory(ec))
            continue;
        ++folders;
        std::size_t count = 0;
        std::error_code inner;
        for (fs::directory_iterator f(it->path(), inner), fend; !inner && f != fend && count < 100000;
             f.increment(inner))
            count += f->is_regular_file(inner) && hasImageExtension(f->path());
        if (count > bestCount) {
            bestCount = count;
            best = QString::fromStdString(it->path().filename().string());
        }
    }
    return bestCount == 0 ? QString()
                          : QCoreApplication::translate("DatasetPage", "%1/ below it holds %2 images: open that folder")
                                .arg(best)
                                .arg(QLocale().toString(static_cast<qulonglong>(bestCount)));
}

/** File > Recent lists only the sources that open and hold faces. */
void forgetRecentSource(const QString& spec)
{
    QSettings settings;
    QStringList recent = settings.value("recentSources").toStringList();
    if (recent.removeAll(spec) > 0)
        settings.setValue("recentSources", recent);
}

/** Opening a source, on a worker: its records, then each image's size and format on all cores. */
bool readAndProbe(const std::string& source, LoadedDataset& loaded, std::vector<ImageProbe>& probes,
                  QString& imagesBelow, const CancelToken& cancel, const JobRunner::Report& report)
{
    report(QObject::tr("reading metadata"), 0, 0);
    loaded = openSource(source);
    if (loaded.records.empty() && sourceKindInfo(loaded.kind).pathIsFolder)
        imagesBelow = subfolderWithImages(loaded.location);
    probes.resize(loaded.records.size());
    std::atomic<long long> done{0};
    const auto total = static_cast<qint64>(loaded.records.size());
    parallelFor(
        loaded.records.size(), 0,
        [&](size_t i) {
            if (cancel.isCancelled())
                return;
            probes[i] = probeImage(loaded.records[i].path);
            const long long d = ++done;
            if (d % 2048 == 0)
                report(QObject::tr("checking images"), d, total);
        },
        64);
    return !cancel.isCancelled();
}

/** What the review decisions would remove of the open preparation when Prepare stopped to ask (`of` 0: it did not). */
struct Removal {
    size_t removed = 0, of = 0;
};

/**
 * Prepare's job, on a worker. With `shown` (the open preparation of the source), it first counts what
 * the review decisions remove of it and, when that is more than a tenth, stops there with `held` set.
 * Else it prepares, keeping the preparation it replaces as a version.
 */
bool prepareUnlessHeld(const PrepareParams& params, const std::shared_ptr<const PreparedDataset>& shown, Removal& held,
                       const CancelToken& cancel, const JobRunner::Report& report)
{
    if (shown) {
        report(QStringLiteral("Counting what the review decisions remove"), 0, 1);
        const ReviewFile review = ReviewFile::load(params.review, decisionsAbout(shown->records()));
        std::vector<Record> records = shown->records();
        ReviewCounts counts;
        const size_t removed = applyReview(review, records, counts).size();
        if (removed * 10 > records.size()) {
            held = {removed, records.size()};
            return true;
        }
    }
    // The preparation this one replaces is kept as a version (hard links, dropped again when
    // nothing replaced it), so History can list and compare it until the user removes it.
    const std::filesystem::path kept = keepPreparationVersion(params.outDir);
    PrepareResult result;
    try {
        result = PrepareJob(params).run(
            cancel, [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); });
    } catch (...) {
        settleKeptVersion(kept, params.outDir);
        throw;
    }
    settleKeptVersion(kept, params.outDir);
    return !result.cancelled;
}

} // namespace

DatasetPage::DatasetPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_sourceLabel = new QLabel(tr("No dataset open. Use File > Open, drop a file or folder here, or open the demo."));
    m_sourceLabel->setObjectName("sourceLabel");
    m_sourceLabel->setWordWrap(true);

    m_cleaning = new CleaningPanel;
    refreshReview(); // whether the workspace has review decisions for Prepare to apply
    QWidget* cleaning = buildCleaningColumn();
    m_faceGrid = new FaceGrid;
    m_model = m_faceGrid->model();
    m_filter = m_faceGrid->filter();
    auto* splitter = new QSplitter;
    // The side panels scroll on a short screen (1366x768); the grid keeps the height that is left.
    splitter->addWidget(verticalScroller(cleaning));
    splitter->addWidget(m_faceGrid);
    m_facePanel = new FacePanel;
    splitter->addWidget(verticalScroller(m_facePanel));
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({340, 800, 240});
    for (int i = 0; i < splitter->count(); ++i) // a narrow window narrows the grid, never hides a panel
        splitter->setCollapsible(i, false);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_sourceLabel);
    layout->addWidget(splitter, 1);

    connectCleaning();
    connectGrid();
    connectSession();
}

void DatasetPage::refreshExtras()
{
    m_model->setExtras(m_session->sharedPredictions(), m_session->sharedClusterLabels(),
                       m_session->sharedPredictionSpreads());
    int k = 0;
    for (int label : m_session->clusterLabels())
        k = std::max(k, label + 1);
    QStringList titles;
    for (int c = 0; c < k; ++c)
        titles << m_session->clusterTitle(c);
    m_faceGrid->setClusters(titles);
    filterChanged();
}

void DatasetPage::showEveryFace()
{
    // Faces are found in photos; IMDB-WIKI's crops are one labelled face each, the demo's are drawn.
    m_cleaning->setPhotoSource(!m_loaded || !sourceKindInfo(m_loaded->kind).metadataFaceScores);
}

void DatasetPage::refreshReview()
{
    const QFileInfo review(QDir(m_session->workspace()).filePath(QStringLiteral("review.csv")));
    m_cleaning->setReviewFile(review.exists() ? review.fileName() : QString());
    // A decision or an undo (the queue, the Map's Exclude) changes what Prepare removes: counted again.
    updateCounts();
}

void DatasetPage::setSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count)
{
    m_faceGrid->setSubset(std::move(mask), count);
    filterChanged();
}

bool DatasetPage::showsSubset() const
{
    return m_filter->hasSubset();
}

void DatasetPage::filterChanged()
{
    const int total = m_model->rowCount(), shown = m_filter->rowCount();
    QString text = total == 0 ? QString() : tr("%1 of %2 faces match").arg(shown).arg(total);
    if (m_faceGrid->sortRole() == ThumbnailModel::ErrorRole && m_session->predictions().empty())
        text += tr(" (no predictions yet: press Predict ages to sort by error)");
    const int quality = m_faceGrid->sortRole() - ThumbnailModel::QualityRole;
    if (quality >= 0 && quality < static_cast<int>(kQualityColumnCount) && !m_filter->quality() && m_session->dataset())
        text += " (" + QString::fromStdString(noQualityMessage(*m_session->dataset())) + ")";
    m_faceGrid->setMatchText(text);
    m_faceGrid->view()->scrollToTop();
    // The panel never shows a face the filter has just hidden.
    if (m_shownFace >= 0) {
        const QModelIndex source = m_model->index(static_cast<int>(m_shownFace), 0);
        if (!source.isValid() || !m_filter->mapFromSource(source).isValid())
            clearFacePanel();
    }
}

QString DatasetPage::matchText() const
{
    return m_faceGrid->matchText();
}

DatasetPage::~DatasetPage() = default;

int DatasetPage::faceCount() const
{
    return m_model->rowCount();
}

const PreparedDataset* DatasetPage::gridDataset() const
{
    return m_model->dataset();
}

QListView* DatasetPage::grid() const
{
    return m_faceGrid->view();
}

void DatasetPage::focusFilter()
{
    m_faceGrid->focusFilter();
}

void DatasetPage::filterToCluster(int cluster)
{
    m_faceGrid->filterToCluster(cluster);
}

void DatasetPage::loadSource(const QString& spec)
{
    // A refused start changes nothing: the open source, its counts and its faces stay as they are.
    if (m_session->jobs()->isRunning()) {
        const QString before = m_sourceLabel->text();
        const QString refusal = tr("Cannot open %1 now. %2").arg(spec.toHtmlEscaped(), m_session->jobs()->busyReason());
        m_sourceLabel->setText(refusal);
        // Only while the job runs: once it ends the refusal is no longer true, and the label says again what is open.
        connect(
            m_session->jobs(), &JobRunner::finished, this,
            [this, before, refusal] {
                if (m_sourceLabel->text() == refusal)
                    m_sourceLabel->setText(before);
            },
            Qt::SingleShotConnection);
        return;
    }
    auto loaded = std::make_shared<LoadedDataset>();
    auto probes = std::make_shared<std::vector<ImageProbe>>();
    const std::string source = spec.toStdString();
    auto imagesBelow = std::make_shared<QString>();
    const auto read = [loaded, probes, source, imagesBelow](const CancelToken& cancel,
                                                            const JobRunner::Report& report) {
        return readAndProbe(source, *loaded, *probes, *imagesBelow, cancel, report);
    };
    const auto done = [this, loaded, probes, spec, imagesBelow](bool ok, bool cancelled, const QString& error) {
        if (!ok || cancelled) {
            m_sourceLabel->setText(ok ? tr("Reading %1 was cancelled; %2 stays open.").arg(spec, currentSourceText())
                                      : tr("Could not open %1: %2").arg(spec, error));
            if (!ok)
                forgetRecentSource(spec);
            return;
        }
        showSourceRead(spec, loaded, probes, *imagesBelow);
    };
    if (m_session->jobs()->start(tr("Reading %1").arg(spec), read, done))
        m_sourceLabel->setText(tr("Reading %1 ...").arg(spec));
}

void DatasetPage::showSourceRead(const QString& spec, std::shared_ptr<LoadedDataset> loaded,
                                 std::shared_ptr<std::vector<ImageProbe>> probes, const QString& imagesBelow)
{
    m_session->setSource(spec);
    m_loaded = loaded;
    m_probes = probes;
    m_imagesBelow = imagesBelow;
    if (loaded->records.empty())
        forgetRecentSource(spec);
    showEveryFace();
    restoreCleaningSettings(spec, sourceKindInfo(loaded->kind).metadataFaceScores);
    // A preparation of this source that is open already (reopened at start) keeps its image size,
    // whatever was last set for the source: the check below finds it open and keeps it.
    if (const auto* open = m_session->dataset(); open && QString::fromStdString(open->sourceSpec()) == spec)
        m_cleaning->showImageSize(open->imageSize());
    QString text = tr("<b>%1</b>: %2").arg(spec.toHtmlEscaped(), sourceSummary());
    if (loaded->malformed)
        text += tr(", %1 entries could not be read (listed under the steps)").arg(loaded->malformed);
    if (loaded->records.empty())
        text += tr(". Nothing to prepare: the source holds no faces.");
    m_sourceLabel->setText(text);
    m_cleaning->setPrepareEnabled(!loaded->records.empty());
    updateCounts();
    // The grid shows this source's faces or none, never the previous dataset's.
    const QString prepared = m_session->preparedDirFor(spec, m_cleaning->imageSize());
    if (m_session->dataset() && m_session->datasetDir() == prepared) {
        // Already open (a start that reopened it): the header says what was prepared, as it
        // did when the preparation was opened, rather than only the source's record count.
        showManifest(QString::fromStdString(m_session->dataset()->manifestJson()));
        return;
    }
    if (QFileInfo::exists(prepared + "/prepared.json")) {
        try {
            m_session->openPrepared(prepared);
            return;
        } catch (const std::exception& e) {
            m_sourceLabel->setText(text
                                   + tr("<br>Its earlier preparation cannot be opened (%1); prepare again.")
                                         .arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
        }
    }
    m_session->closeDataset();
}

QString DatasetPage::currentSourceText() const
{
    return m_session->source().isEmpty() ? tr("nothing") : m_session->source();
}

void DatasetPage::updateCounts()
{
    if (!m_loaded)
        return;
    const quint64 generation = ++m_previewGeneration;
    // The open preparation's own counts (what the grid holds) while its settings are those on
    // screen and, with a review, the review file still holds the decisions it applied: a decision
    // since (the queue, the Map's Exclude, an undo) changes what Prepare removes, so it is counted.
    const std::optional<std::string> prepared = preparedWith();
    const PrepareParams params = previewParams();
    if (prepared && params.review.empty()) {
        showPreparedSteps();
        return;
    }
    struct Counted {
        bool prepared = false; // the review file holds what the open preparation applied: its steps
        StepPreview preview;
    };
    // Counted as Prepare counts (previewSteps: the detector's cached findings, the review), on the
    // lane: the review and the findings caches are files, and every step runs over every record.
    // The newest wins: a newer request (a setting changed again) or the window's close cancels it.
    m_session->lane()->submit<Counted>(
        QStringLiteral("step-preview"), this,
        [loaded = m_loaded, probes = m_probes, params, prepared](const CancelToken& cancel) {
            Counted counted;
            if (prepared) {
                const std::optional<ReviewFile> review = loadPrepareReview(params, *loaded);
                if (review && reviewFingerprint(*review) == *prepared) {
                    counted.prepared = true;
                    return counted;
                }
            }
            counted.preview = previewSteps(*loaded, *probes, params, FindFaces::CachedOnly, cancel);
            return counted;
        },
        [this, generation](Counted counted) {
            if (generation != m_previewGeneration || !m_loaded || counted.preview.cancelled)
                return;
            if (counted.prepared) {
                showPreparedSteps();
                return;
            }
            showCountedSteps(counted.preview);
        },
        [this, generation](const QString& error) {
            if (generation != m_previewGeneration)
                return;
            m_previewNote->setText(tr("The steps cannot be counted: %1").arg(error.toHtmlEscaped()));
            m_previewNote->show();
            m_detectNow->hide();
        });
}

void DatasetPage::showCountedSteps(const StepPreview& preview)
{
    showCleaningProblems(preview.skipped, m_loaded->records.size());
    const size_t remaining = preview.steps.empty() ? m_loaded->records.size() : preview.steps.back().remaining;
    m_cleaning->setPrepareEnabled(remaining > 0);
    m_cleaning->setPrepareToolTip(remaining > 0 ? QString()
                                                : tr("No face is left after the cleaning steps: loosen them, or see "
                                                     "the problems listed below the steps."));
    showPreviewSteps(preview);
    if (!m_session->dataset())
        m_faceGrid->setMatchText(
            remaining > 0 ? tr("The faces appear here once the dataset is prepared (Prepare, on the left).")
            : m_loaded->records.empty()
                ? tr("The source holds no faces, so there is nothing to prepare: open another (File "
                     "menu); its header above says what it holds.")
                : tr("No face is left after the cleaning steps, so Prepare is off: loosen the steps on the "
                     "left, or see the problems listed below them."));
}

void DatasetPage::prepare()
{
    startPrepare(false);
}

void DatasetPage::prepareAnyway()
{
    startPrepare(true);
}

QString DatasetPage::prepareWarning() const
{
    return m_cleaning->prepareWarning();
}

void DatasetPage::startPrepare(bool removalConfirmed)
{
    m_cleaning->hidePrepareWarning();
    if (m_session->source().isEmpty())
        return;
    // The step preview's settings (one function, so that its counts stay Prepare's), and the
    // output folder only Prepare needs.
    PrepareParams params = previewParams();
    params.outDir = m_session->preparedDirFor(m_session->source(), params.size).toStdString();
    const QString dir = QString::fromStdString(params.outDir.string());
    const QString spec = m_session->source();
    // What the decisions would remove is counted against the open preparation of this source, the
    // faces the user sees, with applyReview as PrepareJob applies it (a first preparation is not checked).
    std::shared_ptr<const PreparedDataset> shown;
    if (!removalConfirmed && !params.review.empty())
        if (auto open = m_session->sharedDataset(); open && QString::fromStdString(open->sourceSpec()) == spec)
            shown = std::move(open);
    auto held = std::make_shared<Removal>(); // set by the job when it stopped for the confirmation
    const auto job = [params, shown, held](const CancelToken& cancel, const JobRunner::Report& report) {
        return prepareUnlessHeld(params, shown, *held, cancel, report);
    };
    const auto done = [this, dir, spec, held](bool ok, bool cancelled, const QString& error) {
        if (!ok) {
            m_sourceLabel->setText(tr("Preparing %1 failed: %2").arg(spec.toHtmlEscaped(), error.toHtmlEscaped()));
            return;
        }
        if (cancelled || spec != m_session->source())
            return;
        if (held->of > 0) { // stopped before preparing: the user decides
            // The job ended without preparing: the status bar says so rather than "done".
            m_session->jobs()->setOutcome(tr("waits for your confirmation (nothing prepared)"));
            const QLocale locale;
            m_cleaning->showPrepareWarning(
                tr("<b>These decisions remove %1 of %2 faces (%3%).</b> Prepare leaves them out of the dataset.")
                    .arg(locale.toString(static_cast<qulonglong>(held->removed)),
                         locale.toString(static_cast<qulonglong>(held->of)))
                    .arg(std::lround(100.0 * static_cast<double>(held->removed) / static_cast<double>(held->of))));
            return;
        }
        try {
            m_session->openPrepared(dir);
        } catch (const std::exception& e) {
            // The folder on disk is the new preparation now: the old one must not stay open under its name.
            m_session->closeDataset();
            m_sourceLabel->setText(tr("The preparation of %1 cannot be opened: %2")
                                       .arg(spec.toHtmlEscaped(), QString::fromUtf8(e.what()).toHtmlEscaped()));
        }
    };
    if (!m_session->jobs()->start(tr("Preparing %1").arg(spec), job, done))
        m_sourceLabel->setText(tr("Cannot prepare now. %1").arg(m_session->jobs()->busyReason()));
}

} // namespace faceatlas::ui
