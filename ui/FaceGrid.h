#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <QModelIndex>
#include <QWidget>
#include <string>
#include <utility>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QListView;
class QPushButton;
class QSpinBox;

namespace faceatlas {
struct FaceQuality;
}

namespace faceatlas::ui {

class ThumbnailModel;
class FaceFilter;

/**
 * The Dataset page's grid of faces with its filter bar: ages, gender, cluster, framing, the sort and
 * its direction, Predict ages, a CSV column's value and a quality range, the map's selection, and "N
 * of M faces match" under it. It filters and sorts by itself and says so (filterChanged); what needs
 * the session or the lane (the dataset, predictions, clusters, column values, quality columns) the
 * page hands it.
 */
class FaceGrid : public QWidget {
    Q_OBJECT
public:
    explicit FaceGrid(QWidget* parent = nullptr);

    /** Every face of the open dataset (the page sets the dataset and its predictions and clusters). */
    ThumbnailModel* model() const { return m_model; }
    /** The faces the grid shows, in its order. */
    FaceFilter* filter() const { return m_filter; }
    /** The grid of thumbnails itself. */
    QListView* view() const { return m_grid; }
    /** The role the grid sorts by (0: dataset order). */
    int sortRole() const;
    /** The line under the grid: "N of M faces match", or why it shows none. */
    void setMatchText(const QString& text);
    /** The line under the grid. */
    QString matchText() const;
    /** Puts the keyboard focus on the age filter (Find). */
    void focusFilter();
    /** Shows only the members of `cluster` (-1: all), when the cluster filter offers it. */
    void filterToCluster(int cluster);
    /** The cluster filter's entries: all clusters, then one per cluster with its title; all chosen. */
    void setClusters(const QStringList& titles);
    /** The cluster filter's entries renamed (`titleOf(cluster)`), the choice kept. */
    void renameClusters(const std::function<QString(int)>& titleOf);
    /** The framing filter's groups with their sizes (hidden when the detector did not look); any chosen. */
    void refreshFramingGroups();
    /** The column filter for a preparation's further CSV columns (hidden without any), no column chosen. */
    void setColumnNames(const std::vector<std::string>& names);
    /** The chosen CSV column (-1: any). */
    int chosenColumn() const;
    /** The chosen column's value (nullopt: any value). */
    std::optional<std::string> chosenValue() const;
    /** The value filter emptied, and shown when a column is chosen. */
    void clearColumnValues(bool shown);
    /** The chosen column's values with their counts, the most frequent first, after "Any value". */
    void showColumnValues(const std::vector<std::pair<std::string, size_t>>& values);
    /** No quality columns (yet): the quality filter and range hidden, any quality chosen. */
    void clearQuality();
    /** The open preparation's quality columns (null: none); the quality filter is offered with them. */
    void setQuality(std::shared_ptr<const FaceQuality> quality);
    /** Shows only the faces flagged in `mask` (the map's selection), with a line saying how many. */
    void setSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count);
    /** The subset's line, in other words (what the faces are). */
    void setSubsetText(const QString& text);
    /** The subset's line (empty when no subset is shown). */
    QString subsetText() const;
    /** Predict ages on or off (a dataset is open). */
    void setPredictEnabled(bool enabled);

Q_SIGNALS:
    /** The user changed what the grid shows or its order (a filter, the sort). */
    void filterChanged();
    /** A face clicked (an index of filter()). */
    void faceClicked(const QModelIndex& index);
    /** A face double-clicked (a row of the open dataset). */
    void faceActivated(qint64 index);
    /** "Show attention" from the context menu. */
    void showAttention(qint64 index);
    /** "More like this" from the context menu. */
    void moreLikeThis(qint64 index);
    /** The faces selected (rows of the open dataset). */
    void facesSelected(const std::vector<qint64>& rows);
    /** "Show all faces": the user drops the map's selection. */
    void subsetClearRequested();
    /** Predict ages clicked. */
    void predictRequested();
    /** A CSV column chosen (its values are counted on the page's lane). */
    void columnChosen();
    /** A value of the chosen column chosen (its faces are matched on the page's lane). */
    void columnValueChosen();

private:
    // Built in this order by the constructor: the filter bar's boxes, the grid, the rows around it;
    // then the signals.
    void createFilters();
    void createColumnFilters();
    void createGrid();
    QHBoxLayout* buildSubsetRow();
    void buildLayout();
    void connectFilters();
    /** Re-sorts with the chosen key, each in its natural order first. */
    void sortByChosenKey();
    void showContextMenu(const QPoint& at);
    /** The chosen quality column's range into the filter (the boxes span its values when chosen). */
    void applyQualityRange(bool columnChanged);

    ThumbnailModel* m_model;
    FaceFilter* m_filter;
    QListView* m_grid;
    QSpinBox* m_filterLow;
    QSpinBox* m_filterHigh;
    QComboBox* m_filterGender;
    QComboBox* m_sortBy;
    QCheckBox* m_descending;
    QPushButton* m_predict;
    QComboBox* m_filterCluster;
    QComboBox* m_filterFraming; // aligned preparations: the faces aligned, not found, from group photos
    // "column = value" (a csv: source's further columns): shown when the open preparation kept some.
    QComboBox* m_filterColumn;
    QComboBox* m_filterValue;
    // The quality columns measured at prepare (issue 29): a sort key each, and a range filter on one,
    // shown when the open preparation has them.
    QComboBox* m_filterQuality;
    QDoubleSpinBox* m_qualityLow;
    QDoubleSpinBox* m_qualityHigh;
    QLabel* m_matchCount;
    QLabel* m_subsetLabel;
    QPushButton* m_subsetClear;
};

} // namespace faceatlas::ui
