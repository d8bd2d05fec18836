// The Dataset page's cleaning settings: remembered per source, never carried to the next source.
#include "DatasetPage.h"

#include "CleaningPanel.h"
#include "data/Cleaning.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <QSettings>

namespace faceatlas::ui {

namespace {

/** Where a source's settings are kept: one group per SPEC (a hash, since SPECs hold slashes). */
QString groupFor(const QString& spec)
{
    return QStringLiteral("cleaning/%1").arg(QString::fromStdString(hexKey(fnv1a64(spec.toStdString()))));
}

} // namespace

void DatasetPage::saveCleaningSettings() const
{
    if (m_restoringSettings || m_session->source().isEmpty())
        return;
    QSettings settings;
    settings.beginGroup(groupFor(m_session->source()));
    const QVariantMap values = m_cleaning->settings();
    for (auto it = values.begin(); it != values.end(); ++it)
        settings.setValue(it.key(), it.value());
}

void DatasetPage::restoreCleaningSettings(const QString& spec, bool ownScores)
{
    m_restoringSettings = true;
    m_imdbScores = ownScores;
    QSettings settings;
    settings.beginGroup(groupFor(spec));
    // What this source was last prepared or set with; a source never seen starts from the defaults,
    // the face-score threshold from its scale's (the command line's).
    QVariantMap defaults = m_cleaningDefaults;
    defaults["minScore"] = ownScores ? kDefaultMinFaceScore : kDefaultMinDetectorScore;
    QVariantMap values;
    for (auto it = defaults.cbegin(); it != defaults.cend(); ++it)
        values.insert(it.key(), settings.value(it.key(), it.value()));
    m_cleaning->restoreSettings(values);
    m_restoringSettings = false;
}

void DatasetPage::setScoreScale(bool ownScores)
{
    m_imdbScores = ownScores;
    m_cleaning->showMinScore(QSettings()
                                 .value(groupFor(m_session->source()) + QStringLiteral("/minScore"),
                                        ownScores ? kDefaultMinFaceScore : kDefaultMinDetectorScore)
                                 .toDouble());
}

} // namespace faceatlas::ui
