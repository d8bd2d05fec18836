#pragma once

#include <functional>
#include <memory>
#include <QCache>
#include <QImage>
#include <QPolygonF>
#include <QWidget>
#include <vector>

namespace faceatlas::ui {

/** What the corner of the map explains: named colours (clusters, gender, split) or a colour bar. */
struct MapLegend {
    QString title;
    std::vector<std::pair<QColor, QString>> entries; // categorical; empty for a colour bar
    double low = 0, high = 0;                        // the colour bar's range
    std::function<QColor(double)> ramp;              // the colour bar's colours for 0..1
};

/** Points ready to draw: their bounds and Z-order (see PointMapView::layoutPoints). */
struct PointLayout {
    std::shared_ptr<const std::vector<float>> xy; // x0, y0, x1, y1, ...
    std::vector<float> sortedXy;                  // the same points in Z-order of their position
    std::vector<qint32> order;                    // the point at each position of sortedXy
    float minX = 0, maxX = 1, minY = 0, maxY = 1;
};

/**
 * A scatter view written for points, not for a chart: up to millions of 2-D points drawn straight
 * into a raster (no per-point objects), with pan (drag, or middle button) and zoom (wheel) about the
 * cursor. Points are coloured one by one; a selection is drawn over the rest, which fade. Zoomed in
 * far enough that few points are in view, the points become the faces' thumbnails.
 *
 * Rectangle and lasso tools select (Shift adds, Ctrl removes); Escape clears. A click on a point
 * emits pointClicked, hovering one pointHovered. The raster also records which point owns each
 * pixel, so finding the point under the cursor costs nothing however many there are.
 *
 * Ownership: the view shares the coordinates (a shared_ptr) and owns its colours and selection.
 */
class PointMapView : public QWidget {
    Q_OBJECT
public:
    enum class Tool { Pan, Rectangle, Lasso };
    explicit PointMapView(QWidget* parent = nullptr);

    /**
     * Bounds and Z-order of the points (so that neighbouring points are drawn one after another and
     * their pixels stay in cache): a sort, about 0.2 s for a million points, so a large map is laid
     * out off the GUI thread and handed to setPoints.
     */
    static PointLayout layoutPoints(std::shared_ptr<const std::vector<float>> xy);
    /** Shows laid-out points; fits the view to them and clears the selection. */
    void setPoints(PointLayout layout);
    /** Lays the points (x0, y0, x1, y1, ...) out here and shows them. Null: none. */
    void setPoints(std::shared_ptr<const std::vector<float>> xy);
    qint64 pointCount() const { return m_xy ? static_cast<qint64>(m_xy->size() / 2) : 0; }
    /** One ARGB colour per point (another count is ignored: every point grey). */
    void setColors(std::vector<QRgb> colors, MapLegend legend);
    const MapLegend& legend() const { return m_legend; }
    const std::vector<QRgb>& colors() const { return m_colors; }
    /** Where thumbnails come from when zoomed in (called on the GUI thread; cheap for a memory-mapped face). */
    void setThumbnailSource(std::function<QImage(qint64)> source);

    void setTool(Tool tool);
    Tool tool() const { return m_tool; }
    /** One flag per point (another count clears the selection); emits selectionChanged. */
    void setSelection(std::vector<char> selected);
    const std::vector<char>& selection() const { return m_selected; }
    qint64 selectedCount() const { return m_selectedCount; }
    std::vector<qint64> selectedRows() const;
    /** Selects the points inside `polygon` (widget coordinates), adding to or removing from the selection. */
    void selectPolygon(const QPolygonF& polygon, bool add = false, bool remove = false);
    void clearSelection();
    /** Points drawn with a ring (the grid's selected faces); at most a few thousand are kept. */
    void setHighlighted(std::vector<qint64> points);
    const std::vector<qint64>& highlighted() const { return m_highlighted; }
    /** Points ringed in orange ("more like this" results), apart from the grid's selection. */
    void setRinged(std::vector<qint64> points);
    const std::vector<qint64>& ringed() const { return m_ringed; }
    /** One point marked apart (the face "more like this" started from); -1: none. */
    void setMarked(qint64 point)
    {
        m_marked = point;
        update();
    }

