#include "ThumbnailModel.h"

#include "Session.h"
#include "data/PreparedDataset.h"

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
    case Qt::DisplayRole:
        return r.age ? QString::number(*r.age) : QStringLiteral("?");
    case Qt::ToolTipRole:
        return QString::fromStdString(r.path);
    case AgeRole:
        return r.age ? QVariant(*r.age) : QVariant();
    case GenderRole:
        return static_cast<int>(r.gender);
    case IndexRole:
        return row;
    case SplitRole:
        return m_isVal.empty() ? 0 : static_cast<int>(m_isVal[static_cast<size_t>(row)]);
    default:
        return {};
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

bool FaceFilter::filterAcceptsRow(int row, const QModelIndex& parent) const
{
    const QModelIndex index = sourceModel()->index(row, 0, parent);
    const QVariant age = index.data(ThumbnailModel::AgeRole);
    if (age.isValid() && (age.toInt() < m_low || age.toInt() > m_high))
        return false;
    return m_gender < 0 || index.data(ThumbnailModel::GenderRole).toInt() == m_gender;
}

bool FaceFilter::lessThan(const QModelIndex& a, const QModelIndex& b) const
{
    return a.data(ThumbnailModel::AgeRole).toInt() < b.data(ThumbnailModel::AgeRole).toInt();
}

} // namespace faceatlas::ui
