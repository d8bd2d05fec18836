#include "ReviewPage.h"

#include "analysis/AuditFiles.h"
#include "analysis/AuditJob.h"
#include "analysis/ReviewOrder.h"
#include "data/PreparedDataset.h"
#include "data/ReviewFile.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "PredictionBar.h"
#include "Session.h"
#include "WriteQueue.h"

#include <algorithm>
#include <cmath>
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QSpinBox>

namespace faceatlas::ui {

namespace {

constexpr int kMaxQueue = 2000; // items listed at once; the filter narrows the rest down

QString reasonText(const std::vector<std::string>& reasons)
{
    QStringList out;
    for (const auto& r : reasons)
        out << QString::fromStdString(r);
    return out.join(QStringLiteral(", "));
}

} // namespace

ReviewPage::~ReviewPage() = default;

QString ReviewPage::reviewFile() const
{
    return QDir(m_session->workspace()).filePath(QStringLiteral("review.csv"));
}

int ReviewPage::queueCount() const
{
    return m_queue->count();
}

QString ReviewPage::statusText() const
{
    return m_status->text();
}

QString ReviewPage::detailText() const
{
    return m_detail->text();
}

QString ReviewPage::auditsPrefix() const
{
    return m_session->datasetFingerprint().left(16) + QStringLiteral("-");
}

void ReviewPage::clear(const QString& why)
{
    m_result.reset();
    m_ordered.reset();
    m_orderedFor = nullptr;
    m_ordering = false;
    m_orderError.clear();
    m_suspicion.reset();
    m_shown.clear();
    m_groupsOfFace.clear();
    m_current = -1;
    m_auditDir.clear();
    m_loadingAuditDir.clear();
    m_queue->clear();
    m_copies->clear();
    m_face->clear();
    m_detail->clear();
    m_prediction->set(NAN, NAN, NAN);
    {
        const QSignalBlocker block(m_reason);
        m_reason->clear();
    }
    m_status->setText(why);
    showAuditWarning();
    showOrderNote();
    updateDecisionButtons();
    Q_EMIT suspicionChanged(nullptr);
}

void ReviewPage::findLatestAudit()
{
    if (!m_session->dataset()) {
        clear(tr("Open and prepare a dataset, then audit its labels."));
        return;
    }
    // The newest audit of the open preparation (the workspace index); never another dataset's.
    const QString audit = m_session->newest(OutputKind::Audit);
    if (!audit.isEmpty()) {
        if (audit != m_auditDir && audit != m_loadingAuditDir)
            loadAudit(audit); // not shown yet, nor on its way
        return;
    }
    clear(noAuditNote() + m_session->otherDatasetsNote(OutputKind::Audit));
}

void ReviewPage::audit()
{
    const auto data = m_session->sharedDataset();
    if (!data) {
        m_status->setText(tr("Open and prepare a dataset first."));
        return;
    }
    AuditParams p;
    p.data = data->dir();
    p.folds = m_folds->value();
    p.epochs = m_epochs->value();
    const QString out = QDir(m_session->workspace())
                            .filePath(QStringLiteral("audits/") + auditsPrefix()
                                      + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
    p.out = out.toStdString();
    const auto job = [p](const CancelToken& cancel, const JobRunner::Report& report) {
        return !AuditJob(p)
                    .run(cancel,
                         [&](const AuditProgress& a) { report(QString::fromStdString(a.stage), a.done, a.total); })
                    .cancelled;
    };
    const auto done = [this, out](bool ok, bool cancelled, const QString& error) {
        if (ok && !cancelled)
            loadAudit(out);
        else if (!ok)
            m_status->setText(tr("The audit failed: %1").arg(error));
        else
            m_status->setText(tr("The audit was cancelled; its finished folds are kept, and Audit goes on from them "
                                 "only when started again the same minute (a new audit folder otherwise)."));
    };
    if (!m_session->jobs()->start(tr("Auditing the labels"), job, done))
        m_status->setText(tr("Cannot audit now. %1").arg(m_session->jobs()->busyReason()));
    else // said while it runs, in place of the note that asks for an audit
        m_status->setText(tr("Auditing the labels: %1 age models of %2, each on the faces the others leave out; "
                             "the status bar shows the fold and epoch, and Cancel (or Ctrl+.) stops it.")
                              .arg(m_folds->value())
                              .arg(m_epochs->value() == 1 ? tr("1 epoch") : tr("%1 epochs").arg(m_epochs->value())));
}

void ReviewPage::loadAudit(const QString& dir)
{
    const auto data = m_session->sharedDataset();
    if (!data)
        return;
    struct Loaded {
        std::shared_ptr<const AuditResult> result;
        std::shared_ptr<const std::vector<float>> scores;
        std::shared_ptr<const ReviewFile> review;
    };
    const QString reviewPath = reviewFile();
    m_loadingAuditDir = dir;
    // Only this dataset's decisions (its faces' folders: also those a Prepare excluded): the
    // workspace's file holds those of every dataset opened in it. The filter (a set of every
    // record's path) is built on the lane, not on the GUI thread.
    m_session->lane()->submit<Loaded>(
        QStringLiteral("review-open"), this,
        [dir, data, reviewPath] {
            const ReviewFile::Wanted ours = decisionsAboutFolders(data->records());
            auto result = std::make_shared<AuditResult>(readAudit(dir.toStdString(), &data->records()));
            auto scores = std::make_shared<std::vector<float>>(data->count(), NAN);
            for (const Suspect& s : result->suspects)
                if (s.index < scores->size())
                    (*scores)[s.index] = static_cast<float>(s.score);
            Loaded loaded;
            loaded.result = std::move(result);
            loaded.scores = std::move(scores);
            loaded.review = std::make_shared<const ReviewFile>(ReviewFile::load(reviewPath.toStdString(), ours));
            return loaded;
        },
        [this, dir](Loaded loaded) {
            m_auditDir = dir;
            m_loadingAuditDir.clear();
            m_result = loaded.result;
            m_suspicion = loaded.scores;
            m_decisions.clear();
            for (const ReviewDecision& d : loaded.review->latest())
                m_decisions[d.path] = QString::fromUtf8(reviewActionName(d.action))
                                      + (d.newLabel.empty() ? QString() : " " + QString::fromStdString(d.newLabel));
            // Each face's duplicate groups, to show its copies.
            m_groupsOfFace.assign(m_session->dataset() ? m_session->dataset()->count() : 0, {});
            for (size_t g = 0; g < m_result->groups.size(); ++g)
                for (const auto& member : m_result->groups[g].members)
                    if (member.index < m_groupsOfFace.size())
                        m_groupsOfFace[member.index].push_back(static_cast<int>(g));
            fillReasonFilter();
            m_status->setText(auditHeader(dir));
            showAuditWarning();
            // The audit's order at once; the order chosen follows from the lane (requestOrder).
            m_ordered.reset();
            m_orderedFor = nullptr;
            fillQueue();
            requestOrder();
            Q_EMIT suspicionChanged(m_suspicion);
        },
        [this](const QString& error) {
            clear(tr("The audit cannot be shown: %1").arg(error));
            m_loadingAuditDir.clear();
        });
}

void ReviewPage::fillReasonFilter()
{
    const QSignalBlocker block(m_reason);
    m_reason->clear();
    size_t flagged = 0;
    for (const Suspect& s : m_result->suspects)
        flagged += s.reasons.empty() ? 0 : 1;
    m_reason->addItem(tr("every reason (%1 faces)").arg(flagged), QString());
    for (const auto& [reason, count] : m_result->reasonCounts)
        m_reason->addItem(QStringLiteral("%1 (%2)").arg(QString::fromStdString(reason)).arg(count),
                          QString::fromStdString(reason));
}

void ReviewPage::setReasonFilter(const QString& reason)
{
    const int at = m_reason->findData(reason);
    if (at >= 0)
        m_reason->setCurrentIndex(at);
}

void ReviewPage::fillQueue()
{
    m_queue->clear();
    m_shown.clear();
    if (!m_result)
        return;
    const std::string reason = m_reason->currentData().toString().toStdString();
    // The order made (informative: each face's novelty beside it), else the audit's.
    const bool made = m_ordered && m_orderedFor == m_result.get();
    const std::vector<size_t> sequence = queueSequence();
    for (size_t k = 0; k < sequence.size() && m_shown.size() < kMaxQueue; ++k) {
        const size_t i = sequence[k];
        const Suspect& s = m_result->suspects[i];
        if (s.reasons.empty())
            continue;
        if (!reason.empty() && std::find(s.reasons.begin(), s.reasons.end(), reason) == s.reasons.end())
            continue;
        m_shown.push_back(i);
        // Before the reasons, where a narrow list still shows it.
        const QString novelty = made && k < m_ordered->novelty.size() && std::isfinite(m_ordered->novelty[k])
                                    ? tr(", novelty %1").arg(m_ordered->novelty[k], 0, 'f', 2)
                                    : QString();
        QString text = tr("%1  age %2, predicted %3 ± %4%5 · %6")
                           .arg(std::isfinite(s.score) ? QString::number(s.score, 'f', 1) : QStringLiteral("-"))
                           .arg(s.age ? QString::number(*s.age) : tr("?"))
                           .arg(std::isfinite(s.predicted) ? QString::number(s.predicted, 'f', 0) : tr("?"))
                           .arg(std::isfinite(s.predictedSd) ? QString::number(s.predictedSd, 'f', 0) : tr("?"))
                           .arg(novelty, reasonText(s.reasons));
        const auto decided = m_decisions.find(s.path);
        if (decided != m_decisions.end())
            text = QStringLiteral("[%1]  ").arg(decided->second) + text;
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(m_session->face(s.index))), text);
        item->setData(Qt::UserRole, static_cast<qint64>(s.index));
        item->setData(Qt::UserRole + 1, static_cast<double>(s.predictedSd)); // the spread the orders read
        m_queue->addItem(item);
    }
    if (m_queue->count() > 0)
        m_queue->setCurrentRow(0);
    else
        showCurrent();
}

