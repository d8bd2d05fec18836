#include "ThumbnailModel.h"

#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "Session.h"

#include <cmath>
#include <limits>
#include <QListView>

namespace faceatlas::ui {

ThumbnailModel::ThumbnailModel(QObject* parent)
    : QAbstractListModel(parent)
    , m_cache(4000)
{
}

void ThumbnailModel::setDataset(std::shared_ptr<const PreparedDataset> dataset)
{
    beginResetModel();
    m_data = std::move(dataset);
    m_predictions.reset();
    m_spreads.reset();
    m_clusters.reset();
    const PreparedDataset* const data = m_data.get();
    m_cache.clear();
    m_isVal.clear();
    m_age.clear();
    m_score.clear();
    m_gender.clear();
    m_error.clear();
    m_facesFound.clear();
    if (data) {
        m_isVal.assign(data->count(), 0);
        for (auto i : data->valIndices())
            m_isVal[i] = 1;
        // The columns the filter and the sort read, side by side in memory.
        m_age.reserve(data->count());
        m_score.reserve(data->count());
        m_gender.reserve(data->count());
        for (const Record& r : data->records()) {
            m_age.push_back(r.age ? static_cast<float>(*r.age) : std::numeric_limits<float>::quiet_NaN());
            m_score.push_back(static_cast<float>(r.faceScore));
            m_gender.push_back(static_cast<std::int8_t>(r.gender));
            m_facesFound.push_back(r.facesFound);
        }
    }
    endResetModel();
}

void ThumbnailModel::setExtras(std::shared_ptr<const std::vector<float>> predictions,
                               std::shared_ptr<const std::vector<int>> clusters,
                               std::shared_ptr<const std::vector<float>> spreads)
{
    const size_t n = m_data ? m_data->count() : 0;
    m_predictions = predictions && predictions->size() == n && n > 0 ? std::move(predictions) : nullptr;
    m_spreads = m_predictions && spreads && spreads->size() == n ? std::move(spreads) : nullptr;
    m_clusters = clusters && clusters->size() == n && n > 0 ? std::move(clusters) : nullptr;
    m_error.clear();
    if (m_predictions && m_data) {
        m_error.assign(m_age.size(), std::numeric_limits<float>::quiet_NaN());
        for (size_t i = 0; i < std::min(m_error.size(), m_predictions->size()); ++i)
            m_error[i] = std::abs((*m_predictions)[i] - m_age[i]); // NaN where the age is unknown
    }
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0), index(rowCount() - 1));
}

int ThumbnailModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || !m_data ? 0 : static_cast<int>(m_data->count());
}

QVariant ThumbnailModel::data(const QModelIndex& index, int role) const
{
    if (!m_data || !index.isValid())
        return {};
    const int row = index.row();
    const Record& r = m_data->records()[static_cast<size_t>(row)];
    switch (role) {
    case Qt::DecorationRole: {
        if (QPixmap* cached = m_cache.object(row))
            return *cached;
        const int s = m_data->imageSize();
        auto* pixmap = new QPixmap(QPixmap::fromImage(rgbImage(m_data->image(static_cast<size_t>(row)), s, s))
                                       .scaled(72, 72, Qt::KeepAspectRatio, Qt::SmoothTransformation));
        m_cache.insert(row, pixmap);
        return *pixmap;
    }
    case Qt::DisplayRole: {
        QString text = r.age ? QString::number(*r.age) : QStringLiteral("?");
        if (m_predictions && static_cast<size_t>(row) < m_predictions->size())
            text += QStringLiteral(" (%1)").arg((*m_predictions)[static_cast<size_t>(row)], 0, 'f', 0);
        return text;
    }
    case FaceScoreRole: return std::isnan(r.faceScore) ? QVariant() : QVariant(r.faceScore);
    case ErrorRole:
        if (m_predictions && static_cast<size_t>(row) < m_predictions->size() && r.age)
            return std::abs((*m_predictions)[static_cast<size_t>(row)] - *r.age);
        return {};
    case ClusterRole:
        if (m_clusters && static_cast<size_t>(row) < m_clusters->size())
            return (*m_clusters)[static_cast<size_t>(row)];
        return {};
    case Qt::ToolTipRole: {
        QString tip = QString::fromStdString(recordKey(r));
        if (m_predictions && static_cast<size_t>(row) < m_predictions->size()) {
            const auto i = static_cast<size_t>(row);
            tip += tr("\nPredicted age: %1")
                       .arg(predictedAgeText((*m_predictions)[i], m_spreads ? (*m_spreads)[i] : NAN,
                                             m_spreads != nullptr));
        }
        return tip;
    }
    case AgeRole: return r.age ? QVariant(*r.age) : QVariant();
    case GenderRole: return static_cast<int>(r.gender);
    case IndexRole: return row;
    case SplitRole: return m_isVal.empty() ? 0 : static_cast<int>(m_isVal[static_cast<size_t>(row)]);
    default: return {};
    }
}

