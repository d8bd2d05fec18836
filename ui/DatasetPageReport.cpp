// The Dataset page showing a preparation's manifest: its steps, its age histograms and its
// settings, read as a hostile file (a bad entry is skipped, never thrown into the event loop).
#include "DatasetPage.h"

#include "Charts.h"
#include "CleaningPanel.h"

#include "data/Cleaning.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/PrepareSteps.h"
#include "data/Readers.h"
#include "data/SourceKinds.h"
#include "FacePicture.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/Attention.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "Session.h"
#include "ThumbnailModel.h"
#include "util/Parallel.h"

#include <atomic>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QLabel>
#include <QListView>
#include <QListWidget>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/** The problems a preparation's report lists: the entries not read, then the first 200 skipped files. */
std::pair<QStringList, size_t> reportedProblems(const nlohmann::json& report)
{
    QStringList lines;
    size_t more = 0;
    if (report.contains("malformed_examples") && report.at("malformed_examples").is_array())
        for (const auto& example : report.at("malformed_examples"))
            if (example.is_string())
                lines << DatasetPage::tr("Not read: %1").arg(QString::fromStdString(example.get<std::string>()));
    if (report.contains("skipped_files") && report.at("skipped_files").is_array()) {
        const auto& skipped = report.at("skipped_files");
        for (size_t i = 0; i < skipped.size(); ++i) {
            if (i >= 200) {
                more = skipped.size() - 200;
                break;
            }
            lines << QStringLiteral("%1: %2").arg(QString::fromStdString(skipped[i].value("path", "")),
                                                  QString::fromStdString(skipped[i].value("problem", "")));
        }
    }
    return {lines, more};
}

/** The training set's ages by decade, before and after resampling (a report's age histograms). */
std::map<int, std::pair<double, double>> trainingDecades(const nlohmann::json& report)
{
    std::map<int, std::pair<double, double>> decades;
    // The manifest is a file like any other: a bad entry is skipped, never thrown into the event loop.
    const auto addDecades = [&](const char* key, bool after) {
        if (!report.contains(key) || !report.at(key).is_object())
            return;
        for (const auto& [age, n] : report.at(key).items()) {
            bool ok = false;
            const int years = QString::fromStdString(age).toInt(&ok);
            if (!ok || years < 0 || years > 200 || !n.is_number())
                continue;
            auto& slot = decades[years / 10 * 10];
            (after ? slot.second : slot.first) += n.get<double>();
        }
    };
    addDecades("age_histogram_before", false);
    addDecades("age_histogram_after", true);
    return decades;
}

/** The chart of a report's training ages by decade, before and after resampling (or that there are none). */
QChart* trainingAgesChart(const nlohmann::json& report)
{
    const std::map<int, std::pair<double, double>> decades = trainingDecades(report);
    auto* before = new QBarSet(DatasetPage::tr("before resampling"));
    auto* after = new QBarSet(DatasetPage::tr("after"));
    QStringList labels;
    double top = 1;
    for (const auto& [from, counts] : decades) {
        *before << counts.first;
        *after << counts.second;
        labels << QStringLiteral("%1s").arg(from);
        top = std::max({top, counts.first, counts.second});
    }
    auto* series = new QBarSeries;
    series->append(before);
    series->append(after);
    auto* chart = new QChart;
    chart->addSeries(series);
    chart->setTitle(DatasetPage::tr("Training ages: %1 faces, validation %2")
                        .arg(report.value("train", 0))
                        .arg(report.value("val", 0)));
    auto* x = new QBarCategoryAxis;
    x->append(labels);
    auto* y = new QValueAxis;
    setIntegerAxis(y, 0, top * 1.1, 6);
    y->setTitleText(DatasetPage::tr("faces"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    chart->legend()->setAlignment(Qt::AlignBottom);
    if (decades.empty()) { // a source without ages (a folder of photos): say so, not an empty plot
        chart->setTitle(DatasetPage::tr("No ages: %1 training faces").arg(report.value("train", 0)));
        chart->legend()->hide();
        x->hide();
        y->hide();
    }
    return chart;
}

/** The header's line for a preparation: its source, records read, faces kept, image size, skipped files. */
QString preparedSummary(const nlohmann::json& manifest, const nlohmann::json& report)
{
    // With every face of each picture taken, a picture gives as many records as it has faces.
    const nlohmann::json noFraming = nlohmann::json::object();
    const auto& framing =
        report.contains("framing") && report.at("framing").is_object() ? report.at("framing") : noFraming;
    const size_t moreFaces = framing.contains("more_faces") && framing.at("more_faces").is_number_unsigned()
                                 ? framing.value("more_faces", 0u)
                                 : 0u;
    return DatasetPage::tr("<b>%1</b>: %2 records read%6, %3 faces kept at %4 px (%5 skipped files)")
        .arg(QString::fromStdString(manifest.value("source", "")).toHtmlEscaped())
        .arg(report.value("records_read", 0))
        .arg(report.value("images_stored", 0))
        .arg(manifest.value("size", 0))
        .arg(report.contains("skipped_files") ? report.at("skipped_files").size() : 0)
        .arg(moreFaces ? DatasetPage::tr(" and %1 more faces found in them").arg(moreFaces) : QString());
}

} // namespace

void DatasetPage::showManifest(const QString& manifestText)
{
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(manifestText.toStdString());
    } catch (const std::exception&) {
        return;
    }
    // The controls show the settings this preparation was made with.
    if (manifest.contains("settings") && manifest.at("settings").is_object()) {
        // The threshold on the scale the preparation's face-score step read (its own scores or the detector's).
        const std::string source = manifest.contains("source") && manifest.at("source").is_string()
                                       ? manifest.at("source").get<std::string>()
                                       : std::string();
        const SourceKindInfo* kind = sourceKindOfSpec(source);
        const bool ownScores = kind && kind->metadataFaceScores;
        setScoreScale(ownScores);
        m_cleaning->showRecordedSettings(manifest.at("settings"), ownScores);
    }
    const nlohmann::json noReport = nlohmann::json::object();
    const auto& report =
        manifest.contains("report") && manifest.at("report").is_object() ? manifest.at("report") : noReport;
    const auto [lines, more] = reportedProblems(report);
    showProblems(lines, more);
    ++m_previewGeneration; // a preview on its way is of the settings before this preparation
    showReportSteps(manifestText);
    // Age histograms of the training set, before and after resampling, by decade.
    replaceChart(m_histogram, trainingAgesChart(report));
    m_sourceLabel->setText(preparedSummary(manifest, report));
}

