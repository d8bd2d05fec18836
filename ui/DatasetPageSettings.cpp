// The Dataset page's cleaning settings: remembered per source, never carried to the next source.
#include "DatasetPage.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <memory>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <vector>

namespace faceatlas::ui {

namespace {

/** Where a source's settings are kept: one group per SPEC (a hash, since SPECs hold slashes). */
QString groupFor(const QString& spec)
{
    return QStringLiteral("cleaning/%1").arg(QString::fromStdString(hexKey(fnv1a64(spec.toStdString()))));
}

} // namespace

QVariantMap DatasetPage::cleaningSettings() const
{
    QVariantMap values = {{"size", m_size->value()},
                          {"minScore", m_minScore->value()},
                          {"ageMin", m_ageMin->value()},
                          {"ageMax", m_ageMax->value()},
                          {"minImageSize", m_minImage->value()},
                          {"valFraction", m_valFraction->value()},
                          {"balance", m_balance->isChecked()},
                          {"dropMultipleFaces", m_multipleFaces->isChecked()},
                          {"everyFace", m_everyFace->isChecked()},
                          {"filterFaceScore", m_filterScore->isChecked()},
                          {"filterAge", m_filterAge->isChecked()}};
    // The quality steps: on or off, and each one's threshold, by its command-line name.
    for (size_t q = 0; q < m_qualitySteps.size(); ++q) {
        const QString key = QStringLiteral("quality-%1").arg(QString::fromUtf8(qualitySteps()[q].option));
        values[key] = m_qualitySteps[q]->isChecked();
        values[key + QStringLiteral("-threshold")] = m_qualityThresholds[q]->value();
    }
    return values;
}

void DatasetPage::saveCleaningSettings() const
{
    if (m_restoringSettings || m_session->source().isEmpty())
        return;
    QSettings settings;
    settings.beginGroup(groupFor(m_session->source()));
    const QVariantMap values = cleaningSettings();
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
    const auto value = [&](const char* key) { return settings.value(key, defaults.value(key)); };
    std::vector<std::unique_ptr<QSignalBlocker>> blocked;
    for (QObject* box :
         std::initializer_list<QObject*>{m_size, m_minScore, m_ageMin, m_ageMax, m_minImage, m_valFraction, m_balance,
                                         m_multipleFaces, m_everyFace, m_filterScore, m_filterAge})
        blocked.push_back(std::make_unique<QSignalBlocker>(box));
    m_ageMin->setRange(0, 120); // the range's own bounds are set again below
    m_ageMax->setRange(0, 120);
    m_size->setValue(value("size").toInt());
    m_minScore->setValue(value("minScore").toDouble());
    m_ageMin->setValue(value("ageMin").toInt());
    m_ageMax->setValue(std::max(value("ageMax").toInt(), m_ageMin->value()));
    m_minImage->setValue(value("minImageSize").toInt());
    m_valFraction->setValue(value("valFraction").toDouble());
    m_balance->setChecked(value("balance").toBool());
    m_multipleFaces->setChecked(value("dropMultipleFaces").toBool());
    m_everyFace->setChecked(value("everyFace").toBool());
    m_filterScore->setChecked(value("filterFaceScore").toBool());
    m_filterAge->setChecked(value("filterAge").toBool());
    for (size_t q = 0; q < m_qualitySteps.size(); ++q) {
        const QString key = QStringLiteral("quality-%1").arg(QString::fromUtf8(qualitySteps()[q].option));
        const QSignalBlocker blockOn(m_qualitySteps[q]), blockThreshold(m_qualityThresholds[q]);
        m_qualitySteps[q]->setChecked(settings.value(key, defaults.value(key)).toBool());
        m_qualityThresholds[q]->setValue(
            settings.value(key + QStringLiteral("-threshold"), defaults.value(key + QStringLiteral("-threshold")))
                .toDouble());
        m_qualityThresholds[q]->setEnabled(m_qualitySteps[q]->isChecked());
    }
    m_ageMax->setMinimum(m_ageMin->value());
    m_ageMin->setMaximum(m_ageMax->value());
    m_minScore->setEnabled(m_filterScore->isChecked());
    m_ageMin->setEnabled(m_filterAge->isChecked());
    m_ageMax->setEnabled(m_filterAge->isChecked());
    m_restoringSettings = false;
}

void DatasetPage::setScoreScale(bool ownScores)
{
    m_imdbScores = ownScores;
    const QSignalBlocker block(m_minScore);
    m_minScore->setValue(QSettings()
                             .value(groupFor(m_session->source()) + QStringLiteral("/minScore"),
                                    ownScores ? kDefaultMinFaceScore : kDefaultMinDetectorScore)
                             .toDouble());
}

} // namespace faceatlas::ui
