#pragma once

#include <QImage>
#include <QStringList>
#include <QWidget>
#include <vector>

class QComboBox;
class QLabel;
class QLayout;

namespace faceatlas::ui {

class AgeHistogram;

/**
 * The Map page's panel beside the map: the face under the cursor, then the selection's size, ages
 * and decoded mean face beside everyone's, the saved subsets and the selection's buttons. It only
 * shows what the page gives it and says which button was pressed; the page does the work.
 */
class MapSelectionPanel : public QWidget {
    Q_OBJECT
public:
    explicit MapSelectionPanel(QWidget* parent = nullptr);

    /** Shows a face's picture and its lines (rich text) in the preview. */
    void showPreview(const QImage& face, const QString& text);
    /** Shows no face: the preview's hint on hovering, clicking and right-clicking. */
    void clearPreview();
    /** The line over the histogram: "N of M faces selected", or how to select. */
    void setSelectionText(const QString& text);
    QString selectionText() const;
    /** The histogram's age shares: every face's and the selection's (empty: none). */
    void setAgeShares(std::vector<double> all, std::vector<double> selection);
    /** Shows the decoded mean faces: of the selection (null: none) and of every face. */
    void showMeanFaces(const QImage& selection, const QImage& all);
    /** Says in the selection's mean face why it could not be decoded. */
    void showMeanError(const QString& error);
    /** Offers these saved subsets (after the "Saved subsets..." entry). */
    void setSubsets(const QStringList& names);
    /** Offers one more saved subset, unless it is offered already. */
    void addSubset(const QString& name);
    /** Empties what shows a map: the preview (back to its hint), the mean faces, the ages and the subsets. */
    void clear();

Q_SIGNALS:
    void showGridClicked();
    void exportClicked();
    void saveClicked();
    void clusterClicked();
    void excludeClicked();
    void clearClicked();
    /** "Error of these faces (Slices)". */
    void sliceClicked();
    /** A saved subset was chosen in the list. */
    void subsetChosen(const QString& name);

private:
    QLayout* buildPreview();
    QLayout* buildMeanFaces();
    QLayout* buildActions(); // the selection's buttons and the saved subsets, connected
    QLabel* m_preview;
    QLabel* m_previewText;
    QLabel* m_selectionLabel;
    AgeHistogram* m_histogram;
    QLabel* m_meanSelection;
    QLabel* m_meanAll;
    QComboBox* m_subsets;
};

} // namespace faceatlas::ui
