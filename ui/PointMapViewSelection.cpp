// The point map's selection and input: the selection flags (in point order and in Z-order), the
// rectangle and the lasso, the grid's and "more like this"'s rings, finding the point under the
// cursor, and the mouse, wheel and keys. PointMapView.cpp holds the drawing and the view.
#include "PointMapView.h"

#include <algorithm>
#include <cmath>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

namespace faceatlas::ui {

namespace {

constexpr size_t kMaxHighlighted = 5000;

} // namespace

void PointMapView::setTool(Tool tool)
{
    m_tool = tool;
    setCursor(tool == Tool::Pan ? Qt::OpenHandCursor : Qt::CrossCursor);
}

void PointMapView::setSelection(std::vector<char> selected)
{
    if (static_cast<qint64>(selected.size()) != pointCount())
        selected.clear();
    m_selected = std::move(selected);
    m_selectedCount = std::count(m_selected.begin(), m_selected.end(), 1);
    if (m_selectedCount == 0)
        m_selected.clear();
    m_sortedSelected.clear();
    if (!m_selected.empty()) {
        m_sortedSelected.resize(m_selected.size());
        for (size_t k = 0; k < m_order.size(); ++k)
            m_sortedSelected[k] = m_selected[static_cast<size_t>(m_order[k])];
    }
    invalidate();
    Q_EMIT selectionChanged(m_selectedCount);
}

std::vector<qint64> PointMapView::selectedRows() const
{
    std::vector<qint64> rows;
    rows.reserve(static_cast<size_t>(m_selectedCount));
    for (size_t i = 0; i < m_selected.size(); ++i)
        if (m_selected[i])
            rows.push_back(static_cast<qint64>(i));
    return rows;
}

void PointMapView::clearSelection()
{
    setSelection({});
}

void PointMapView::selectPolygon(const QPolygonF& polygon, bool add, bool remove)
{
    const qint64 n = pointCount();
    if (n == 0 || polygon.size() < 3)
        return;
    // The polygon as a mask at the widget's size: one lookup per point, whatever its number of sides.
    const QRect bounds = polygon.boundingRect().toAlignedRect().intersected(rect());
    QImage mask(size(), QImage::Format_Grayscale8);
    mask.fill(0);
    {
        QPainter painter(&mask);
        painter.setPen(Qt::NoPen);
        painter.setBrush(Qt::white);
        painter.drawPolygon(polygon, Qt::OddEvenFill);
    }
    std::vector<char> selected = (add || remove) && !m_selected.empty() ? m_selected : std::vector<char>(n, 0);
    // In Z-order, so the mask's pixels are read in nearby runs.
    const float* p = m_sortedXy.data();
    const double w2 = width() / 2.0, h2 = height() / 2.0;
    for (qint64 k = 0; k < n; ++k) {
        const int x = static_cast<int>(std::floor((p[2 * k] - m_centreX) * m_scale + w2));
        const int y = static_cast<int>(std::floor(h2 - (p[2 * k + 1] - m_centreY) * m_scale));
        if (!bounds.contains(x, y) || mask.constScanLine(y)[x] == 0)
            continue;
        selected[static_cast<size_t>(m_order[static_cast<size_t>(k)])] = remove ? 0 : 1;
    }
    setSelection(std::move(selected));
}

void PointMapView::setHighlighted(std::vector<qint64> points)
{
    if (points.size() > kMaxHighlighted)
        points.resize(kMaxHighlighted);
    points.erase(std::remove_if(points.begin(), points.end(), [this](qint64 i) { return i < 0 || i >= pointCount(); }),
                 points.end());
    m_highlighted = std::move(points);
    update();
}

void PointMapView::setRinged(std::vector<qint64> points)
{
    if (points.size() > kMaxHighlighted)
        points.resize(kMaxHighlighted);
    points.erase(std::remove_if(points.begin(), points.end(), [this](qint64 i) { return i < 0 || i >= pointCount(); }),
                 points.end());
    m_ringed = std::move(points);
    update();
}

qint64 PointMapView::pointAt(QPoint pos, int radius) const
{
    if (m_thumbnails) {
        // Faces are drawn in order, so the last one under the cursor is the one on top.
        const int side = m_inView.size() < 100 ? 48 : 32;
        for (auto it = m_inView.rbegin(); it != m_inView.rend(); ++it) {
            const QPointF c = screenPosition(*it);
            if (std::abs(pos.x() - c.x()) <= side / 2.0 && std::abs(pos.y() - c.y()) <= side / 2.0)
                return *it;
        }
        return -1;
    }
    const int w = m_layer.width(), h = m_layer.height();
    if (m_pick.size() != static_cast<size_t>(w) * h)
        return -1;
    qint64 best = -1;
    int bestDistance = radius * radius + 1;
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx) {
            const int x = pos.x() + dx, y = pos.y() + dy;
            if (x < 0 || y < 0 || x >= w || y >= h)
                continue;
            const qint32 i = m_pick[static_cast<size_t>(y) * w + x];
            if (i >= 0 && dx * dx + dy * dy < bestDistance) {
                bestDistance = dx * dx + dy * dy;
                best = i;
            }
        }
    return best;
}

