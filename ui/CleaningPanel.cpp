// The Dataset page's Cleaning box: the controls of every cleaning step, Prepare, History and
// Prepare's warning, and the options they hold.
#include "CleaningPanel.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/PrepareJob.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

namespace faceatlas::ui {

CleaningPanel::CleaningPanel(QWidget* parent)
    : QGroupBox(tr("Cleaning"), parent)
{
    createControls();
    setLayout(buildForm());
    connectControls();
}

void CleaningPanel::createControls()
{
    // Cleaning settings: every step of the capstone's preprocessing, each editable.
    m_size = new QSpinBox;
    m_size->setRange(16, 256);
    m_size->setValue(64);
    m_minScore = new QDoubleSpinBox;
    m_minScore->setRange(-10, 10);
    m_minScore->setValue(kDefaultMinDetectorScore); // see the page's setScoreScale: the source's scale sets it
    m_minScore->setSingleStep(0.25);
    m_ageMin = new QSpinBox;
    m_ageMin->setRange(0, 120);
    m_ageMin->setValue(15);
    m_ageMax = new QSpinBox;
    m_ageMax->setRange(0, 120);
    m_ageMax->setValue(65);
    m_minImage = new QSpinBox;
    m_minImage->setRange(0, 1000);
    m_minImage->setValue(90);
    m_valFraction = new QDoubleSpinBox;
    m_valFraction->setRange(0.0, 0.9);
    m_valFraction->setSingleStep(0.05);
    m_valFraction->setValue(0.2);
    m_balance = new QCheckBox(tr("Balance training ages"));
    m_balance->setChecked(true);
    m_multipleFaces = new QCheckBox(tr("Drop images with a second face"));
    m_multipleFaces->setChecked(true);
    m_everyFace = new QCheckBox(tr("Every face of each photo"));
    m_everyFace->setObjectName("everyFace");
    m_everyFace->setToolTip(tr("Group photos give one face each, aligned alike; a photo's labels go to its best face "
                               "only. For photo sources (a folder, a CSV, UTKFace), not IMDB-WIKI's crops."));
    m_prepare = new QPushButton(tr("Prepare"));
    m_prepare->setEnabled(false);
    // Names for tests and accessibility tools.
    m_size->setObjectName("imageSize");
    m_minScore->setObjectName("minFaceScore");
    m_minScore->setToolTip(tr("IMDB-WIKI: its own face score (default %1). Other sources: the confidence of the face "
                              "detector that aligns the faces (about 0-3; default %2, as on the command line, which "
                              "drops only pictures where no face was found)")
                               .arg(kDefaultMinFaceScore)
                               .arg(kDefaultMinDetectorScore));
    m_ageMin->setObjectName("ageMin");
    createFilterSwitches();
    m_ageMax->setObjectName("ageMax");
    m_minImage->setObjectName("minImageSide");
    m_valFraction->setObjectName("validationShare");
    m_prepare->setObjectName("prepare");
}

void CleaningPanel::createFilterSwitches()
{
    // The face-score and age steps can be turned off, as on the command line; a spin box whose
    // step is off is disabled, so the panel never shows a threshold that was not applied.
    m_filterScore = new QCheckBox(tr("Min face score"));
    m_filterScore->setObjectName("filterFaceScore");
    m_filterScore->setChecked(true);
    m_filterScore->setToolTip(tr("Unchecked: faces are kept whatever their face score (-Inf is always dropped)"));
    m_filterAge = new QCheckBox(tr("Ages"));
    m_filterAge->setObjectName("filterAge");
    m_filterAge->setChecked(true);
    m_filterAge->setToolTip(tr("Unchecked: faces of every age are kept"));
}

QFormLayout* CleaningPanel::buildForm()
{
    auto* form = new QFormLayout;
    form->addRow(tr("Image size (px)"), m_size);
    form->addRow(m_filterScore, m_minScore);
    auto* ages = new QHBoxLayout;
    ages->setContentsMargins(0, 0, 0, 0);
    ages->addWidget(m_ageMin, 1);
    ages->addWidget(new QLabel(tr("to")));
    ages->addWidget(m_ageMax, 1);
    form->addRow(m_filterAge, ages);
    form->addRow(tr("Min image side (px)"), m_minImage);
    form->addRow(tr("Validation share"), m_valFraction);
    form->addRow(m_multipleFaces);
    form->addRow(m_everyFace);
    // The review decisions (Review and Map pages): excluded faces are a cleaning step, corrections replace labels.
    m_applyReview = new QCheckBox;
    m_applyReview->setObjectName("applyReview");
    m_applyReview->setChecked(true);
    form->addRow(m_applyReview);
    form->addRow(m_balance);
    addQualitySteps(form);
    // History: the versions of this source (each Prepare keeps the one it replaces) and their diffs,
    // in a panel of its own (ui/HistoryPanel).
    auto* history = new QPushButton(tr("History"));
    history->setObjectName("history");
    history->setToolTip(tr("The versions of this dataset (each preparation), what changed between two, and the disk "
                           "each holds"));
    connect(history, &QPushButton::clicked, this, &CleaningPanel::historyRequested);
    auto* prepareRow = new QHBoxLayout;
    prepareRow->setContentsMargins(0, 0, 0, 0);
    prepareRow->addWidget(m_prepare, 1);
    prepareRow->addWidget(history);
    form->addRow(prepareRow);
    form->addRow(buildPrepareWarning());
    return form;
}

void CleaningPanel::addQualitySteps(QFormLayout* form)
{
    // The quality steps (off by default): they run on the stored faces, after the others; the preview
    // counts them from the quality columns of the preparation Prepare will replace.
    for (const QualityStep& step : qualitySteps()) {
        auto* on = new QCheckBox(tr("Drop %1").arg(QString::fromUtf8(step.name)));
        on->setObjectName(QStringLiteral("quality-%1").arg(QString::fromUtf8(step.option)));
        on->setToolTip(tr("A quality step (as prepare --%1): measured on each stored face").arg(step.option));
        auto* threshold = new QDoubleSpinBox;
        threshold->setObjectName(QStringLiteral("quality-%1-threshold").arg(QString::fromUtf8(step.option)));
        threshold->setRange(0, 100000);
        threshold->setDecimals(1);
        threshold->setValue(step.suggested);
        threshold->setEnabled(false);
        connect(on, &QCheckBox::toggled, threshold, &QWidget::setEnabled);
        form->addRow(on, threshold);
        m_qualitySteps.push_back(on);
        m_qualityThresholds.push_back(threshold);
    }
}

QWidget* CleaningPanel::buildPrepareWarning()
{
    // Prepare's warning when the decisions would remove many faces: inline, not a dialog, so the
    // page stays usable (and scriptable) while it is shown; Prepare waits for "Prepare anyway".
    m_prepareWarning = new QWidget;
    m_prepareWarning->setObjectName("prepareWarningBar");
    m_prepareWarning->setStyleSheet("#prepareWarningBar { background: #fff3cd; border: 1px solid #e0b040; }");
    m_prepareWarning->setAttribute(Qt::WA_StyledBackground);
    m_prepareWarningText = new QLabel;
    m_prepareWarningText->setObjectName("prepareWarning");
    m_prepareWarningText->setWordWrap(true);
    auto* anyway = new QPushButton(tr("Prepare anyway"));
    anyway->setObjectName("prepareAnyway");
    auto* reviewDecisions = new QPushButton(tr("Review decisions"));
    reviewDecisions->setObjectName("reviewDecisions");
    reviewDecisions->setToolTip(tr("The Review page's Decided view: every decision, with Undo"));
    auto* warningButtons = new QHBoxLayout;
    warningButtons->addWidget(anyway);
    warningButtons->addWidget(reviewDecisions);
    auto* warningLayout = new QVBoxLayout(m_prepareWarning);
    warningLayout->setContentsMargins(6, 4, 6, 4);
    warningLayout->addWidget(m_prepareWarningText);
    warningLayout->addLayout(warningButtons);
    m_prepareWarning->hide();
    connect(anyway, &QPushButton::clicked, this, &CleaningPanel::prepareAnywayRequested);
    connect(reviewDecisions, &QPushButton::clicked, this, [this] {
        m_prepareWarning->hide();
        Q_EMIT reviewDecisionsRequested();
    });
    return m_prepareWarning;
}

void CleaningPanel::connectControls()
{
    showFilters();
    connect(m_filterScore, &QCheckBox::toggled, this, &CleaningPanel::showFilters);
    connect(m_filterAge, &QCheckBox::toggled, this, &CleaningPanel::showFilters);
    // Every setting persists between sessions, for each source (the page remembers it).
    const auto save = [this] { Q_EMIT settingsChanged(); };
    for (QSpinBox* box : {m_size, m_ageMin, m_ageMax, m_minImage})
        connect(box, &QSpinBox::valueChanged, this, save);
    for (QDoubleSpinBox* box : {m_minScore, m_valFraction})
        connect(box, &QDoubleSpinBox::valueChanged, this, save);
    for (QCheckBox* box : {m_balance, m_multipleFaces, m_everyFace, m_filterScore, m_filterAge})
        connect(box, &QCheckBox::toggled, this, save);
    connect(m_everyFace, &QCheckBox::toggled, this, &CleaningPanel::showEveryFace);
    // The age range can not be turned inside out.
    m_ageMax->setMinimum(m_ageMin->value());
    m_ageMin->setMaximum(m_ageMax->value());
    connect(m_ageMin, &QSpinBox::valueChanged, m_ageMax, &QSpinBox::setMinimum);
    connect(m_ageMax, &QSpinBox::valueChanged, m_ageMin, &QSpinBox::setMaximum);
    const auto count = [this] { Q_EMIT stepsChanged(); };
    for (QSpinBox* box : {m_ageMin, m_ageMax, m_minImage})
        connect(box, &QSpinBox::valueChanged, this, count);
    connect(m_minScore, &QDoubleSpinBox::valueChanged, this, count);
    for (QCheckBox* box : {m_multipleFaces, m_filterScore, m_filterAge, m_everyFace, m_applyReview})
        connect(box, &QCheckBox::toggled, this, count);
    connect(m_prepare, &QPushButton::clicked, this, &CleaningPanel::prepareRequested);
    for (size_t s = 0; s < m_qualitySteps.size(); ++s) {
        connect(m_qualitySteps[s], &QCheckBox::toggled, this, count);
        connect(m_qualitySteps[s], &QCheckBox::toggled, this, save);
        connect(m_qualityThresholds[s], &QDoubleSpinBox::valueChanged, this, count);
        connect(m_qualityThresholds[s], &QDoubleSpinBox::valueChanged, this, save);
    }
}

void CleaningPanel::showFilters()
{
    m_minScore->setEnabled(m_filterScore->isChecked());
    m_ageMin->setEnabled(m_filterAge->isChecked());
    m_ageMax->setEnabled(m_filterAge->isChecked());
}

void CleaningPanel::showEveryFace()
{
    m_everyFace->setEnabled(m_photos);
    // With every face taken, no record has a second face: that step has nothing to do.
    m_multipleFaces->setEnabled(!(m_photos && m_everyFace->isChecked()));
}

void CleaningPanel::setPhotoSource(bool photos)
{
    m_photos = photos;
    showEveryFace();
}

QVariantMap CleaningPanel::settings() const
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

void CleaningPanel::restoreSettings(const QVariantMap& values)
{
    const auto value = [&](const char* key) { return values.value(QString::fromLatin1(key)); };
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
        m_qualitySteps[q]->setChecked(values.value(key).toBool());
        m_qualityThresholds[q]->setValue(values.value(key + QStringLiteral("-threshold")).toDouble());
        m_qualityThresholds[q]->setEnabled(m_qualitySteps[q]->isChecked());
    }
    m_ageMax->setMinimum(m_ageMin->value());
    m_ageMin->setMaximum(m_ageMax->value());
    showFilters();
}

