#pragma once

#include <memory>
#include <optional>
#include <QVariantMap>
#include <QWidget>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QListView;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QChartView;

namespace faceatlas {
struct LoadedDataset;
struct ImageProbe;
struct PrepareReport;
struct StepReport;
struct StepPreview;
struct PrepareParams;
struct SkippedFile;
struct LoadedModel;
class PreparedDataset;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;
class ThumbnailModel;
class FaceFilter;

/** Opens a dataset, shows the capstone's cleaning steps with live counts, prepares it, and browses the faces. */
class DatasetPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetPage(Session* session, QWidget* parent = nullptr);
    ~DatasetPage() override;
    /** Reads the source's metadata and image headers on the worker thread, then shows live counts. */
    void loadSource(const QString& spec);
    /**
     * Runs the prepare job with the settings on screen. When the review decisions it would apply
     * remove more than a tenth of the open preparation's faces, it stops first (counted on the job's
     * thread with applyReview) and shows a warning under the button: Prepare anyway or Review decisions.
     */
    void prepare();
    /** Prepare after that warning: the decisions are applied whatever they remove. */
    void prepareAnyway();
    /** The warning under Prepare about what the decisions remove (empty when none is shown). */
    QString prepareWarning() const;
    int faceCount() const;
    /** The dataset the grid shows (tests compare it with the session's). */
    const PreparedDataset* gridDataset() const;
    QListView* grid() const;
    /** The face the panel shows (a row of the open dataset), -1 when none. */
    qint64 shownFace() const { return m_shownFace; }
    /** Puts the keyboard focus on the grid's age filter (Find). */
    void focusFilter();
    /** Shows only the members of `cluster` in the grid (-1: all). */
    void filterToCluster(int cluster);
    /** "N of M faces match", and why a sort shows nothing new. */
    QString matchText() const;
    /** The problems listed under the cleaning steps (bad lines, skipped files, what to do). */
    QStringList problems() const;
    /** The line above them: the problems grouped by kind with counts, and what to do. */
    QString problemSummary() const;
    /** At most this many problems are listed; the rest are counted ("and N more"). */
    static constexpr int kMaxProblemLines = 1000;
    /** Predicts every face's age with the latest age run (a job), so faces can be sorted by error. */
    void predictAll();
    /** Selects the first face of the grid (in its current order) and shows it in the detail panel. */
    void selectFirstFace();
    /**
     * Shows only the faces flagged in `mask` (the map's selection; one flag per face of the open
     * dataset), with a line saying so and a button that shows every face again. Null: every face.
     */
    void setSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count);
    /** setSubset with its line naming what the faces are ("the slice gender = female"). */
    void setNamedSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what);
    bool showsSubset() const;
    /** The line above the grid that says which subset it shows (empty when none). */
    QString subsetText() const;
    /** Says whether the workspace has review decisions for Prepare to apply. */
    void refreshReview();
    /** Shows face `row` of the open dataset in the panel (and selects it in the grid when it is shown there). */
    void showDatasetFace(qint64 row);

Q_SIGNALS:
    void faceActivated(qint64 index);
    /** "Show attention" from the grid's context menu. */
    void showAttention(qint64 index);
    /** "More like this" from the grid's context menu. */
    void moreLikeThis(qint64 index);
    /** The faces selected in the grid (rows of the open dataset), for the map to mark. */
    void gridSelectionChanged(const std::vector<qint64>& rows);
    /** The user dropped the map's selection filter ("Show all faces"). */
    void subsetCleared();
    /** "Review decisions" in Prepare's warning: show the Review page's Decided view. */
    void reviewDecisionsRequested();