double ThumbnailModel::sortValue(int row, int role) const
{
    const auto i = static_cast<size_t>(row);
    switch (role) {
    case AgeRole: return m_age[i];
    case FaceScoreRole: return m_score[i]; // NaN when the source has none
    case ErrorRole: return m_error.empty() ? std::numeric_limits<double>::quiet_NaN() : m_error[i];
    default: return row;
    }
}

int ThumbnailModel::age(int row) const
{
    const float a = m_age[static_cast<size_t>(row)];
    return std::isnan(a) ? -1 : static_cast<int>(a);
}

int ThumbnailModel::gender(int row) const
{
    return m_gender[static_cast<size_t>(row)];
}

int ThumbnailModel::cluster(int row) const
{
    return m_clusters && static_cast<size_t>(row) < m_clusters->size() ? (*m_clusters)[static_cast<size_t>(row)] : -1;
}

void FaceFilter::setAgeRange(int low, int high)
{
    m_low = low;
    m_high = high;
    invalidate();
}

void FaceFilter::setGender(int gender)
{
    m_gender = gender;
    invalidate();
}

void FaceFilter::setCluster(int cluster)
{
    m_cluster = cluster;
    invalidate();
}

void FaceFilter::setSortRole(int role, bool descending)
{
    m_sort = role;
    invalidate();
    sort(role ? 0 : -1, descending ? Qt::DescendingOrder : Qt::AscendingOrder);
}

void FaceFilter::setSubset(std::shared_ptr<const std::vector<char>> mask)
{
    const auto* faces = static_cast<const ThumbnailModel*>(sourceModel());
    if (mask && (!faces || mask->size() != static_cast<size_t>(faces->rowCount())))
        mask.reset();
    m_subset = std::move(mask);
    invalidateFilter();
}

void FaceFilter::setQuality(std::shared_ptr<const FaceQuality> quality)
{
    const auto* faces = static_cast<const ThumbnailModel*>(sourceModel());
    if (quality && (!faces || quality->rows != static_cast<size_t>(faces->rowCount())))
        quality.reset();
    // Column k is qualityColumns()[k] (the sort's roles and the range's columns): a table of other
    // columns (none that FaceAtlas writes) is not used.
    for (size_t k = 0; quality && k < kQualityColumnCount; ++k)
        if (quality->names.size() != kQualityColumnCount || quality->names[k] != qualityColumns()[k].name)
            quality.reset();
    m_quality = std::move(quality);
    invalidate();
}

void FaceFilter::setQualityRange(int column, double low, double high)
{
    m_qualityColumn = column;
    m_qualityLow = low;
    m_qualityHigh = high;
    invalidateFilter();
}

double FaceFilter::qualityValue(int row, int k) const
{
    if (!m_quality || k < 0 || static_cast<size_t>(k) >= m_quality->names.size() || row < 0
        || static_cast<size_t>(row) >= m_quality->rows)
        return std::numeric_limits<double>::quiet_NaN();
    return m_quality->at(static_cast<size_t>(row), static_cast<size_t>(k));
}

