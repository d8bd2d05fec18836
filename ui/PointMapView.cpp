// The point map's drawing: the points laid out in Z-order, the raster of dots or density with its
// pick buffer, the faces when zoomed in, the marks and the legend, and the view's pan and zoom.
// PointMapViewSelection.cpp holds the selection, hit-testing and the mouse and keys.
#include "PointMapView.h"

#include <algorithm>
#include <cmath>
#include <QElapsedTimer>
#include <QPainter>
#include <QPainterPath>

namespace faceatlas::ui {

namespace {

constexpr QRgb kBackground = 0xfffafafa;
constexpr int kMaxThumbnails = 400; // points in view below which they are drawn as faces

/** `c` faded two thirds of the way to the background (points outside the selection). */
QRgb faded(QRgb c)
{
    const auto mix = [](int a, int b) { return (a + 2 * b) / 3; };
    return qRgb(mix(qRed(c), qRed(kBackground)), mix(qGreen(c), qGreen(kBackground)),
                mix(qBlue(c), qBlue(kBackground)));
}

} // namespace

PointMapView::PointMapView(QWidget* parent)
    : QWidget(parent)
    , m_thumbnailCache(3000)
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(300, 300);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

PointLayout PointMapView::layoutPoints(std::shared_ptr<const std::vector<float>> xy)
{
    PointLayout layout;
    layout.xy = std::move(xy);
    if (!layout.xy || layout.xy->size() < 2)
        return layout;
    const std::vector<float>& p = *layout.xy;
    layout.minX = layout.maxX = p[0];
    layout.minY = layout.maxY = p[1];
    for (size_t i = 0; i + 1 < p.size(); i += 2) {
        layout.minX = std::min(layout.minX, p[i]);
        layout.maxX = std::max(layout.maxX, p[i]);
        layout.minY = std::min(layout.minY, p[i + 1]);
        layout.maxY = std::max(layout.maxY, p[i + 1]);
    }
    // Z-order on a 1024 x 1024 grid over the points' extent.
    const size_t n = p.size() / 2;
    std::vector<std::pair<quint32, qint32>> keys(n);
    const float sx = 1023.0f / std::max(1e-6f, layout.maxX - layout.minX);
    const float sy = 1023.0f / std::max(1e-6f, layout.maxY - layout.minY);
    const auto spread = [](quint32 v) { // the bits of v apart, one zero between each
        v = (v | (v << 8)) & 0x00FF00FF;
        v = (v | (v << 4)) & 0x0F0F0F0F;
        v = (v | (v << 2)) & 0x33333333;
        return (v | (v << 1)) & 0x55555555;
    };
    for (size_t i = 0; i < n; ++i) {
        const auto gx = static_cast<quint32>((p[2 * i] - layout.minX) * sx);
        const auto gy = static_cast<quint32>((p[2 * i + 1] - layout.minY) * sy);
        keys[i] = {spread(gx) | (spread(gy) << 1), static_cast<qint32>(i)};
    }
    std::sort(keys.begin(), keys.end());
    layout.order.resize(n);
    layout.sortedXy.resize(2 * n);
    for (size_t k = 0; k < n; ++k) {
        const auto i = static_cast<size_t>(keys[k].second);
        layout.order[k] = keys[k].second;
        layout.sortedXy[2 * k] = p[2 * i];
        layout.sortedXy[2 * k + 1] = p[2 * i + 1];
    }
    return layout;
}

void PointMapView::setPoints(std::shared_ptr<const std::vector<float>> xy)
{
    setPoints(layoutPoints(std::move(xy)));
}

void PointMapView::setPoints(PointLayout layout)
{
    m_xy = std::move(layout.xy);
    m_sortedXy = std::move(layout.sortedXy);
    m_order = std::move(layout.order);
    m_minX = layout.minX;
    m_maxX = layout.maxX;
    m_minY = layout.minY;
    m_maxY = layout.maxY;
    m_thumbnailCache.clear();
    m_selected.clear();
    m_selectedCount = 0;
    m_highlighted.clear();
    m_ringed.clear();
    m_marked = -1;
    m_hovered = -1;
    m_sortedSelected.clear();
    m_colors.clear();
    m_sortedColors.clear();
    m_visible = pointCount(); // sizes the first frame's dots (the frames after count what is in view)
    fitAll();
    Q_EMIT selectionChanged(0);
}

void PointMapView::setColors(std::vector<QRgb> colors, MapLegend legend)
{
    m_colors = std::move(colors);
    m_legend = std::move(legend);
    m_sortedColors.clear();
    if (static_cast<qint64>(m_colors.size()) == pointCount()) {
        m_sortedColors.resize(m_colors.size());
        for (size_t k = 0; k < m_order.size(); ++k)
            m_sortedColors[k] = m_colors[static_cast<size_t>(m_order[k])];
    }
    invalidate();
}

void PointMapView::setThumbnailSource(std::function<QImage(qint64)> source)
{
    m_thumbnailSource = std::move(source);
    m_thumbnailCache.clear();
    update();
}

void PointMapView::fitAll()
{
    const double spanX = std::max(1e-6f, m_maxX - m_minX), spanY = std::max(1e-6f, m_maxY - m_minY);
    m_centreX = (m_minX + m_maxX) / 2.0;
    m_centreY = (m_minY + m_maxY) / 2.0;
    m_scale = std::max(1e-9, std::min((width() - 40) / spanX, (height() - 40) / spanY));
    m_fitted = true;
    invalidate();
}

void PointMapView::zoomBy(double factor, QPointF anchor)
{
    const double w2 = width() / 2.0, h2 = height() / 2.0;
    // The data point under the anchor stays under it.
    const double dataX = (anchor.x() - w2) / m_scale + m_centreX;
    const double dataY = (h2 - anchor.y()) / m_scale + m_centreY;
    const double fit =
        std::min((width() - 40) / std::max(1e-6f, m_maxX - m_minX), (height() - 40) / std::max(1e-6f, m_maxY - m_minY));
    m_scale = std::clamp(m_scale * factor, fit / 4, fit * 100000);
    m_centreX = dataX - (anchor.x() - w2) / m_scale;
    m_fitted = false;
    m_centreY = dataY - (h2 - anchor.y()) / m_scale;
    invalidate();
}

void PointMapView::focusPoint(qint64 i)
{
    if (i < 0 || i >= pointCount())
        return;
    // A zoom at which about 60 faces are around it: its 60th nearest point a third of the view away.
    const float x = (*m_xy)[2 * i], y = (*m_xy)[2 * i + 1];
    std::vector<float> d2(static_cast<size_t>(pointCount()));
    for (qint64 j = 0; j < pointCount(); ++j) {
        const float dx = (*m_xy)[2 * j] - x, dy = (*m_xy)[2 * j + 1] - y;
        d2[static_cast<size_t>(j)] = dx * dx + dy * dy;
    }
    const size_t k = std::min<size_t>(60, d2.size() - 1);
    std::nth_element(d2.begin(), d2.begin() + static_cast<std::ptrdiff_t>(k), d2.end());
    const double radius = std::sqrt(static_cast<double>(d2[k]));
    if (radius > 0)
        m_scale = std::min(width(), height()) / 3.0 / radius;
    m_centreX = x;
    m_fitted = false;
    m_centreY = y;
    invalidate();
}

QPointF PointMapView::screenPosition(qint64 i) const
{
    if (i < 0 || i >= pointCount())
        return {};
    return {((*m_xy)[2 * i] - m_centreX) * m_scale + width() / 2.0,
            height() / 2.0 - ((*m_xy)[2 * i + 1] - m_centreY) * m_scale};
}

void PointMapView::invalidate()
{
    m_dirty = true;
    update();
}

/** What drawing a frame needs: the raster, and widget = x * scale + offset for a dot's top-left corner. */
struct PointMapView::Raster {
    QRgb* bits;
    qsizetype stride;
    int w, h, dot;
    float scale, offsetX, offsetY;
};

void PointMapView::renderPoints(QImage& target)
{
    QElapsedTimer clock;
    clock.start();
    const int w = target.width(), h = target.height();
    target.fill(kBackground);
    m_pick.assign(static_cast<size_t>(w) * h, -1);
    m_inView.clear();
    qint64 visible = 0;
    m_densityPeak = 0;
    // More points in view (the frame before decides) than a quarter of the pixels: a density layer.
    m_density = m_visible > static_cast<qint64>(w) * h / 4;
    if (pointCount() > 0) {
        // Bigger dots when few are in view.
        const int dot = m_visible < 2000 ? 6 : (m_visible < 20000 ? 4 : (m_visible < 200000 ? 3 : 2));
        const float scale = static_cast<float>(m_scale);
        const Raster r{reinterpret_cast<QRgb*>(target.bits()),
                       target.bytesPerLine() / 4,
                       w,
                       h,
                       dot,
                       scale,
                       static_cast<float>(w / 2.0 - dot / 2.0 - m_centreX * m_scale),
                       static_cast<float>(h / 2.0 - dot / 2.0 + m_centreY * m_scale)};
        // With a selection the rest goes first, faded, and the selection is drawn on top as dots.
        const bool selecting = !m_sortedSelected.empty();
        const auto draw = [&](bool selectedPass) {
            if (m_density)
                drawDensity(r, selectedPass, visible);
            else
                drawDots(r, selectedPass, visible);
        };
        if (selecting)
            draw(false); // the rest, faded
        draw(true);      // the selection on top, or every point
    }
    m_visible = visible;
    m_thumbnails = visible > 0 && visible <= kMaxThumbnails && static_cast<bool>(m_thumbnailSource);
    if (!m_thumbnails)
        m_inView.clear();
    m_renderMs = clock.nsecsElapsed() / 1e6;
}

void PointMapView::drawDots(const Raster& r, bool selectedPass, qint64& visible)
{
    const qint64 n = pointCount();
    const float* p = m_sortedXy.data();
    const bool coloured = static_cast<qint64>(m_sortedColors.size()) == n;
    const bool selecting = !m_sortedSelected.empty();
    // Without a selection this pass draws every point; with one, its own side of it.
    if (!selecting && !selectedPass)
        return;
    const float maxX = static_cast<float>(r.w), maxY = static_cast<float>(r.h), minXY = static_cast<float>(-r.dot);
    for (qint64 k = 0; k < n; ++k) {
        if (selecting && (m_sortedSelected[static_cast<size_t>(k)] != 0) != selectedPass)
            continue;
        const float fx = p[2 * k] * r.scale + r.offsetX;
        const float fy = r.offsetY - p[2 * k + 1] * r.scale;
        if (!(fx > minXY && fy > minXY && fx < maxX && fy < maxY))
            continue;
        ++visible;
        const qint32 i = m_order[static_cast<size_t>(k)];
        if (static_cast<int>(m_inView.size()) <= kMaxThumbnails)
            m_inView.push_back(i);
        QRgb c = coloured ? m_sortedColors[static_cast<size_t>(k)] : 0xff7f7f7f;
        if (selecting && !selectedPass)
            c = faded(c);
        const int ix = static_cast<int>(std::floor(fx)), iy = static_cast<int>(std::floor(fy));
        const int x0 = std::max(0, ix), y0 = std::max(0, iy);
        const int x1 = std::min(r.w, ix + r.dot), y1 = std::min(r.h, iy + r.dot);
        for (int y = y0; y < y1; ++y) {
            QRgb* row = r.bits + y * r.stride;
            for (int x = x0; x < x1; ++x)
                row[x] = c;
        }
        // The pick buffer records the dot's centre pixel; pointAt searches around the cursor.
        const int cx = std::clamp(ix + r.dot / 2, 0, r.w - 1), cy = std::clamp(iy + r.dot / 2, 0, r.h - 1);
        m_pick[static_cast<size_t>(cy) * r.w + cx] = i;
    }
}

void PointMapView::drawDensity(const Raster& r, bool selectedPass, qint64& visible)
{
    const qint64 n = pointCount();
    const float* p = m_sortedXy.data();
    const bool coloured = static_cast<qint64>(m_sortedColors.size()) == n;
    const bool selecting = !m_sortedSelected.empty();
    const size_t pixels = static_cast<size_t>(r.w) * r.h;
    m_densityCount.assign(pixels, 0);
    m_densityRgb.assign(pixels * 3, 0);
    // Each point lands on the pixel under its dot's centre. As drawDots: every point without a
    // selection, else one side of it.
    const float half = static_cast<float>(r.dot) / 2;
    for (qint64 k = 0; k < n; ++k) {
        if (selecting && (m_sortedSelected[static_cast<size_t>(k)] != 0) != selectedPass)
            continue;
        const float fx = p[2 * k] * r.scale + r.offsetX + half;
        const float fy = r.offsetY - p[2 * k + 1] * r.scale + half;
        if (!(fx >= 0 && fy >= 0 && fx < static_cast<float>(r.w) && fy < static_cast<float>(r.h)))
            continue;
        ++visible;
        const size_t at = static_cast<size_t>(static_cast<int>(fy)) * r.w + static_cast<size_t>(static_cast<int>(fx));
        QRgb c = coloured ? m_sortedColors[static_cast<size_t>(k)] : 0xff7f7f7f;
        if (selecting && !selectedPass)
            c = faded(c);
        ++m_densityCount[at];
        m_densityRgb[3 * at] += qRed(c);
        m_densityRgb[3 * at + 1] += qGreen(c);
        m_densityRgb[3 * at + 2] += qBlue(c);
        m_pick[at] = m_order[static_cast<size_t>(k)];
    }
    quint32 peak = 0;
    for (const quint32 c : m_densityCount)
        peak = std::max(peak, c);
    m_densityPeak = std::max<qint64>(m_densityPeak, peak);
    if (peak == 0)
        return;
    // Opacity by log count: one point faint but visible (0.35), the densest pixel full colour.
    constexpr quint32 kLevels = 4096;
    std::vector<float> opacity(std::min(peak, kLevels) + 1);
    const double logPeak = std::log1p(static_cast<double>(peak));
    for (size_t c = 1; c < opacity.size(); ++c)
        opacity[c] = static_cast<float>(0.35 + 0.65 * std::log1p(static_cast<double>(c)) / logPeak);
    if (peak > kLevels)
        opacity.back() = 1; // counts beyond the table: full colour
    const float bg[3] = {static_cast<float>(qRed(kBackground)), static_cast<float>(qGreen(kBackground)),
                         static_cast<float>(qBlue(kBackground))};
    for (int y = 0; y < r.h; ++y) {
        QRgb* row = r.bits + y * r.stride;
        for (int x = 0; x < r.w; ++x) {
            const size_t at = static_cast<size_t>(y) * r.w + x;
            const quint32 count = m_densityCount[at];
            if (count == 0)
                continue;
            const float a = opacity[std::min(count, kLevels)], mean = 1.0f / static_cast<float>(count);
            int rgb[3];
            for (int ch = 0; ch < 3; ++ch)
                rgb[ch] =
                    static_cast<int>(bg[ch] + (static_cast<float>(m_densityRgb[3 * at + ch]) * mean - bg[ch]) * a);
            row[x] = qRgb(rgb[0], rgb[1], rgb[2]);
        }
    }
}

QImage PointMapView::thumbnail(qint64 i, int side)
{
    const qint64 key = i * 4 + (side == 48 ? 1 : 0);
    if (QImage* cached = m_thumbnailCache.object(key))
        return *cached;
    QImage face = m_thumbnailSource ? m_thumbnailSource(i) : QImage();
    if (face.isNull())
        return {};
    auto* scaled = new QImage(face.scaled(side, side, Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
    const QImage copy = *scaled;
    m_thumbnailCache.insert(key, scaled);
    return copy;
}

void PointMapView::paintThumbnails(QPainter& painter)
{
    const int side = m_inView.size() < 100 ? 48 : 32;
    const bool coloured = static_cast<qint64>(m_colors.size()) == pointCount();
    for (const qint64 i : m_inView) {
        const QPointF c = screenPosition(i);
        const QRectF box(c.x() - side / 2.0, c.y() - side / 2.0, side, side);
        const QImage face = thumbnail(i, side);
        if (!m_selected.empty() && !m_selected[static_cast<size_t>(i)])
            painter.setOpacity(0.35);
        if (!face.isNull())
            painter.drawImage(box.topLeft(), face);
        painter.setOpacity(1.0);
        // The face's colour (what the map is coloured by) as its frame.
        painter.setPen(QPen(QColor::fromRgb(coloured ? m_colors[static_cast<size_t>(i)] : 0xff7f7f7f), 3));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(box.adjusted(-1.5, -1.5, 1.5, 1.5));
    }
}

void PointMapView::paintLegend(QPainter& painter)
{
    if (m_legend.title.isEmpty())
        return;
    const QFontMetrics fm = painter.fontMetrics();
    const int line = fm.height() + 2;
    const size_t shown = std::min<size_t>(m_legend.entries.size(), 16);
    const bool bar = m_legend.entries.empty() && m_legend.ramp;
    int boxWidth = std::max(170, fm.horizontalAdvance(m_legend.title) + 16);
    for (size_t e = 0; e < shown; ++e)
        boxWidth = std::max(boxWidth, fm.horizontalAdvance(m_legend.entries[e].second) + 36);
    const int rows = 1 + (bar ? 2 : static_cast<int>(shown) + (m_legend.entries.size() > shown ? 1 : 0));
    const QRect box(width() - boxWidth - 10, 10, boxWidth, rows * line + 10);
    painter.setPen(QColor(0, 0, 0, 60));
    painter.setBrush(QColor(255, 255, 255, 225));
    painter.drawRect(box);
    painter.setPen(Qt::black);
    int y = box.top() + 5;
    painter.drawText(QRect(box.left() + 8, y, box.width() - 16, line), Qt::AlignLeft | Qt::AlignVCenter,
                     m_legend.title);
    y += line;
    if (bar) {
        const QRect strip(box.left() + 8, y + 2, box.width() - 16, line - 4);
        for (int x = 0; x < strip.width(); ++x) {
            painter.setPen(m_legend.ramp(static_cast<double>(x) / std::max(1, strip.width() - 1)));
            painter.drawLine(strip.left() + x, strip.top(), strip.left() + x, strip.bottom());
        }
        y += line;
        painter.setPen(Qt::black);
        const QRect labels(box.left() + 8, y, box.width() - 16, line);
        painter.drawText(labels, Qt::AlignLeft | Qt::AlignVCenter, QString::number(m_legend.low, 'g', 4));
        painter.drawText(labels, Qt::AlignRight | Qt::AlignVCenter, QString::number(m_legend.high, 'g', 4));
        return;
    }
    for (size_t e = 0; e < shown; ++e) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(m_legend.entries[e].first);
        painter.drawEllipse(QRect(box.left() + 10, y + line / 2 - 5, 10, 10));
        painter.setPen(Qt::black);
        painter.drawText(QRect(box.left() + 28, y, box.width() - 36, line), Qt::AlignLeft | Qt::AlignVCenter,
                         m_legend.entries[e].second);
        y += line;
    }
    if (m_legend.entries.size() > shown)
        painter.drawText(QRect(box.left() + 28, y, box.width() - 36, line), Qt::AlignLeft | Qt::AlignVCenter,
                         tr("and %1 more").arg(m_legend.entries.size() - shown));
}

void PointMapView::paintEvent(QPaintEvent*)
{
    if (m_dirty || m_layer.size() != size()) {
        if (m_layer.size() != size())
            m_layer = QImage(size(), QImage::Format_RGB32);
        renderPoints(m_layer);
        m_dirty = false;
    }
    QPainter painter(this);
    painter.drawImage(0, 0, m_layer);
    painter.setRenderHint(QPainter::Antialiasing);
    if (m_thumbnails)
        paintThumbnails(painter);
    // The grid's selected faces: rings.
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(QColor(20, 20, 20), 2));
    for (const qint64 i : m_highlighted)
        painter.drawEllipse(screenPosition(i), 7, 7);
    painter.setPen(QPen(QColor(240, 130, 0), 2.5));
    for (const qint64 i : m_ringed)
        painter.drawEllipse(screenPosition(i), 8, 8);
    if (m_marked >= 0 && m_marked < pointCount()) {
        // The face "more like this" started from: a red diamond.
        const QPointF c = screenPosition(m_marked);
        painter.setPen(QPen(QColor(220, 20, 20), 2.5));
        painter.drawPolygon(QPolygonF() << c + QPointF(0, -11) << c + QPointF(11, 0) << c + QPointF(0, 11)
                                        << c + QPointF(-11, 0));
    }
    if (m_hovered >= 0) {
        painter.setPen(QPen(QColor(230, 30, 30), 2));
        painter.drawEllipse(screenPosition(m_hovered), 9, 9);
    }
    if (m_dragging && m_tool != Tool::Pan && !m_panning) {
        painter.setPen(QPen(QColor(30, 30, 30), 1, Qt::DashLine));
        painter.setBrush(QColor(40, 120, 220, 40));
        if (m_tool == Tool::Rectangle)
            painter.drawRect(QRect(m_pressPos, m_lastPos).normalized());
        else
            painter.drawPolygon(m_lasso);
    }
    if (pointCount() == 0) {
        painter.setPen(Qt::darkGray);
        painter.drawText(rect(), Qt::AlignCenter, tr("No map yet"));
    }
    paintLegend(painter);
    if (m_density) {
        const QString note = tr("Density: up to %n faces on one pixel; zoom in to see them as dots", nullptr,
                                static_cast<int>(std::min<qint64>(m_densityPeak, 1 << 30)));
        const QRect box = painter.fontMetrics().boundingRect(note).adjusted(-6, -3, 6, 3);
        const QRect placed(QPoint(8, height() - box.height() - 8), box.size());
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(255, 255, 255, 225));
        painter.drawRect(placed);
        painter.setPen(Qt::black);
        painter.drawText(placed, Qt::AlignCenter, note);
    }
}

void PointMapView::resizeEvent(QResizeEvent*)
{
    if (m_fitted) {
        fitAll();
        return;
    }
    invalidate();
}

} // namespace faceatlas::ui
