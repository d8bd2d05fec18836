#pragma once

#include <nlohmann/json_fwd.hpp>
#include <QGroupBox>
#include <QVariantMap>
#include <vector>

class QCheckBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPushButton;
class QSpinBox;

namespace faceatlas {
struct PrepareParams;
}

namespace faceatlas::ui {

/**
 * The Dataset page's Cleaning box: every step of the capstone's preprocessing, each editable (the
 * quality steps too), with Prepare, History, and Prepare's warning when the review decisions would
 * remove many faces. It holds the options and says when they change; the page counts, remembers and
 * prepares.
 */
class CleaningPanel : public QGroupBox {
    Q_OBJECT
public:
    explicit CleaningPanel(QWidget* parent = nullptr);

    /** The options by setting name (as remembered for each source), the quality steps' included. */
    QVariantMap settings() const;
    /** Shows remembered options: `values` holds every name settings() gives. No signal is sent. */
    void restoreSettings(const QVariantMap& values);
    /**
     * Shows the options a preparation was made with (its manifest's "settings"); `ownScores`: its
     * face-score step read the source's own scores, not the detector's. A bad entry is skipped; no
     * signal is sent.
     */
    void showRecordedSettings(const nlohmann::json& settings, bool ownScores);
    /** The options as Prepare takes them: the image size, the cleaning steps, every face, the quality steps. */
    void writeOptions(PrepareParams& params) const;
    /** The image size (px) the faces are stored at. */
    int imageSize() const;
    /** Shows the image size of an open preparation, without a signal. */
    void showImageSize(int size);
    /** The face-score threshold (on the source's scale). */
    double minScore() const;
    /** Shows a face-score threshold (on the source's scale), without a signal. */
    void showMinScore(double score);
    /** Whether Prepare applies the review decisions (when the workspace has them). */
    bool appliesReview() const;
    /** Offers the review decisions of the workspace's `fileName` ("": none yet). */
    void setReviewFile(const QString& fileName);
    /** Whether the open source is of photos: only then is "Every face of each photo" on offer. */
    void setPhotoSource(bool photos);
    /** Prepare on or off (a source with faces left after the steps). */
    void setPrepareEnabled(bool enabled);
    /** Why Prepare is off ("" when it is on). */
    void setPrepareToolTip(const QString& tip);
    /** Shows the warning under Prepare (what the decisions remove) with Prepare anyway and Review decisions. */
    void showPrepareWarning(const QString& text);
    /** Hides the warning under Prepare (a new Prepare, another preparation opened). */
    void hidePrepareWarning();
    /** The warning under Prepare (empty when none is shown). */
    QString prepareWarning() const;

Q_SIGNALS:
    /** The user changed an option that is remembered for the source. */
    void settingsChanged();
    /** The user changed an option the step counts read. */
    void stepsChanged();
    /** Prepare clicked. */
    void prepareRequested();
    /** "Prepare anyway" in the warning. */
    void prepareAnywayRequested();
    /** "Review decisions" in the warning (which it hides). */
    void reviewDecisionsRequested();
    /** History clicked: the versions of this source. */
    void historyRequested();

private:
    // Built in this order by the constructor: the controls, the form (with the quality steps and
    // Prepare's warning), then their signals.
    void createControls();
    void createFilterSwitches();
    QFormLayout* buildForm();
    void addQualitySteps(QFormLayout* form);
    QWidget* buildPrepareWarning();
    void connectControls();
    /** The thresholds of the face-score and age steps are enabled only while their step is on. */
    void showFilters();
    /** "Every face of each photo" for photo sources; with it, the second-face step has nothing to do. */
    void showEveryFace();

    QSpinBox* m_size;
    QCheckBox* m_filterScore; // unchecked: every face score is kept (prepare --no-face-score-filter)
    QDoubleSpinBox* m_minScore;
    QCheckBox* m_filterAge; // unchecked: every age is kept (prepare --no-age-filter)
    QSpinBox* m_ageMin;
    QSpinBox* m_ageMax;
    QSpinBox* m_minImage;
    QDoubleSpinBox* m_valFraction;
    QCheckBox* m_balance;
    QCheckBox* m_multipleFaces;
    QCheckBox* m_everyFace; // PrepareParams::everyFace: photo sources only
    bool m_photos = true;   // the open source is of photos (none open: true)
    QCheckBox* m_applyReview;
    QPushButton* m_prepare;
    QWidget* m_prepareWarning; // under Prepare: the decisions remove many faces (hidden otherwise)
    QLabel* m_prepareWarningText;
    // The quality cleaning steps, off by default: a check box and a threshold per row of qualitySteps().
    std::vector<QCheckBox*> m_qualitySteps;
    std::vector<QDoubleSpinBox*> m_qualityThresholds;
};

} // namespace faceatlas::ui