void CleaningPanel::showRecordedSettings(const nlohmann::json& st, bool ownScores)
{
    // Numbers from a file: only whole numbers in the control's range are taken.
    const auto setInt = [&](QSpinBox* box, const char* key) {
        if (!st.contains(key) || !st.at(key).is_number())
            return;
        const double v = st.at(key).get<double>();
        if (v == std::floor(v) && v >= box->minimum() && v <= box->maximum()) {
            const QSignalBlocker block(box);
            box->setValue(static_cast<int>(v));
        }
    };
    setInt(m_size, "size");
    setInt(m_ageMin, "age_min");
    setInt(m_ageMax, "age_max");
    setInt(m_minImage, "min_image_size");
    // The threshold on the scale the preparation's face-score step read (its own scores or the detector's).
    const char* scoreKey = ownScores ? "min_face_score" : "min_detector_score";
    for (auto [box, key] : {std::pair{m_minScore, scoreKey}, std::pair{m_valFraction, "val_fraction"}})
        if (st.contains(key) && st.at(key).is_number() && std::isfinite(st.at(key).get<double>())) {
            const QSignalBlocker block(box);
            box->setValue(st.at(key).get<double>());
        }
    // Preparations older than these switches always filtered.
    for (auto [box, key] : {std::pair{m_filterScore, "filter_face_score"}, std::pair{m_filterAge, "filter_age"}}) {
        const QSignalBlocker block(box);
        box->setChecked(!st.contains(key) || !st.at(key).is_boolean() || st.at(key).get<bool>());
    }
    showFilters();
    if (st.contains("drop_multiple_faces") && st.at("drop_multiple_faces").is_boolean()) {
        const QSignalBlocker block(m_multipleFaces);
        m_multipleFaces->setChecked(st.at("drop_multiple_faces").get<bool>());
    }
    if (st.contains("faces") && st.at("faces").is_string()) {
        const QSignalBlocker block(m_everyFace);
        m_everyFace->setChecked(st.at("faces").get<std::string>() == "every");
        showEveryFace();
    }
    if (st.contains("balance") && st.at("balance").is_string()) {
        const QSignalBlocker block(m_balance);
        m_balance->setChecked(st.at("balance").get<std::string>() == "age");
    }
}

