// The Dataset page saying what is wrong with a source: a one-line summary of its problems by kind,
// the first of them listed, the header's count of what was found, and a step table that shows
// every step in full.
#include "DatasetPage.h"

#include "CleaningPanel.h"
#include "data/Cleaning.h"
#include "data/ImageIO.h"
#include "data/PrepareSteps.h"
#include "data/Readers.h"
#include "data/Record.h"
#include "data/SourceKinds.h"
#include "JobRunner.h"
#include "Session.h"

#include <algorithm>
#include <functional>
#include <map>
#include <QCheckBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFontMetrics>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QResizeEvent>
#include <QScrollBar>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>

namespace faceatlas::ui {

namespace {

/** The kind of a problem: its text before any detail ("cannot open: Permission denied" -> "cannot open"). */
QString problemKind(const std::string& problem)
{
    QString kind = QString::fromStdString(problem);
    for (const QString& cut : {QStringLiteral(" ("), QStringLiteral(":")}) {
        const auto at = kind.indexOf(cut);
        if (at > 0)
            kind.truncate(at);
    }
    return kind;
}

/**
 * Whether a step reads what FaceAtlas's detector finds (PrepareSteps' cleanRecords): in photos all
 * four face steps; in IMDB-WIKI's crops, which have their own face scores and boxes, only the turn.
 */
bool readsDetection(const std::string& step, bool ownScores)
{
    if (ownScores)
        return step == "face turned too far";
    return step == "more than one face" || step == "face score below threshold" || step == "face turned too far"
           || step == "face smaller than minimum";
}

QString count(size_t n)
{
    return QLocale().toString(static_cast<qulonglong>(n));
}

/** Calls `onWidth` (once the layout has settled) whenever the watched widget's width changes. */
class WidthWatcher : public QObject {
public:
    WidthWatcher(QWidget* watched, std::function<void()> onWidth)
        : QObject(watched)
        , m_onWidth(std::move(onWidth))
    {
        watched->installEventFilter(this);
    }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() == QEvent::Resize) {
            const auto* resize = static_cast<QResizeEvent*>(event);
            if (resize->size().width() != resize->oldSize().width())
                QTimer::singleShot(0, this, m_onWidth); // after the header has stretched its sections
        }
        return QObject::eventFilter(watched, event);
    }

private:
    std::function<void()> m_onWidth;
};

} // namespace

void DatasetPage::watchStepTableWidth()
{
    new WidthWatcher(m_steps, [this] { fitStepTable(); });
}

void DatasetPage::showProblems(const QStringList& lines, size_t more, const QString& summary)
{
    m_problems->clear();
    const auto shown = std::min<qsizetype>(lines.size(), kMaxProblemLines);
    m_problems->addItems(lines.mid(0, shown));
    more += static_cast<size_t>(lines.size() - shown);
    if (more > 0)
        m_problems->addItem(tr("... and %1 more").arg(count(more)));
    m_problems->setVisible(m_problems->count() > 0);
    m_problemSummary->setText(summary);
    m_problemSummary->setVisible(!summary.isEmpty());
}

QStringList DatasetPage::problems() const
{
    QStringList lines;
    if (!m_problemSummary->text().isEmpty())
        lines << m_problemSummary->text();
    for (int i = 0; i < m_problems->count(); ++i)
        lines << m_problems->item(i)->text();
    return lines;
}

QString DatasetPage::problemSummary() const
{
    return m_problemSummary->text();
}