void PointMapView::mousePressEvent(QMouseEvent* event)
{
    m_pressPos = m_lastPos = event->position().toPoint();
    m_dragging = true;
    m_panning = event->button() == Qt::MiddleButton || event->button() == Qt::RightButton
                || (event->button() == Qt::LeftButton && m_tool == Tool::Pan);
    m_lasso.clear();
    m_lasso << event->position();
    if (m_panning)
        setCursor(Qt::ClosedHandCursor);
}

void PointMapView::mouseMoveEvent(QMouseEvent* event)
{
    const QPoint pos = event->position().toPoint();
    if (!m_dragging) {
        const qint64 hovered = pointAt(pos);
        if (hovered != m_hovered) {
            m_hovered = hovered;
            update();
            Q_EMIT pointHovered(hovered);
        }
        return;
    }
    if (m_panning) {
        m_centreX -= (pos.x() - m_lastPos.x()) / m_scale;
        m_fitted = false;
        m_centreY += (pos.y() - m_lastPos.y()) / m_scale;
        invalidate();
    } else {
        m_lasso << event->position();
        update();
    }
    m_lastPos = pos;
}

void PointMapView::mouseReleaseEvent(QMouseEvent* event)
{
    const QPoint pos = event->position().toPoint();
    const bool click = (pos - m_pressPos).manhattanLength() < 4;
    const bool wasPanning = m_panning;
    m_dragging = m_panning = false;
    if (!click || event->button() != Qt::LeftButton) {
        // The cursor has moved on (a drag) or a menu took it: the next move finds what is under it.
        m_hovered = -1;
        Q_EMIT pointHovered(-1);
    }
    setTool(m_tool); // the cursor
    if (click) {
        const qint64 i = pointAt(pos);
        if (i >= 0 && event->button() == Qt::LeftButton)
            Q_EMIT pointClicked(i);
        else if (i >= 0 && event->button() == Qt::RightButton)
            Q_EMIT pointMenuRequested(i, event->globalPosition().toPoint());
        update();
        return;
    }
    if (wasPanning)
        return;
    const bool add = event->modifiers() & Qt::ShiftModifier;
    const bool remove = event->modifiers() & Qt::ControlModifier;
    if (m_tool == Tool::Rectangle)
        selectPolygon(QPolygonF(QRectF(QRect(m_pressPos, pos).normalized())), add, remove);
    else if (m_tool == Tool::Lasso)
        selectPolygon(m_lasso, add, remove);
    m_lasso.clear();
    update();
}

void PointMapView::wheelEvent(QWheelEvent* event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps != 0)
        zoomBy(std::pow(1.25, steps), event->position());
    event->accept();
}

void PointMapView::keyPressEvent(QKeyEvent* event)
{
    if (event->key() == Qt::Key_Escape) {
        clearSelection();
        return;
    }
    if (event->key() == Qt::Key_Plus || event->key() == Qt::Key_Equal) {
        zoomBy(1.5, rect().center());
        return;
    }
    if (event->key() == Qt::Key_Minus) {
        zoomBy(1 / 1.5, rect().center());
        return;
    }
    if (event->key() == Qt::Key_0 || event->key() == Qt::Key_Home) {
        fitAll();
        return;
    }
    QWidget::keyPressEvent(event);
}

void PointMapView::leaveEvent(QEvent*)
{
    if (m_hovered >= 0) {
        m_hovered = -1;
        update();
        Q_EMIT pointHovered(-1);
    }
}

} // namespace faceatlas::ui