void FaceFilter::setColumnMask(std::shared_ptr<const std::vector<char>> mask)
{
    const auto* faces = static_cast<const ThumbnailModel*>(sourceModel());
    if (mask && (!faces || mask->size() != static_cast<size_t>(faces->rowCount())))
        mask.reset();
    m_columnMask = std::move(mask);
    invalidateFilter();
}

ThumbnailModel::FramingGroup ThumbnailModel::framingGroup(int row) const
{
    if (row < 0 || static_cast<size_t>(row) >= m_facesFound.size() || m_facesFound[static_cast<size_t>(row)] < 0)
        return FramingGroup::Unknown;
    return m_facesFound[static_cast<size_t>(row)] == 0 ? FramingGroup::NotFound : FramingGroup::Aligned;
}

bool ThumbnailModel::fromSeveral(int row) const
{
    return row >= 0 && static_cast<size_t>(row) < m_facesFound.size() && m_facesFound[static_cast<size_t>(row)] > 1;
}

void FaceFilter::setFraming(Framing framing)
{
    m_framing = framing;
    invalidate();
}

bool FaceFilter::filterAcceptsRow(int row, const QModelIndex& parent) const
{
    const auto* faces = static_cast<const ThumbnailModel*>(sourceModel());
    if (m_subset && (row < 0 || static_cast<size_t>(row) >= m_subset->size() || !(*m_subset)[static_cast<size_t>(row)]))
        return false;
    if (m_columnMask
        && (row < 0 || static_cast<size_t>(row) >= m_columnMask->size() || !(*m_columnMask)[static_cast<size_t>(row)]))
        return false;
    if (m_cluster >= 0 && faces->cluster(row) != m_cluster)
        return false;
    if (m_qualityColumn >= 0 && m_quality) { // a face without the value is outside any range
        const double v = qualityValue(row, m_qualityColumn);
        if (!(v >= m_qualityLow && v <= m_qualityHigh))
            return false;
    }
    using Group = ThumbnailModel::FramingGroup;
    if ((m_framing == Framing::Aligned && faces->framingGroup(row) != Group::Aligned)
        || (m_framing == Framing::NotFound && faces->framingGroup(row) != Group::NotFound)
        || (m_framing == Framing::Several && !faces->fromSeveral(row)))
        return false;
    const int age = faces->age(row);
    if (age >= 0 && (age < m_low || age > m_high))
        return false;
    return m_gender < 0 || faces->gender(row) == m_gender;
}

bool FaceFilter::lessThan(const QModelIndex& a, const QModelIndex& b) const
{
    const auto* faces = static_cast<const ThumbnailModel*>(sourceModel());
    const int role = m_sort ? m_sort : ThumbnailModel::IndexRole;
    // Faces without the value (no score, no prediction) sort last in either order.
    const double missing = sortOrder() == Qt::AscendingOrder ? 1e300 : -1e300;
    const bool byQuality = role >= ThumbnailModel::QualityRole
                           && role < ThumbnailModel::QualityRole + static_cast<int>(kQualityColumnCount);
    const double va =
        byQuality ? qualityValue(a.row(), role - ThumbnailModel::QualityRole) : faces->sortValue(a.row(), role);
    const double vb =
        byQuality ? qualityValue(b.row(), role - ThumbnailModel::QualityRole) : faces->sortValue(b.row(), role);
    return (std::isnan(va) ? missing : va) < (std::isnan(vb) ? missing : vb);
}

void configureFaceGrid(QListView* view)
{
    view->setViewMode(QListView::IconMode);
    view->setIconSize(QSize(72, 72));
    view->setGridSize(QSize(84, 100));
    view->setUniformItemSizes(true);
    view->setResizeMode(QListView::Adjust);
    view->setLayoutMode(QListView::Batched);
    view->setBatchSize(500);
    view->setMovement(QListView::Static);
}

} // namespace faceatlas::ui