    /** Shows every point. */
    void fitAll();
    /** Zooms by `factor` keeping the data point under `anchor` (widget coordinates) in place. */
    void zoomBy(double factor, QPointF anchor);
    /** Centres the view on point i at a zoom where its neighbours show as faces. */
    void focusPoint(qint64 i);
    /** Widget position of point i. */
    QPointF screenPosition(qint64 i) const;
    /** The point drawn at (or within `radius` px of) `pos`, -1 when none. */
    qint64 pointAt(QPoint pos, int radius = 4) const;
    /** Points inside the view at the last redraw, and whether they were drawn as thumbnails. */
    qint64 visibleCount() const { return m_visible; }
    bool showingThumbnails() const { return m_thumbnails; }

    /**
     * Draws every point into `target` (its size is the view's) and fills the pick buffer: the full
     * redraw that panning and zooming cost. Public so a benchmark can time it.
     */
    void renderPoints(QImage& target);
    /** Milliseconds the last full redraw of the points took. */
    double lastRenderMs() const { return m_renderMs; }
    /**
     * True when the last redraw drew a density layer: more points were in view than the raster has
     * room for as dots (a quarter of its pixels), so each pixel shows the mean colour of the points
     * on it, stronger where more of them overlap (log scale), instead of the last dot drawn there.
     * Zooming in until fewer are in view brings the dots back, then the faces.
     */
    bool showingDensity() const { return m_density; }
    /** The most points on one pixel in the last density layer (0 without one). */
    qint64 densityPeak() const { return m_densityPeak; }

Q_SIGNALS:
    void selectionChanged(qint64 count);
    void pointClicked(qint64 index);
    void pointHovered(qint64 index); // -1 when the cursor leaves the points
    /** A right click on a point (not a drag): the page offers what can be done with that face. */
    void pointMenuRequested(qint64 index, QPoint globalPos);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void invalidate();
    void paintThumbnails(QPainter& painter);
    void paintLegend(QPainter& painter);
    struct Raster;
    void drawDots(const Raster& r, bool selectedOnly, qint64& visible);
    void drawDensity(const Raster& r, bool selectedPass, qint64& visible);
    QImage thumbnail(qint64 i, int side);

    std::shared_ptr<const std::vector<float>> m_xy;
    std::vector<QRgb> m_colors;
    // The points in Z-order (see layoutPoints): coordinates, colours and selection flags in that
    // order, and the point each position holds.
    std::vector<float> m_sortedXy;
    std::vector<qint32> m_order;
    std::vector<QRgb> m_sortedColors;
    std::vector<char> m_sortedSelected;
    MapLegend m_legend;
    std::vector<char> m_selected;
    qint64 m_selectedCount = 0;
    std::vector<qint64> m_highlighted;
    std::vector<qint64> m_ringed;
    qint64 m_marked = -1;
    std::function<QImage(qint64)> m_thumbnailSource;
    QCache<qint64, QImage> m_thumbnailCache;
    // The view: widget = (data - centre) * scale + size / 2, y pointing up.
    double m_centreX = 0, m_centreY = 0, m_scale = 1;
    // True while the view shows the whole map as fitAll() framed it: a resize (the page laid out
    // after a map was set while hidden, a window made larger) frames it again. Zooming, panning or
    // centring on a face keeps what the user chose.
    bool m_fitted = true;
    float m_minX = 0, m_maxX = 1, m_minY = 0, m_maxY = 1;
    // The last raster and, per pixel, the point drawn there (-1: none).
    QImage m_layer;
    std::vector<qint32> m_pick;
    bool m_dirty = true;
    double m_renderMs = 0;
    qint64 m_visible = 0;
    bool m_thumbnails = false;
    bool m_density = false;
    qint64 m_densityPeak = 0;
    // The density layer's per-pixel sums, kept between redraws (sized to the raster).
    std::vector<quint32> m_densityCount;
    std::vector<quint32> m_densityRgb; // r, g, b sums per pixel
    std::vector<qint64> m_inView;      // the points in view when few enough are (thumbnails)
    // Interaction.
    Tool m_tool = Tool::Lasso;
    bool m_panning = false;
    bool m_dragging = false;
    QPoint m_pressPos;
    QPoint m_lastPos;
    QPolygonF m_lasso;
    qint64 m_hovered = -1;
};

} // namespace faceatlas::ui
