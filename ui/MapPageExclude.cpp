// The Map page's Exclude: the selected faces' exclusions through the write queue, after a question
// that names the decisions they replace (MapPage.cpp holds the rest of the page).
#include "data/PreparedDataset.h"
#include "data/ReviewFile.h"
#include "MapPage.h"
#include "PointMapView.h"
#include "Session.h"
#include "WriteQueue.h"

#include <QDir>
#include <QLabel>
#include <QMessageBox>
#include <unordered_set>

namespace faceatlas::ui {

namespace {

/** What the review file already says about a set of faces (their latest decisions). */
struct EarlierDecisions {
    size_t kept = 0, relabelled = 0, excluded = 0;
    size_t others() const { return kept + relabelled; }
};

/**
 * The review file's decisions about these faces only, read afresh (the write queue's own copy keeps
 * no rows; appends reach the disk before the next write runs).
 */
ReviewFile decisionsAbout(const QString& file, const PreparedDataset& data, const std::vector<qint64>& rows)
{
    std::unordered_set<std::string> keys;
    for (const qint64 row : rows)
        keys.insert(recordKey(data.records()[static_cast<size_t>(row)]));
    return ReviewFile::load(file.toStdString(), [&keys](const std::string& path) { return keys.count(path) > 0; });
}

EarlierDecisions earlierDecisions(const ReviewFile& review, const PreparedDataset& data,
                                  const std::vector<qint64>& rows)
{
    EarlierDecisions e;
    for (const qint64 row : rows)
        if (const ReviewDecision* d = review.latestFor(recordKey(data.records()[static_cast<size_t>(row)])))
            (d->action == ReviewAction::Exclude ? e.excluded
             : d->action == ReviewAction::Keep  ? e.kept
                                                : e.relabelled)++;
    return e;
}

} // namespace

void MapPage::requestExclusion()
{
    const auto data = m_session->sharedDataset();
    const std::vector<qint64> rows = m_view->selectedRows();
    if (!data || rows.empty()) {
        m_status->setText(tr("Select faces first: draw around them with the lasso."));
        return;
    }
    // The review file belongs to the write queue: what it already says about these faces is read
    // there, after every write before it, and the question asked with the answer.
    const QString file = QDir(m_session->workspace()).filePath(QStringLiteral("review.csv"));
    WriteQueue* writer = m_session->writer();
    writer->submit<EarlierDecisions>(
        this, [data, rows, file] { return earlierDecisions(decisionsAbout(file, *data, rows), *data, rows); },
        [this, data, rows](EarlierDecisions e) {
            if (data != m_session->sharedDataset())
                return; // another dataset opened meanwhile: the selection was of the old one
            QString text = tr("Add an exclude decision for each of the %1 selected faces to the review file? "
                              "The next Prepare leaves them out; the Review page's Decided view lists every "
                              "decision, with Undo.")
                               .arg(rows.size());
            if (e.others() > 0)
                text += tr("\n\n%1 of them already have another decision (%2 kept, %3 relabelled): the exclusion "
                           "replaces it.")
                            .arg(e.others())
                            .arg(e.kept)
                            .arg(e.relabelled);
            if (e.excluded > 0)
                text += tr("\n\n%1 are excluded already and are left as they are.").arg(e.excluded);
            if (QMessageBox::question(this, tr("Exclude faces"), text) == QMessageBox::Yes)
                excludeRows(rows);
        },
        [this](const QString& error) { m_status->setText(tr("Cannot read the review file: %1").arg(error)); });
}

void MapPage::excludeSelection()
{
    excludeRows(m_view->selectedRows());
}

void MapPage::excludeRows(const std::vector<qint64>& rows)
{
    const auto data = m_session->sharedDataset();
    if (!data || rows.empty())
        return;
    const QString file = QDir(m_session->workspace()).filePath(QStringLiteral("review.csv"));
    // Each confirmed batch goes through the write queue whole: in order, never replaced by the next
    // batch, never dropped by a dataset switch or a close. A face excluded already gets no second
    // row; one with another decision gets the exclusion after it, and the status says how many.
    ++m_excludeBatchesWriting;
    m_status->setText(tr("Writing %1 exclude decisions to %2 ...").arg(rows.size()).arg(file));
    WriteQueue* writer = m_session->writer();
    writer->submit<std::pair<size_t, EarlierDecisions>>(
        this,
        [writer, data, rows, file] {
            ReviewFile& review = writer->reviewFile(file.toStdString());
            const ReviewFile known = decisionsAbout(file, *data, rows);
            const EarlierDecisions earlier = earlierDecisions(known, *data, rows);
            size_t added = 0;
            for (const qint64 row : rows) {
                ReviewDecision d;
                d.path = recordKey(data->records()[static_cast<size_t>(row)]);
                const ReviewDecision* last = known.latestFor(d.path);
                if (last && last->action == ReviewAction::Exclude)
                    continue;
                d.action = ReviewAction::Exclude;
                d.reason = "excluded on the map";
                review.append(std::move(d));
                ++added;
            }
            return std::make_pair(added, earlier);
        },
        [this, file](std::pair<size_t, EarlierDecisions> result) {
            const size_t n = result.first;
            const EarlierDecisions& earlier = result.second;
            --m_excludeBatchesWriting;
            ++m_excludeBatches;
            m_excludedFaces += n;
            QString text = tr("%1 exclude decisions added to %2 (batch %3 of this session; %4 faces excluded in "
                              "%3 batches); the next Prepare leaves those faces out.")
                               .arg(n)
                               .arg(file)
                               .arg(m_excludeBatches)
                               .arg(m_excludedFaces);
            if (earlier.others() > 0)
                text += tr(" %1 of them replaced an earlier decision (%2 kept, %3 relabelled).")
                            .arg(earlier.others())
                            .arg(earlier.kept)
                            .arg(earlier.relabelled);
            if (earlier.excluded > 0)
                text += tr(" %1 selected faces were excluded already.").arg(earlier.excluded);
            if (m_excludeBatchesWriting > 0)
                text += tr(" %1 more batches are being written.").arg(m_excludeBatchesWriting);
            m_status->setText(text);
            Q_EMIT decided();
        },
        [this](const QString& error) {
            --m_excludeBatchesWriting;
            m_status->setText(tr("Cannot write the review file: %1").arg(error));
        });
}

} // namespace faceatlas::ui
