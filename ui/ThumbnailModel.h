#pragma once

#include <cstdint>
#include <memory>
#include <QAbstractListModel>
#include <QCache>
#include <QPixmap>
#include <QSortFilterProxyModel>
#include <vector>

class QListView;

namespace faceatlas {
class PreparedDataset;
struct FaceQuality;
} // namespace faceatlas

namespace faceatlas::ui {

/**
 * The faces of a prepared dataset for a list view. Thumbnails come from the memory-mapped image
 * cache (already decoded and resized), are made only for rows the view paints, and are kept in
 * a bounded cache, so 200,000 faces scroll as smoothly as 200.
 *
 * The model shares ownership of the dataset and of its predictions and cluster labels: it reads
 * only what it holds, so a session that switches datasets can never leave it reading freed memory.
 */
class ThumbnailModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles { AgeRole = Qt::UserRole + 1, GenderRole, IndexRole, SplitRole, FaceScoreRole, ErrorRole, ClusterRole };
    /** FaceFilter's sort by a quality column: QualityRole + the column's position in qualityColumns(). */
    static constexpr int QualityRole = Qt::UserRole + 64;
    explicit ThumbnailModel(QObject* parent = nullptr);
    void setDataset(std::shared_ptr<const PreparedDataset> data);
    const PreparedDataset* dataset() const { return m_data.get(); }
    /**
     * Predicted ages, cluster labels and the predictions' calibrated spreads in years per row (any
     * may be empty; one of another length is ignored; spreads only with predictions).
     */
    void setExtras(std::shared_ptr<const std::vector<float>> predictions,
                   std::shared_ptr<const std::vector<int>> clusters,
                   std::shared_ptr<const std::vector<float>> spreads = nullptr);
    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;

    // The values the filter and the sort read for every row, without going through QVariant
    // (which costs more than the comparison itself at 200,000 rows).
    /** The face's value for AgeRole, FaceScoreRole, ErrorRole or IndexRole; NaN when it has none. */
    double sortValue(int row, int role) const;
    /** The face's age, or -1 when unknown. */
    int age(int row) const;
    /** The face's Gender as an int (see Record). */
    int gender(int row) const;
    /** The face's cluster, or -1 when there are no clusters. */
    int cluster(int row) const;
    /** How the detector framed faces (aligned preparations); FramingGroup::Unknown where it did not look. */
    enum class FramingGroup : std::int8_t { Unknown, Aligned, NotFound };
    FramingGroup framingGroup(int row) const;
    /** The face came from a picture in which several faces were found. */
    bool fromSeveral(int row) const;

private:
    std::shared_ptr<const PreparedDataset> m_data;
    std::shared_ptr<const std::vector<float>> m_predictions; // null, or one per face
    std::shared_ptr<const std::vector<float>> m_spreads;     // null, or one per face (with m_predictions)
    std::shared_ptr<const std::vector<int>> m_clusters;      // null, or one per face
    std::vector<char> m_isVal;
    // Per face, contiguous: what the filter and the sort compare (NaN where unknown).
    std::vector<float> m_age;
    std::vector<float> m_score;
    std::vector<float> m_error;
    std::vector<std::int8_t> m_gender;
    std::vector<std::int16_t> m_facesFound; // Record::facesFound: -1 not looked, 0 none found
    mutable QCache<int, QPixmap> m_cache;
};

/** Filters the faces of a ThumbnailModel (its source model) by age range, gender and cluster; sorts them by
 * age, face score or prediction error. */
class FaceFilter : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setAgeRange(int low, int high);
    void setGender(int gender);   // -1 any, 0 female, 1 male
    void setCluster(int cluster); // -1 any
    /** Faces by how they were framed: Any, Aligned, NotFound (centre-cropped) or Several (from a group photo). */
    enum class Framing { Any, Aligned, NotFound, Several };
    void setFraming(Framing framing);
    /** Only the rows flagged in `mask` (one flag per face; null, or another size: every row). */
    void setSubset(std::shared_ptr<const std::vector<char>> mask);
    bool hasSubset() const { return static_cast<bool>(m_subset); }
    /**
     * Only the rows flagged in `mask` by a "column = value" filter (a further CSV column's values,
     * matched on the lane); null, or another size: no such filter. Apart from the map's subset, so
     * either can change without dropping the other.
     */
    void setColumnMask(std::shared_ptr<const std::vector<char>> mask);
    /** 0 dataset order, else the role to sort by, largest first when `descending`. */
    void setSortRole(int role, bool descending);
    /**
     * The open preparation's quality columns (read on the lane; null, or another row count: none),
     * which a sort by ThumbnailModel::QualityRole + k and the quality range read. Faces without a
     * value sort last, as for the other keys.
     */
    void setQuality(std::shared_ptr<const FaceQuality> quality);
    const FaceQuality* quality() const { return m_quality.get(); }
    /** Only the faces whose quality column `column` (-1: no such filter) lies in [low, high]. */
    void setQualityRange(int column, double low, double high);

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;
    bool lessThan(const QModelIndex& a, const QModelIndex& b) const override;

private:
    int m_low = 0;
    int m_high = 120;
    int m_gender = -1;
    int m_cluster = -1;
    Framing m_framing = Framing::Any;
    int m_sort = 0;
    std::shared_ptr<const std::vector<char>> m_subset;
    std::shared_ptr<const std::vector<char>> m_columnMask;
    std::shared_ptr<const FaceQuality> m_quality;
    int m_qualityColumn = -1;
    double m_qualityLow = 0;
    double m_qualityHigh = 0;
    /** Face `row`'s value in quality column `k` (NaN without one). */
    double qualityValue(int row, int k) const;
};

/** Sets up `view` as the face grid: icon mode, uniform cells, batched layout (for 200,000 faces). */
void configureFaceGrid(QListView* view);

} // namespace faceatlas::ui