void CleaningPanel::writeOptions(PrepareParams& params) const
{
    params.size = m_size->value();
    params.cleaning.filterFaceScore = m_filterScore->isChecked();
    params.cleaning.filterAge = m_filterAge->isChecked();
    params.cleaning.minFaceScore = m_minScore->value();
    // One threshold for the scores the records have, the ones the face panel shows: IMDB-WIKI's
    // own, or for other sources the aligned framing's detector confidence.
    params.cleaning.minDetectorScore = m_minScore->value();
    params.cleaning.ageMin = m_ageMin->value();
    params.cleaning.ageMax = std::max(m_ageMin->value(), m_ageMax->value());
    params.cleaning.minImageSize = m_minImage->value();
    params.cleaning.valFraction = m_valFraction->value();
    params.cleaning.balanceAges = m_balance->isChecked();
    params.cleaning.dropMultipleFaces = m_multipleFaces->isChecked();
    params.everyFace = m_everyFace->isEnabled() && m_everyFace->isChecked();
    for (size_t q = 0; q < m_qualitySteps.size() && q < kQualityStepCount; ++q)
        if (m_qualitySteps[q]->isChecked())
            params.quality.threshold[q] = m_qualityThresholds[q]->value();
}

int CleaningPanel::imageSize() const
{
    return m_size->value();
}