void DatasetPage::showCleaningProblems(const std::vector<SkippedFile>& skipped, size_t recordsRead)
{
    QStringList lines;
    const size_t malformed = m_loaded ? m_loaded->malformed : 0;
    if (m_loaded)
        for (const auto& example : m_loaded->malformedExamples)
            lines << tr("Not read: %1").arg(QString::fromStdString(example));
    const size_t moreMalformed =
        m_loaded && malformed > m_loaded->malformedExamples.size() ? malformed - m_loaded->malformedExamples.size() : 0;
    if (moreMalformed)
        lines << tr("... and %1 more entries not read (faceatlas-cli inspect lists them)").arg(count(moreMalformed));
    // Grouped by kind, the most frequent first: one line says what went wrong with how many.
    std::map<QString, size_t> kinds;
    for (const auto& f : skipped)
        ++kinds[problemKind(f.problem)];
    std::vector<std::pair<QString, size_t>> byCount(kinds.begin(), kinds.end());
    std::stable_sort(byCount.begin(), byCount.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    QStringList parts;
    if (malformed)
        parts << tr("%1 entries not read").arg(count(malformed));
    for (const auto& [kind, n] : byCount)
        parts << QStringLiteral("%1 %2").arg(count(n), kind);
    QString summary;
    if (!parts.isEmpty())
        summary = tr("%1 problems: %2.").arg(count(malformed + skipped.size()), parts.join(QStringLiteral(", ")));
    const size_t missing = kinds.count(QStringLiteral("missing")) ? kinds.at(QStringLiteral("missing")) : 0;
    if (recordsRead > 0 && missing == recordsRead) {
        if (m_loaded && m_loaded->kind == SourceKind::ImdbWiki) {
            // The paths in the .mat are relative to the folder its tar unpacks to (wiki_crop/ or imdb_crop/).
            const QFileInfo mat(QString::fromStdString(m_loaded->location));
            summary += QLatin1Char(' ')
                       + tr("None of the images were found next to %1: keep it inside %2_crop/, beside the "
                            "folders 00 to 99 that %2_crop.tar unpacks.")
                             .arg(mat.fileName(), mat.completeBaseName());
        } else {
            summary += QLatin1Char(' ') + tr("None of the images were found where the source says they are.");
        }
    }
    // 62,328 lines help nobody: the first ones, then how many more.
    size_t listed = 0;
    for (; listed < skipped.size() && lines.size() < kMaxProblemLines; ++listed)
        lines << QStringLiteral("%1: %2").arg(QString::fromStdString(skipped[listed].path),
                                              QString::fromStdString(skipped[listed].problem));
    showProblems(lines, skipped.size() - listed, summary);
}

QString DatasetPage::sourceSummary() const
{
    if (!m_loaded)
        return {};
    const size_t n = m_loaded->records.size();
    const bool folder = sourceKindInfo(m_loaded->kind).pathIsFolder;
    if (n == 0)
        return folder
                   ? (m_imagesBelow.isEmpty()
                          ? tr("no image files in it (FaceAtlas reads .jpg, .jpeg, .png, .bmp, .webp, .tif and .tiff)")
                          : tr("no image files in it; %1").arg(m_imagesBelow.toHtmlEscaped()))
                   : tr("no records");
    size_t readable = 0, missing = 0;
    if (m_probes)
        for (const auto& probe : *m_probes) {
            readable += probe.ok;
            missing += probe.problem == "missing";
        }
    if (readable == n)
        return tr("%1 records").arg(count(n));
    if (readable == 0 && folder)
        return tr("%1 files, none of them an image FaceAtlas can read").arg(count(n));
    if (readable == 0)
        return missing == n ? tr("%1 records, none of their images found").arg(count(n))
                            : tr("%1 records, none of their images readable").arg(count(n));
    return tr("%1 records, %2 of them with a readable image").arg(count(n), count(readable));
}

void DatasetPage::showPreviewSteps(const StepPreview& preview)
{
    // The counts are Prepare's (previewSteps) but for the pictures the detector has not looked at
    // yet: those pass its steps uncounted, so such a step removes at least what it shows, and what
    // remains after it is at most what it shows.
    const bool partial = !preview.exact();
    const bool nothingLooked = partial && preview.notLooked == preview.needDetection;
    const bool ownScores = m_loaded && m_loaded->kind == SourceKind::ImdbWiki;
    bool uncertain = false;
    m_steps->setRowCount(static_cast<int>(preview.steps.size()));
    for (int i = 0; i < static_cast<int>(preview.steps.size()); ++i) {
        const auto& s = preview.steps[static_cast<size_t>(i)];
        QString name = QString::fromStdString(s.name);
        QString removed = QString::number(s.removed);
        if (!s.enabled) {
            name += tr(" (off)");
        } else if (partial && readsDetection(s.name, ownScores)) {
            removed = nothingLooked ? QStringLiteral("?") : tr("at least %1").arg(s.removed);
            uncertain = true;
        } else if (s.notApplicable) {
            // A quality step counts from the quality columns of the preparation Prepare replaces: a
            // face it does not hold is measured only by Prepare.
            const bool quality = std::any_of(qualitySteps().begin(), qualitySteps().end(),
                                             [&](const QualityStep& q) { return s.name == q.name; });
            name += quality ? tr(" (%1 not measured yet: Prepare measures them)").arg(s.notApplicable)
                            : tr(" (%1 lack the field, kept)").arg(s.notApplicable);
        }
        auto* item = new QTableWidgetItem(name);
        // The score step also takes the pictures in which no face was found at all (their score is
        // minus infinity), which is why it removes faces at a threshold of 0.
        item->setToolTip(s.name == "face score below threshold"
                             ? name
                                   + tr(": faces the detector scored below the minimum, and pictures in which it "
                                        "found no face (removed at any threshold)")
                             : name);
        m_steps->setItem(i, 0, item);
        m_steps->setItem(i, 1, new QTableWidgetItem(removed));
        m_steps->setItem(i, 2,
                         new QTableWidgetItem(uncertain && s.remaining > 0 ? tr("at most %1").arg(s.remaining)
                                                                           : QString::number(s.remaining)));
    }
    fitStepTable();
    if (nothingLooked) {
        m_previewNote->setText(tr("None of the %1 photos looked at yet: the detector's steps (\"?\") are counted once "
                                  "their faces are found. Prepare finds them, or:")
                                   .arg(count(preview.needDetection)));
    } else if (partial) {
        const size_t looked = preview.needDetection - preview.notLooked;
        m_previewNote->setText(tr("%1 of %2 photos not yet looked at: counts for the detector steps are for the %3 "
                                  "looked at. Prepare looks at them, or:")
                                   .arg(count(preview.notLooked), count(preview.needDetection), count(looked)));
    } else {
        m_previewNote->clear();
    }
    m_previewNote->setVisible(partial);
    m_detectNow->setVisible(partial);
}

PrepareParams DatasetPage::previewParams() const
{
    // What startPrepare() takes, the output folder included (the preview reads its quality columns).
    PrepareParams params;
    params.source = m_session->source().toStdString();
    m_cleaning->writeOptions(params); // the image size, the cleaning and quality steps, every face
    // The preparation Prepare will replace: the preview counts the quality steps from its columns.
    params.outDir = m_session->preparedDirFor(m_session->source(), params.size).toStdString();
    const QString review = QDir(m_session->workspace()).filePath(QStringLiteral("review.csv"));
    if (m_cleaning->appliesReview() && QFileInfo::exists(review))
        params.review = review.toStdString();
    return params;
}

void DatasetPage::detectFacesNow()
{
    if (!m_loaded || !m_probes)
        return;
    const PrepareParams params = previewParams();
    const QString spec = m_session->source();
    // The detector on the job worker, with progress and Cancel: it fills the findings cache Prepare
    // reads (what it found before a Cancel is kept), so Prepare finds nothing again.
    const auto job = [loaded = m_loaded, probes = m_probes, params](const CancelToken& cancel,
                                                                    const JobRunner::Report& report) {
        const StepPreview preview =
            previewSteps(*loaded, *probes, params, FindFaces::Detect, cancel,
                         [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); });
        return !preview.cancelled;
    };
    const auto done = [this, spec](bool ok, bool, const QString& error) {
        m_detectNow->setEnabled(true);
        if (spec != m_session->source())
            return;
        if (!ok) {
            m_previewNote->setText(tr("Finding the faces failed: %1").arg(error.toHtmlEscaped()));
            m_previewNote->show();
            return;
        }
        updateCounts(); // from the cache, now warm (or warmer, after a Cancel)
    };
    if (m_session->jobs()->start(tr("Finding faces in %1").arg(spec), job, done))
        m_detectNow->setEnabled(false); // until the job ends: its progress and Cancel are in the status bar
    else
        m_previewNote->setText(m_previewNote->text() + QLatin1Char(' ') + m_session->jobs()->busyReason());
}

void DatasetPage::fitStepTable()
{
    // The numbers' columns as wide as their numbers and headers; the names wrap in what is left.
    m_steps->resizeColumnToContents(1);
    m_steps->resizeColumnToContents(2);
    // Rows measured here rather than by resizeRowsToContents, whose estimate is a line short when a
    // name wraps at the column's very edge (and the name is then elided).
    const QFontMetrics metrics(m_steps->font());
    const int width = std::max(40, m_steps->columnWidth(0) - 12);
    int height = m_steps->horizontalHeader()->height() + 2 * m_steps->frameWidth();
    for (int row = 0; row < m_steps->rowCount(); ++row) {
        const QString name = m_steps->item(row, 0) ? m_steps->item(row, 0)->text() : QString();
        const int needed = metrics.boundingRect(QRect(0, 0, width, 100000), Qt::TextWordWrap, name).height() + 6;
        m_steps->setRowHeight(row, std::max(needed, m_steps->verticalHeader()->minimumSectionSize()));
        height += m_steps->rowHeight(row);
    }
    m_steps->setFixedHeight(height);
}

} // namespace faceatlas::ui