void ReviewPage::selectItem(int row)
{
    m_queue->setCurrentRow(row);
}

void ReviewPage::showCurrent()
{
    const int row = m_queue->currentRow();
    m_copies->clear();
    if (!m_result || row < 0 || row >= static_cast<int>(m_shown.size())) {
        m_current = -1;
        m_face->clear();
        m_detail->setText(m_result ? tr("No face with that reason.") : QString());
        m_prediction->set(NAN, NAN, NAN);
        updateDecisionButtons();
        return;
    }
    const Suspect& s = m_result->suspects[m_shown[static_cast<size_t>(row)]];
    m_current = s.index;
    updateDecisionButtons();
    m_face->setPixmap(
        QPixmap::fromImage(m_session->face(s.index)).scaled(256, 256, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    QString text =
        tr("<b>Face %1</b><br>%2<br>%3 set<br>Label: age %4, %5<br>")
            .arg(s.index)
            .arg(QString::fromStdString(s.path).toHtmlEscaped())
            .arg(s.split == "val" ? tr("validation") : tr("training"))
            .arg(s.age ? QString::number(*s.age) : tr("unknown"))
            .arg(s.gender == Gender::Unknown ? tr("gender unknown") : QString::fromUtf8(genderName(s.gender)));
    if (std::isfinite(s.predicted))
        text += tr("Out of fold: %1 ± %2 years<br>").arg(s.predicted, 0, 'f', 1).arg(s.predictedSd, 0, 'f', 1);
    if (std::isfinite(s.score))
        text += tr("Suspicion score: %1<br>").arg(s.score, 0, 'f', 2);
    text += tr("Reasons: <b>%1</b>").arg(reasonText(s.reasons).toHtmlEscaped());
    const auto decided = m_decisions.find(s.path);
    if (decided != m_decisions.end())
        text += tr("<br>Decided: %1").arg(decided->second.toHtmlEscaped());
    m_detail->setText(text);
    m_prediction->set(s.age ? *s.age : NAN, s.predicted, s.predictedSd);
    if (s.age)
        m_age->setValue(std::clamp(*s.age, 0, 116));
    if (static_cast<size_t>(s.index) < m_groupsOfFace.size())
        for (const int g : m_groupsOfFace[s.index])
            for (const auto& member : m_result->groups[static_cast<size_t>(g)].members) {
                const Record* r = m_session->dataset() && member.index < m_session->dataset()->count()
                                      ? &m_session->dataset()->records()[member.index]
                                      : nullptr;
                auto* item = new QListWidgetItem(
                    QIcon(QPixmap::fromImage(m_session->face(member.index))),
                    tr("%1%2 %3\n%4")
                        .arg(member.index == s.index ? tr("this: ") : QString())
                        .arg(r && r->age ? QString::number(*r->age) : tr("?"))
                        .arg(r ? QString::fromUtf8(genderName(r->gender)) : QString())
                        .arg(member.exact ? tr("exact") : tr("near, %1 bits").arg(member.distance)));
                item->setData(Qt::UserRole, static_cast<qint64>(member.index));
                m_copies->addItem(item);
            }
}

void ReviewPage::appendDecision(int action, qint64 row, const QString& newLabel, const QString& note)
{
    const PreparedDataset* data = m_session->dataset();
    if (!data || row < 0 || static_cast<size_t>(row) >= data->count())
        return;
    const Record& r = data->records()[static_cast<size_t>(row)];
    ReviewDecision d;
    d.path = recordKey(r); // one face of a group photo is named as such
    d.action = static_cast<ReviewAction>(action);
    d.oldLabel = d.action == ReviewAction::Gender ? genderName(r.gender) : (r.age ? std::to_string(*r.age) : "");
    d.newLabel = newLabel.toStdString();
    d.reason = note.toStdString();
    // Through the write queue: in order, never dropped (a dataset switch, a close), one synced line
    // each. The queue shows it as decided once it is written.
    const QString mark = QString::fromUtf8(reviewActionName(d.action)) + (newLabel.isEmpty() ? "" : " " + newLabel);
    const std::string file = reviewFile().toStdString();
    WriteQueue* writer = m_session->writer();
    ++m_writing;
    showWriting();
    writer->submit<std::string>(
        this,
        [writer, file, d] {
            writer->reviewFile(file).append(d);
            return d.path;
        },
        [this, mark](std::string path) {
            --m_writing;
            ++m_written;
            m_decisions[path] = mark;
            const std::unordered_set<std::string> decidedPath{path};
            showDecided(&decidedPath);
            showWriting();
            showDecisionCount();
            refreshDecisions(); // the Decided view lists it too
            Q_EMIT decided();
        },
        [this](const QString& error) {
            --m_writing;
            showWriting();
            m_status->setText(tr("The decision could not be saved: %1").arg(error));
        });
}

void ReviewPage::decide(int action, const QString& newLabel, const QString& note)
{
    if (m_current < 0 || !m_result)
        return;
    const Suspect* s = nullptr;
    for (const Suspect& candidate : m_result->suspects)
        if (candidate.index == m_current) {
            s = &candidate;
            break;
        }
    appendDecision(action, m_current, newLabel, note.isEmpty() && s ? reasonText(s->reasons) : note);
    // The queue moves on; the decision is marked once it is written (showDecided).
    const int row = m_queue->currentRow();
    if (row + 1 < m_queue->count())
        m_queue->setCurrentRow(row + 1);
    else
        showCurrent();
    // Back to the queue (after A, an age and Enter too), so the next K or X decides the next face.
    if (m_age->hasFocus() || isAncestorOf(QApplication::focusWidget()))
        m_queue->setFocus(Qt::OtherFocusReason);
}

void ReviewPage::keep()
{
    decide(static_cast<int>(ReviewAction::Keep), {});
}

void ReviewPage::exclude()
{
    decide(static_cast<int>(ReviewAction::Exclude), {});
}

void ReviewPage::correctAge(int age)
{
    decide(static_cast<int>(ReviewAction::Age), QString::number(age));
}

void ReviewPage::correctGender(bool male)
{
    decide(static_cast<int>(ReviewAction::Gender), male ? QStringLiteral("M") : QStringLiteral("F"));
}

void ReviewPage::keepOnlyThisCopy()
{
    if (m_current < 0 || static_cast<size_t>(m_current) >= m_groupsOfFace.size()
        || m_groupsOfFace[static_cast<size_t>(m_current)].empty()) {
        m_status->setText(tr("This face has no copies."));
        return;
    }
    for (const int g : m_groupsOfFace[static_cast<size_t>(m_current)])
        for (const auto& member : m_result->groups[static_cast<size_t>(g)].members)
            if (static_cast<qint64>(member.index) != m_current)
                appendDecision(static_cast<int>(ReviewAction::Exclude), member.index, {},
                               tr("a copy of face %1, which is kept").arg(m_current));
    decide(static_cast<int>(ReviewAction::Keep), {}, tr("the kept copy of its duplicate group"));
}

} // namespace faceatlas::ui
