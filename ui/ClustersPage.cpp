// The Clusters page: its construction, the selected cluster's name and summary, exports and the
// accessors tests use (ClustersPageLayout.cpp builds the panels, ClustersPageResults.cpp shows a
// clustering, ClustersPageJobs.cpp encodes and clusters).
#include "ClustersPage.h"

#include "data/ClusterSummaries.h"
#include "NextStep.h"
#include "Session.h"
#include "util/FileUtil.h"
#include "WriteQueue.h"

#include <cmath>
#include <QChartView>
#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {
QString percent(std::int64_t n, std::int64_t of)
{
    return of > 0 ? QStringLiteral("%1%").arg(100.0 * static_cast<double>(n) / static_cast<double>(of), 0, 'f', 0)
                  : QStringLiteral("-");
}

/** A cluster's figures, each beside the whole clustering's, and its automatic label. */
QString summaryHtml(const ClusterSummary& c, const GroupSummary& all)
{
    const GroupSummary& g = c.figures;
    QStringList parts;
    parts << QObject::tr("<b>%1 faces</b> (%2 of those clustered)").arg(g.size).arg(percent(g.size, all.size));
    if (g.aged > 0)
        parts << QObject::tr("age: median %1, IQR %2–%3 (all: %4)")
                     .arg(g.ageMedian, 0, 'f', 0)
                     .arg(g.ageQ1, 0, 'f', 0)
                     .arg(g.ageQ3, 0, 'f', 0)
                     .arg(all.ageMedian, 0, 'f', 0);
    if (g.female + g.male > 0)
        parts << QObject::tr("%1 female of %2 with a gender (all: %3)")
                     .arg(percent(g.female, g.female + g.male))
                     .arg(g.female + g.male)
                     .arg(percent(all.female, all.female + all.male));
    if (!g.races.empty()) {
        QStringList races;
        for (const auto& [race, n] : g.races)
            races << QStringLiteral("%1 %2").arg(QString::fromStdString(race), percent(n, g.raced()));
        parts << QObject::tr("race: %1").arg(races.join(", "));
    }
    if (g.flagged >= 0)
        parts << QObject::tr("%1 flagged by the label audit (all: %2)")
                     .arg(percent(g.flagged, g.size), percent(all.flagged, all.size));
    if (g.framed)
        parts << QObject::tr("framing: %1 aligned, %2 no face found, %3 from group photos")
                     .arg(g.aligned)
                     .arg(g.noFaceFound)
                     .arg(g.severalFaces);
    if (std::isfinite(g.qualityMedian))
        parts << QObject::tr("quality: median %1 (all: %2)")
                     .arg(g.qualityMedian, 0, 'g', 3)
                     .arg(all.qualityMedian, 0, 'g', 3);
    parts << QObject::tr("automatic label: <i>%1</i>").arg(QString::fromStdString(c.label).toHtmlEscaped());
    return parts.join(QStringLiteral("; "));
}

} // namespace

ClustersPage::ClustersPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    QLayout* controls = buildControls();
    m_summary = new QLabel(clusteringNextStep(*m_session));
    m_summary->setWordWrap(true);
    auto* body = new QHBoxLayout;
    body->addLayout(buildClusterPanel());
    body->addLayout(buildPicturesPanel(), 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_summary);
    layout->addLayout(body, 1);
    connectControls();
    connectSession(session);
    if (!m_session->clustersDir().isEmpty())
        loadResults();
}

void ClustersPage::exportAssignmentsAs()
{
    const QString from = QDir(m_session->clustersDir()).filePath("assignments.csv");
    if (!QFileInfo::exists(from))
        return;
    const QString to =
        QFileDialog::getSaveFileName(this, tr("Export assignments"), "assignments.csv", tr("CSV (*.csv)"));
    if (to.isEmpty())
        return;
    exportAssignments(to);
}

void ClustersPage::exportContactSheetAs()
{
    const QString from =
        QDir(m_session->clustersDir()).filePath(QStringLiteral("galleries/%1.png").arg(m_list->currentRow()));
    if (m_list->currentRow() < 0 || !QFileInfo::exists(from))
        return;
    const QString to =
        QFileDialog::getSaveFileName(this, tr("Export contact sheet"),
                                     QStringLiteral("cluster-%1.png").arg(m_list->currentRow()), tr("PNG (*.png)"));
    if (to.isEmpty())
        return;
    try {
        copyFileAtomic(from.toStdString(), to.toStdString());
        m_summary->setText(
            tr("Saved the contact sheet of cluster %1 to %2.").arg(m_list->currentRow()).arg(to.toHtmlEscaped()));
    } catch (const std::exception& e) {
        m_summary->setText(tr("Could not write %1: %2").arg(to.toHtmlEscaped(), QString::fromUtf8(e.what())));
    }
}

