#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <QImage>
#include <QWidget>
#include <vector>

class QComboBox;
class QLayout;
class QLabel;
class QPushButton;
class QToolButton;

namespace faceatlas {
class Codes;
struct SourceColumns;
} // namespace faceatlas

namespace faceatlas::ui {

class MapLayoutSettings;
class MapSelectionPanel;
class PointMapView;
class Session;
class SimilarFacesPanel;

/**
 * The map of the whole dataset: a 2-D layout of the autoencoder codes (neighbour map or PCA),
 * coloured by any column, with faces in place of points when zoomed in. Its lasso or rectangle
 * selection filters the Dataset page's grid and can be saved, exported as a `csv:` dataset or
 * clustered on its own; the panel shows the selection's size, ages and decoded mean face beside
 * the whole set's. "More like this" finds a face's nearest faces in code space, also for an image
 * file dropped on the page.
 *
 * The page holds the point view, the selection's panel (MapSelectionPanel) and "more like this"
 * (SimilarFacesPanel); what needs the session (decoding, subsets, exports, slices) is done here.
 *
 * Ownership: the page holds the map's points and the codes (memory-mapped) by shared_ptr; both are
 * dropped when the open dataset changes, and a map is shown only when its codes were made from the
 * open preparation, row for row. Files are read and models run on the interactive lane.
 */
class MapPage : public QWidget {
    Q_OBJECT
public:
    explicit MapPage(Session* session, QWidget* parent = nullptr);
    ~MapPage() override;

    /** Computes a map of the current codes (a job) with a projection of core's table; empty: its default. */
    void computeMap(const QString& method = {});
    /** Computes the map with the method chosen on the page (Actions > Compute the map). */
    void computeMapWithChosenMethod();
    /** Shows the map in `dir` (read on the lane) when it belongs to the open dataset. */
    void loadMap(const QString& dir);
    bool hasMap() const;
    QString mapDir() const { return m_mapDir; }
    PointMapView* view() const { return m_view; }
    /** Colours the points by a column of mapColumnNames(). */
    void setColorBy(const QString& column);
    /** The line under the controls: the map shown, its quality, or why there is none. */
    QString statusText() const;
    /** "N of M faces selected". */
    QString selectionText() const;
    std::vector<qint64> selectedRows() const;
    /** Writes the selection as a `csv:` dataset (write queue); the status line says where. */
    void exportSelection(const QString& file);
    /** Saves the selection as a named subset (workspace/subsets/NAME.json, its faces' paths; write queue). */
    void saveSubset(const QString& name);
    /** The saved subsets of the workspace. */
    QStringList subsets() const;
    /** Selects the faces of a saved subset that the open dataset holds (on the lane); false without a map. */
    bool loadSubset(const QString& name);
    /** Clusters only the selected faces (Clusters page, with its k). */
    void clusterSelection();
    /**
     * Appends an `exclude` decision for every selected face to the workspace's review file (write
     * queue: every batch is written, in order), none for a face whose last decision is already one;
     * the status line counts the batches and the earlier decisions the batch replaced.
     */
    void excludeSelection();
    /** The Exclude button: asks first, saying which selected faces have a decision already. */
    void requestExclusion();
    /** The label audit's suspicion score per face (the "suspicion" colour); null: no audit. */
    void setSuspicion(std::shared_ptr<const std::vector<float>> scores);
    /** The nearest faces to face `row` in code space or the age model's feature space (on the lane). */
    void similarTo(qint64 row);
    /** The nearest faces to an image file, encoded with the codes' autoencoder (on the lane). */
    void similarToImage(const QString& file);
    /** The faces the "more like this" strip shows, nearest first. */
    std::vector<qint64> similarFaces() const;
    /** The decoded mean faces shown: of the selection and of every face (null until decoded). */
    QImage selectionMeanFace() const { return m_selectionMean; }
    QImage allMeanFace() const { return m_allMean; }

Q_SIGNALS:
    /** The selection changed: the grid shows only these faces (null mask: all). */
    void subsetChanged(std::shared_ptr<const std::vector<char>> mask, qint64 count);
    /** "Show in grid". */
    void showGrid();
    /** A face was chosen on the map: open it in the face panel. */
    void faceChosen(qint64 row);
    /** Cluster only these rows. */
    void clusterRows(const std::vector<std::int64_t>& rows);
    /** Decisions were added to the review file. */
    void decided();
    /** "Error of these faces": the selection (one flag per face) as a slice called `name`. */
    void sliceRequested(const QString& name, std::shared_ptr<const std::vector<char>> mask);

private:
    // The constructor's parts: the row of controls, the panel beside the map (the selection's and
    // "more like this"'s), and the view's, the panels' and the session's signals.
    QLayout* buildControls();
    QWidget* buildPanel();
    void connectView();
    void connectTools();
    void connectPanels();
    void connectSession(Session* session);
    // The selection's buttons that ask first or check the selection (MapSelectionPanel's signals).
    void askExportSelection();
    void askSaveSubset();
    void requestSlice();
    void excludeRows(const std::vector<qint64>& rows);
    void clear(const QString& why);
    void refreshColors();
    /** The "Colour by" entries for the open preparation (its further CSV columns), keeping the choice when it can. */
    void rebuildColorBy();
    void selectionChanged(qint64 count);
    /** The selection's ages and decoded mean face beside everyone's (on the lane), for the panel. */
    void summarizeSelection(qint64 total);
    void showPreview(qint64 row);
    /** A face chosen in the "more like this" strip: kept in the preview and centred on the map. */
    void pinFace(qint64 row);
    void findLatestMap();
    QString subsetsDir() const;
    Session* m_session;
    PointMapView* m_view;
    QComboBox* m_method;
    QPushButton* m_compute;
    QComboBox* m_colorBy;
    QToolButton* m_pan;
    QToolButton* m_rect;
    QToolButton* m_lasso;
    QLabel* m_status;
    MapSelectionPanel* m_selectionPanel;
    SimilarFacesPanel* m_similarPanel;
    QString m_mapDir;
    QString m_loadingMapDir; // a map being opened on the lane (findLatestMap does not ask twice)
    QString m_statusText;
    QString m_colorMissing;
    std::shared_ptr<const std::vector<float>> m_points;
    std::shared_ptr<const Codes> m_codes;
    std::shared_ptr<const std::vector<float>> m_suspicion;
    std::shared_ptr<const std::vector<float>> m_preserved; // the open map's, from map.csv
    MapLayoutSettings* m_layoutSettings;
    // The open preparation's further CSV columns, read on the lane the first time the map is coloured
    // by one and held until the dataset changes (datasetAboutToChange drops them).
    std::shared_ptr<const SourceColumns> m_sourceColumns;
    QImage m_selectionMean, m_allMean;
    qint64 m_pinned = -1;            // the face the preview shows after a click
    QString m_selectedSubset;        // the saved subset the selection is, until it changes; else empty
    int m_excludeBatchesWriting = 0; // confirmed Exclude batches not written yet
    int m_excludeBatches = 0;        // batches written this session, and their faces
    size_t m_excludedFaces = 0;
};

} // namespace faceatlas::ui