void DatasetPage::showReportSteps(const QString& manifestText)
{
    // prepared.json's counts, shown as the preview shows its own (the same rows, the same words).
    StepPreview prepared;
    try {
        const auto manifest = nlohmann::json::parse(manifestText.toStdString());
        const auto& steps = manifest.at("report").at("steps");
        for (const auto& s : steps) {
            StepReport step;
            step.name = s.value("name", "");
            step.removed = s.value("removed", size_t{0});
            step.remaining = s.value("remaining", size_t{0});
            step.notApplicable = s.value("not_applicable", size_t{0});
            step.enabled = s.value("enabled", true);
            prepared.steps.push_back(step);
        }
    } catch (const std::exception&) {
        prepared.steps.clear(); // a hostile or older manifest: no steps rather than wrong ones
    }
    showPreviewSteps(prepared);
}

std::optional<std::string> DatasetPage::preparedWith() const
{
    const PreparedDataset* open = m_session->dataset();
    if (!open || QString::fromStdString(open->sourceSpec()) != m_session->source()
        || open->imageSize() != m_cleaning->imageSize())
        return std::nullopt;
    const PrepareParams now = previewParams();
    const CleaningOptions& c = now.cleaning;
    try {
        const auto manifest = nlohmann::json::parse(open->manifestJson());
        const auto& st = manifest.at("settings");
        // The settings the steps read; a threshold only where its step is on. A manifest that
        // lacks one is older or not ours: the preview counts instead. Numbers are compared as
        // doubles, so that no value of the file is cast out of its range.
        const bool ownScores = m_imdbScores;
        bool same = st.at("filter_face_score").get<bool>() == c.filterFaceScore
                    && st.at("filter_age").get<bool>() == c.filterAge
                    && st.at("min_image_size").get<double>() == c.minImageSize
                    && st.at("drop_multiple_faces").get<bool>() == c.dropMultipleFaces
                    && st.at("faces").get<std::string>() == (now.everyFace ? "every" : "best")
                    && st.contains("review") == !now.review.empty();
        if (same && c.filterFaceScore)
            same = st.at(ownScores ? "min_face_score" : "min_detector_score").get<double>() == m_cleaning->minScore();
        if (same && c.filterAge)
            same = st.at("age_min").get<double>() == c.ageMin && st.at("age_max").get<double>() == c.ageMax;
        // The quality steps: the same ones on, each at its threshold (a manifest without quality_steps had none).
        const auto quality = st.find("quality_steps");
        for (size_t q = 0; same && q < kQualityStepCount; ++q) {
            const char* option = qualitySteps()[q].option;
            const bool recorded = quality != st.end() && quality->contains(option);
            same = std::isnan(now.quality.threshold[q])
                       ? !recorded
                       : recorded && quality->at(option).get<double>() == now.quality.threshold[q];
        }
        if (!same)
            return std::nullopt;
        if (now.review.empty())
            return std::string();
        // Which decisions it applied: whether the review file still holds them is read on the lane
        // (updateCounts). A preparation that does not say is counted again.
        return st.at("review_decisions").get<std::string>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void DatasetPage::showPreparedSteps()
{
    if (const PreparedDataset* open = m_session->dataset())
        showReportSteps(QString::fromStdString(open->manifestJson()));
    m_cleaning->setPrepareEnabled(true);
    m_cleaning->setPrepareToolTip(QString());
}

} // namespace faceatlas::ui
