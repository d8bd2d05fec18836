#include "ThumbnailModel.h"

#include "data/PreparedDataset.h"
#include "Session.h"

#include <cmath>

namespace faceatlas::ui {

ThumbnailModel::ThumbnailModel(QObject* parent)
    : QAbstractListModel(parent)
    , m_cache(4000)
{
}

void ThumbnailModel::setDataset(const PreparedDataset* data)
{
    beginResetModel();
    m_data = data;
    m_cache.clear();
    m_isVal.clear();
    if (data) {
        m_isVal.assign(data->count(), 0);
        for (auto i : data->valIndices())
            m_isVal[i] = 1;
    }
    endResetModel();
}

void ThumbnailModel::setExtras(const std::vector<float>* predictions, const std::vector<int>* clusters)
{
    m_predictions = predictions;
    m_clusters = clusters;
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
    case Qt::ToolTipRole: return QString::fromStdString(r.path);
    case AgeRole: return r.age ? QVariant(*r.age) : QVariant();
    case GenderRole: return static_cast<int>(r.gender);
    case IndexRole: return row;
    case SplitRole: return m_isVal.empty() ? 0 : static_cast<int>(m_isVal[static_cast<size_t>(row)]);
    default: return {};
    }
}

void FaceFilter::setAgeRange(int low, int high)
{
    m_low = low;
    m_high = high;
    invalidateFilter();
}

void FaceFilter::setGender(int gender)
{
    m_gender = gender;
    invalidateFilter();
}

void FaceFilter::setCluster(int cluster)
{
    m_cluster = cluster;
    invalidateFilter();
}

void FaceFilter::setSortRole(int role)
{
    m_sort = role;
    invalidate();
    sort(role ? 0 : -1, role == ThumbnailModel::AgeRole ? Qt::AscendingOrder : Qt::DescendingOrder);
}

bool FaceFilter::filterAcceptsRow(int row, const QModelIndex& parent) const
{
    const QModelIndex index = sourceModel()->index(row, 0, parent);
    if (m_cluster >= 0) {
        const QVariant cluster = index.data(ThumbnailModel::ClusterRole);
        if (!cluster.isValid() || cluster.toInt() != m_cluster)
            return false;
    }
    const QVariant age = index.data(ThumbnailModel::AgeRole);
    if (age.isValid() && (age.toInt() < m_low || age.toInt() > m_high))
        return false;
    return m_gender < 0 || index.data(ThumbnailModel::GenderRole).toInt() == m_gender;
}

bool FaceFilter::lessThan(const QModelIndex& a, const QModelIndex& b) const
{
    const int role = m_sort ? m_sort : ThumbnailModel::IndexRole;
    // Faces without the value (no score, no prediction) sort last in either order.
    const double missing = sortOrder() == Qt::AscendingOrder ? 1e300 : -1e300;
    const QVariant va = a.data(role), vb = b.data(role);
    return (va.isValid() ? va.toDouble() : missing) < (vb.isValid() ? vb.toDouble() : missing);
}

} // namespace faceatlas::ui