void CleaningPanel::showImageSize(int size)
{
    const QSignalBlocker block(m_size);
    m_size->setValue(size);
}

double CleaningPanel::minScore() const
{
    return m_minScore->value();
}

void CleaningPanel::showMinScore(double score)
{
    const QSignalBlocker block(m_minScore);
    m_minScore->setValue(score);
}

bool CleaningPanel::appliesReview() const
{
    return m_applyReview->isChecked();
}

void CleaningPanel::setReviewFile(const QString& fileName)
{
    m_applyReview->setEnabled(!fileName.isEmpty());
    m_applyReview->setText(!fileName.isEmpty() ? tr("Apply the review decisions (%1)").arg(fileName)
                                               : tr("Apply the review decisions (none yet: Review page)"));
}

void CleaningPanel::setPrepareEnabled(bool enabled)
{
    m_prepare->setEnabled(enabled);
}

void CleaningPanel::setPrepareToolTip(const QString& tip)
{
    m_prepare->setToolTip(tip);
}

void CleaningPanel::showPrepareWarning(const QString& text)
{
    m_prepareWarningText->setText(text);
    m_prepareWarning->show();
}

void CleaningPanel::hidePrepareWarning()
{
    m_prepareWarning->hide();
}

QString CleaningPanel::prepareWarning() const
{
    return m_prepareWarning->isHidden() ? QString() : m_prepareWarningText->text();
}

} // namespace faceatlas::ui