private:
    // The page in parts, built in this order by the constructor: the cleaning panel (its controls,
    // the form, Prepare's warning, the step table and what goes below it), the grid's filters and the
    // grid, the face panel; then the signals of each part.
    void createCleaningControls();
    class QGroupBox* buildCleaningForm();
    QWidget* buildPrepareWarning();
    QWidget* buildCleaningPanel(class QGroupBox* settingsBox);
    void createGridFilters();
    QWidget* buildFaceGrid();
    QWidget* buildFacePanel();
    void connectCleaning();
    void connectGrid();
    void connectSession();
    /** A source read (loadSource's job): it becomes the page's, with its settings and its preparation. */
    void showSourceRead(const QString& spec, std::shared_ptr<LoadedDataset> loaded,
                        std::shared_ptr<std::vector<ImageProbe>> probes, const QString& imagesBelow);
    /** The grid's predictions and cluster labels, and the cluster filter's entries, from the session. */
    void refreshExtras();
    void updateCounts();
    /** Prepare; `removalConfirmed`: without the check of what the review decisions remove. */
    void startPrepare(bool removalConfirmed);
    void showManifest(const QString& manifestText);
    /** Shows a face in the panel; `activate` also tells the Attention page (a click, not a refresh). */
    void showFace(const QModelIndex& index, bool activate = true);
    void clearFacePanel();
    void filterChanged();
    /** Lists the problems (the first kMaxProblemLines, then "and N more") under a one-line summary. */
    void showProblems(const QStringList& lines, size_t more, const QString& summary = {});
    void showCleaningProblems(const std::vector<SkippedFile>& skipped, size_t recordsRead);
    /** "N records", or what was found instead (files that are not images, images that are missing). */
    QString sourceSummary() const;
    /**
     * The face-score threshold's scale: the source's own scores (IMDB-WIKI, the demo) or FaceAtlas's
     * detector confidence (photos). Each has its default (the command line's) and its remembered value.
     */
    void setScoreScale(bool ownScores);
    /** The cleaning controls' values by setting name. */
    QVariantMap cleaningSettings() const;
    /** Remembers the controls' values for the open source (not while restoring them). */
    void saveCleaningSettings() const;
    /** The controls as `spec` last had them, or the defaults for a source never seen (never the last source's). */
    void restoreCleaningSettings(const QString& spec, bool ownScores);
    /**
     * The steps before Prepare, as Prepare will count them (previewSteps); when pictures have not been
     * looked at by the detector yet, a line says how many, and "Detect faces now" offers to.
     */
    void showPreviewSteps(const StepPreview& preview);
    /** The settings on screen as Prepare takes them (the step preview's; see prepare()). */
    PrepareParams previewParams() const;
    /**
     * When the open preparation is this source's, made with the settings on screen, the review
     * decisions it applied (prepared.json's settings.review_decisions, reviewFingerprint; "" when it
     * applied no review); nullopt otherwise, and for a preparation that applied a review without
     * naming its decisions (an older one): the preview counts then. Reads no file: GUI thread.
     */
    std::optional<std::string> preparedWith() const;
    /** The open preparation's own steps (prepared.json's counts, decoding failures included) in the table. */
    void showPreparedSteps();
    /** The steps of a manifest's report in the table. */
    void showReportSteps(const QString& manifestText);
    /** Runs the detector on the pictures the preview lacks findings of (a job: progress, Cancel), then counts again. */
    void detectFacesNow();
    /** The step table as tall as its rows and its columns as wide as their numbers: nothing cut, no scroll. */
    void fitStepTable();
    /** Fits the step table again whenever its width changes (its names wrap to the Step column). */
    void watchStepTableWidth();
    QString currentSourceText() const;
    Session* m_session;
    std::shared_ptr<LoadedDataset> m_loaded;
    std::shared_ptr<std::vector<ImageProbe>> m_probes;
    /** For a folder source without images: where below it the images are ("" when nowhere near). */
    QString m_imagesBelow;
    QLabel* m_sourceLabel;
    QSpinBox* m_size;
    QCheckBox* m_filterScore; // unchecked: every face score is kept (prepare --no-face-score-filter)
    QDoubleSpinBox* m_minScore;
    bool m_imdbScores = false; // m_minScore is on the source's own face-score scale, not the detector's
    bool m_restoringSettings = false;
    QVariantMap m_cleaningDefaults; // the controls' values before any source was opened
    QCheckBox* m_filterAge;         // unchecked: every age is kept (prepare --no-age-filter)
    QSpinBox* m_ageMin;
    QSpinBox* m_ageMax;
    QSpinBox* m_minImage;
    QDoubleSpinBox* m_valFraction;
    QCheckBox* m_balance;
    QCheckBox* m_multipleFaces;
    QCheckBox* m_everyFace; // PrepareParams::everyFace: photo sources only
    void showEveryFace();
    QCheckBox* m_applyReview;
    QPushButton* m_prepare;
    QWidget* m_prepareWarning; // under Prepare: the decisions remove many faces (hidden otherwise)
    QLabel* m_prepareWarningText;
    QTableWidget* m_steps;
    // Under the steps: how many pictures the detector has not looked at yet, and the button that looks.
    QLabel* m_previewNote;
    QPushButton* m_detectNow;
    quint64 m_previewGeneration = 0; // the newest updateCounts: an older preview's result is not shown
    QChartView* m_histogram;
    QListView* m_grid;
    ThumbnailModel* m_model;
    FaceFilter* m_filter;
    QSpinBox* m_filterLow;
    QSpinBox* m_filterHigh;
    QComboBox* m_filterGender;
    QLabel* m_faceImage;
    QLabel* m_faceCrop; // the stored face, under the picture
    QLabel* m_faceInfo;
    QLabel* m_faceOverlay;
    QLabel* m_overlayCaption;
    QListWidget* m_problems;
    QLabel* m_problemSummary; // the problems grouped by kind, with counts, above the list
    QLabel* m_matchCount;
    QLabel* m_subsetLabel;
    QPushButton* m_subsetClear;
    QCheckBox* m_descending;
    qint64 m_shownFace = -1;
    QComboBox* m_sortBy;
    QComboBox* m_filterCluster;
    QComboBox* m_filterFraming; // aligned preparations: the faces aligned, not found, from group photos
    void refreshFramingGroups();
    // "column = value" (a csv: source's further columns): shown when the open preparation kept some.
    QComboBox* m_filterColumn;
    QComboBox* m_filterValue;
    /** The column box for the open preparation (its prepared.json's names), no column chosen. */
    void refreshColumnFilter();
    /** The chosen column's values into the value box, counted on the lane. */
    void listColumnValues();
    /** The faces with the chosen value, matched on the lane, into the grid's filter. */
    void applyColumnFilter();
    // The quality columns measured at prepare (issue 29): a sort key each, and a range filter on one,
    // shown when the open preparation has them (read on the lane into the grid's filter).
    QComboBox* m_filterQuality;
    QDoubleSpinBox* m_qualityLow;
    QDoubleSpinBox* m_qualityHigh;
    /** Reads the open preparation's quality columns on the lane into the grid's filter. */
    void refreshQuality();
    /** The chosen quality column's range into the grid's filter (the spin boxes span its values when chosen). */
    void applyQualityRange(bool columnChanged);
    // The quality cleaning steps, off by default: a check box and a threshold per row of qualitySteps().
    std::vector<QCheckBox*> m_qualitySteps;
    std::vector<QDoubleSpinBox*> m_qualityThresholds;
    QPushButton* m_predict;
};

} // namespace faceatlas::ui
