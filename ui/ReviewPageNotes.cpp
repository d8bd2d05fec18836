// What the Review page says: the audit's header and warning, the note before an audit, the
// decisions being written; and the settings it keeps (folds and epochs).
#include "ReviewPage.h"

#include "analysis/AuditJob.h"
#include "Session.h"

#include <algorithm>
#include <cmath>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>

namespace faceatlas::ui {

QString ReviewPage::auditHeader(const QString& dir) const
{
    size_t conflicts = 0, leaks = 0;
    for (const AuditGroup& g : m_result->groups) {
        conflicts += (g.ageConflict || g.genderConflict) ? 1 : 0;
        leaks += g.leak ? 1 : 0;
    }
    // The MAE alone sounds sure of itself: beside it, what always guessing the median age scores.
    const QString baseline =
        std::isfinite(m_result->baselineMae)
            ? tr(" (baseline, always the training folds' median age: %1)").arg(m_result->baselineMae, 0, 'f', 2)
            : tr(" (no baseline recorded: an older audit)");
    QString text = tr("Audit %1: out-of-fold MAE %2 years%3; %4 duplicate groups, %5 with conflicting labels, "
                      "%6 spanning training and validation. Decisions go to %7 (%8 so far); Prepare applies them.")
                       .arg(QFileInfo(dir).fileName())
                       .arg(m_result->mae, 0, 'f', 2)
                       .arg(baseline)
                       .arg(m_result->groups.size())
                       .arg(conflicts)
                       .arg(leaks)
                       .arg(reviewFile())
                       .arg(m_decisions.size());
    if (!m_result->warning.empty())
        text = tr("<b>Warning: %1.</b><br>").arg(QString::fromStdString(m_result->warning).toHtmlEscaped())
               + text.toHtmlEscaped();
    return text;
}

QString ReviewPage::noAuditNote() const
{
    // Measured: 5 folds x 10 epochs took about 15 minutes for 5,000 faces at 64 px on 2 cores; the cost
    // grows with the epochs and with the faces each fold trains on, (folds - 1) / folds of them, per fold.
    const int folds = m_folds->value(), epochs = m_epochs->value();
    const int minutes = std::max(1, static_cast<int>(std::lround(15.0 * epochs * (folds - 1) / 40.0)));
    return tr("No audit of this preparation yet: press Audit the labels (it trains %1 age models of %2; "
              "minutes on the demo, about %3 for 5,000 faces at 64 px on 2 cores).")
        .arg(folds)
        .arg(epochs == 1 ? tr("1 epoch") : tr("%1 epochs").arg(epochs))
        .arg(minutes == 1 ? tr("a minute") : tr("%1 minutes").arg(minutes));
}

void ReviewPage::showAuditWarning()
{
    const bool untrusted = m_result && !m_result->warning.empty();
    m_queueWarning->setVisible(untrusted);
    m_queueWarning->setText(
        untrusted ? tr("These suspects are not to be trusted: the age models did no better than guessing the median "
                       "age (MAE %1 against %2), so a high score says more about the models than about the labels. "
                       "Audit again with more epochs (or more faces) before deciding on age_outlier faces.")
                        .arg(m_result->mae, 0, 'f', 2)
                        .arg(m_result->baselineMae, 0, 'f', 2)
                  : QString());
}

void ReviewPage::updateDecisionButtons()
{
    const bool face = m_result && m_current >= 0;
    for (QPushButton* button : m_decisionButtons)
        button->setEnabled(face);
    m_age->setEnabled(face);
}

void ReviewPage::rememberAuditSettings()
{
    QSettings settings;
    m_folds->setValue(settings.value("review/folds", m_folds->value()).toInt());
    m_epochs->setValue(settings.value("review/epochs", m_epochs->value()).toInt());
    const auto changed = [this] {
        QSettings().setValue("review/folds", m_folds->value());
        QSettings().setValue("review/epochs", m_epochs->value());
        // The note before an audit names the models the button would train: these.
        if (!m_result && m_status->text().startsWith(tr("No audit of this preparation yet")))
            m_status->setText(noAuditNote());
    };
    connect(m_folds, &QSpinBox::valueChanged, this, changed);
    connect(m_epochs, &QSpinBox::valueChanged, this, changed);
}

void ReviewPage::showDecided(const std::unordered_set<std::string>* paths)
{
    // The queue's items of those faces (a face may be listed once, or not at all after a switch).
    if (!m_result)
        return;
    bool current = false;
    for (int row = 0; row < m_queue->count() && row < static_cast<int>(m_shown.size()); ++row) {
        const std::string& path = m_result->suspects[m_shown[static_cast<size_t>(row)]].path;
        if (paths && paths->count(path) == 0)
            continue;
        const auto decided = m_decisions.find(path); // none: undone, the mark goes
        QListWidgetItem* item = m_queue->item(row);
        QString text = item->text();
        if (text.startsWith('['))
            text = text.mid(text.indexOf("]  ") + 3);
        const QString marked =
            decided == m_decisions.end() ? text : QStringLiteral("[%1]  ").arg(decided->second) + text;
        if (marked != item->text())
            item->setText(marked);
        current = current || row == m_queue->currentRow();
    }
    if (current)
        showCurrent();
}

void ReviewPage::showDecisionCount()
{
    // Only over the audit's own header: a message shown since (a failed write) stays.
    if (m_result && !m_auditDir.isEmpty() && m_status->text().contains(tr("so far); Prepare applies them")))
        m_status->setText(auditHeader(m_auditDir));
}

void ReviewPage::showWriting()
{
    if (m_writing > 0)
        m_saved->setText((m_written == 1 ? tr("1 decision saved this session; %2 being written to %3")
                                         : tr("%1 decisions saved this session; %2 being written to %3"))
                             .arg(m_written)
                             .arg(m_writing)
                             .arg(reviewFile()));
    else if (m_written > 0)
        m_saved->setText(
            (m_written == 1 ? tr("1 decision saved to %2 this session") : tr("%1 decisions saved to %2 this session"))
                .arg(m_written)
                .arg(reviewFile()));
    else
        m_saved->clear();
}

} // namespace faceatlas::ui