void ClustersPage::exportAssignments(const QString& to)
{
    const QString from = QDir(m_session->clustersDir()).filePath("assignments.csv");
    // Its JSON companion beside it (x.csv -> x.json): the clusters' names, labels and summaries as they are now.
    const QString companion = (to.endsWith(".csv", Qt::CaseInsensitive) ? to.chopped(4) : to) + ".json";
    const auto names = m_session->clusterSummaries();
    // Through the write queue: in order after the names being saved, never dropped. Each file is
    // written beside and renamed: a failed copy never loses the file it would replace.
    m_session->writer()->submit<bool>(
        this,
        [from = from.toStdString(), to = to.toStdString(), companion = companion.toStdString(), names] {
            copyFileAtomic(from, to);
            if (names)
                writeFileAtomic(companion, clusterNamesJson(*names));
            return names != nullptr;
        },
        [this, to, companion](bool withNames) {
            m_summary->setText(withNames
                                   ? tr("Saved the assignments to %1 and the clusters' names and summaries to %2.")
                                         .arg(to.toHtmlEscaped(), companion.toHtmlEscaped())
                                   : tr("Saved the assignments to %1.").arg(to.toHtmlEscaped()));
        },
        [this, to](const QString& error) {
            m_summary->setText(tr("Could not write %1: %2").arg(to.toHtmlEscaped(), error));
        });
}

void ClustersPage::nameSelectedCluster(const QString& name)
{
    const int row = m_list->currentRow();
    if (row < 0)
        return;
    const QString why = m_session->renameCluster(row, name);
    m_nameStatus->setText(why.toHtmlEscaped());
    m_nameStatus->setVisible(!why.isEmpty());
}

QString ClustersPage::clusterText(int row) const
{
    const QListWidgetItem* item = m_list->item(row);
    return item ? item->text() : QString();
}

QString ClustersPage::clusterSummaryText() const
{
    return m_clusterSummary->text();
}

void ClustersPage::showNames()
{
    const auto names = m_session->clusterSummaries();
    for (int row = 0; row < m_list->count(); ++row) {
        QListWidgetItem* item = m_list->item(row);
        const QString figures = item->data(Qt::UserRole).toString();
        const QString shown = names && static_cast<size_t>(row) < names->clusters.size()
                                  ? QString::fromStdString(names->clusters[static_cast<size_t>(row)].shown())
                                  : QString();
        item->setText(shown.isEmpty() ? QStringLiteral("#%1  %2").arg(row).arg(figures)
                                      : QStringLiteral("#%1  %2\n       %3").arg(row).arg(shown, figures));
    }
    showClusterSummary(m_list->currentRow());
}

void ClustersPage::showClusterSummary(int row)
{
    const auto names = m_session->clusterSummaries();
    const bool known = names && row >= 0 && static_cast<size_t>(row) < names->clusters.size();
    {
        const QSignalBlocker block(m_name);
        m_name->setText(known ? QString::fromStdString(names->clusters[static_cast<size_t>(row)].name) : QString());
        m_name->setPlaceholderText(
            known ? tr("automatic: %1").arg(QString::fromStdString(names->clusters[static_cast<size_t>(row)].label))
                  : QString());
    }
    m_name->setEnabled(known);
    m_clusterSummary->setText(known ? summaryHtml(names->clusters[static_cast<size_t>(row)], names->all) : QString());
    // A names file that cannot be read, or summaries computed on opening: said under the summary.
    const QString note = m_session->clusterNamesNote();
    if (m_nameStatus->text().isEmpty() || !note.isEmpty()) {
        m_nameStatus->setText(note.toHtmlEscaped());
        m_nameStatus->setVisible(!note.isEmpty());
    }
}

QChartView* ClustersPage::sweepView() const
{
    return m_sweepView;
}

void ClustersPage::sweep(int kMin, int kMax)
{
    m_k->setValue(kMin);
    m_kMax->setValue(kMax);
    m_sweep->setChecked(true);
    cluster();
}

void ClustersPage::setK(int k)
{
    m_k->setValue(k);
    m_sweep->setChecked(false);
}

int ClustersPage::memberCount() const
{
    return m_members->count();
}

int ClustersPage::clusterCount() const
{
    return m_list->count();
}

void ClustersPage::selectCluster(int row)
{
    m_list->setCurrentRow(row);
}

void ClustersPage::setInterpolation(int from, int to)
{
    const QSignalBlocker block(m_from);
    m_from->setValue(from);
    m_to->setValue(to); // redraws
}

QPixmap ClustersPage::interpolationPixmap() const
{
    return m_interpolation->pixmap();
}

QString ClustersPage::summaryText() const
{
    return m_summary->text();
}

} // namespace faceatlas::ui
