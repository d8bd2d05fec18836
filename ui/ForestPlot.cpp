#include "ForestPlot.h"

#include <algorithm>
#include <cmath>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

namespace faceatlas::ui {

namespace {

constexpr int kLegend = 34; // the legend and the column heads
constexpr int kRow = 26;    // one slice
constexpr int kGap = 10;    // between the "all" row and the slices
constexpr int kAxis = 50;   // the tick labels and the axis label
constexpr int kName = 200;  // the slice's name
constexpr int kCount = 70;  // its size
constexpr int kBias = 220;  // the bias text at the right
constexpr int kAudit = 150; // the faces a label audit flags, right of the bias (only when the report has them)
constexpr int kMargin = 12; // inside the plot area, so that a dot at 0 is whole

const QColor kInk(0x1f, 0x5f, 0xa8);      // the MAE and its interval
const QColor kSmall(0xa0, 0xa0, 0xa0);    // slices under the minimum size
const QColor kBaseline(0xe0, 0x7b, 0x00); // the baseline's diamond
const QColor kGrid(0xe4, 0xe4, 0xe4);

bool isAll(const SliceRow& row)
{
    return row.by == "all";
}

QString sliceName(const SliceRow& row)
{
    QString name = isAll(row) ? QObject::tr("all faces") : QString::fromStdString(row.slice).replace(',', ", ");
    if (row.flag == "small")
        name += QObject::tr(" (small)");
    return name;
}

QString signedYears(double v)
{
    return (v > 0 ? QStringLiteral("+") : QString()) + QString::number(v, 'f', 2);
}

void drawDiamond(QPainter& p, QPointF c, double r, const QColor& color)
{
    QPainterPath path;
    path.moveTo(c.x(), c.y() - r);
    path.lineTo(c.x() + r, c.y());
    path.lineTo(c.x(), c.y() + r);
    path.lineTo(c.x() - r, c.y());
    path.closeSubpath();
    p.setPen(QPen(color.darker(130), 1));
    p.setBrush(color);
    p.drawPath(path);
}

} // namespace

double niceTickStep(double span, int ticks)
{
    if (!(span > 0) || ticks < 1)
        return 1;
    const double raw = span / ticks;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double m : {1.0, 2.0, 5.0})
        if (m * power >= raw)
            return m * power;
    return 10 * power;
}

ForestPlot::ForestPlot(QWidget* parent)
    : QWidget(parent)
{
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

void ForestPlot::setRows(std::vector<SliceRow> rows)
{
    m_rows = std::move(rows);
    double top = 1;
    for (const SliceRow& r : m_rows)
        top = std::max({top, r.maeHi, r.mae, r.baselineMae});
    m_tick = niceTickStep(top * 1.05, 8);
    m_axisMax = std::ceil(top * 1.05 / m_tick) * m_tick;
    m_hover = -1;
    sortRows();
    setFixedHeight(contentHeight());
    updateGeometry();
    update();
}

void ForestPlot::setOrder(Order order)
{
    m_order = order;
    sortRows();
    update();
}

void ForestPlot::sortRows()
{
    const auto before = [this](const SliceRow& a, const SliceRow& b) {
        if (isAll(a) != isAll(b))
            return isAll(a);
        switch (m_order) {
        case Order::Mae: return a.mae > b.mae;
        case Order::Size: return a.n > b.n;
        case Order::Name: break;
        }
        return a.by != b.by ? a.by < b.by : a.slice < b.slice;
    };
    std::stable_sort(m_rows.begin(), m_rows.end(), before);
}

int ForestPlot::contentHeight() const
{
    const bool gap = !m_rows.empty() && isAll(m_rows.front());
    return kLegend + static_cast<int>(m_rows.size()) * kRow + (gap ? kGap : 0) + kAxis;
}

QSize ForestPlot::sizeHint() const
{
    return {900, contentHeight()};
}

QSize ForestPlot::minimumSizeHint() const
{
    return {kName + kCount + kBias + auditWidth() + 240, contentHeight()};
}

int ForestPlot::auditWidth() const
{
    const bool audited =
        std::any_of(m_rows.begin(), m_rows.end(), [](const SliceRow& row) { return row.auditFlagged >= 0; });
    return audited ? kAudit : 0;
}

QString ForestPlot::auditText(const SliceRow& row)
{
    if (row.auditFlagged < 0)
        return {};
    const double share = row.n ? 100.0 * static_cast<double>(row.auditFlagged) / static_cast<double>(row.n) : 0;
    return tr("%1 (%2%)").arg(row.auditFlagged).arg(share, 0, 'f', share < 10 ? 1 : 0);
}

int ForestPlot::plotLeft() const
{
    return kName + kCount + kMargin;
}

int ForestPlot::plotRight() const
{
    return std::max(plotLeft() + 100, width() - kBias - auditWidth() - kMargin);
}

int ForestPlot::xOf(double years) const
{
    return plotLeft() + static_cast<int>(std::lround((plotRight() - plotLeft()) * years / m_axisMax));
}

QRect ForestPlot::rowRect(int i) const
{
    if (i < 0 || i >= static_cast<int>(m_rows.size()))
        return {};
    const bool gap = i > 0 && isAll(m_rows.front());
    return {0, kLegend + i * kRow + (gap ? kGap : 0), width(), kRow};
}

int ForestPlot::rowAt(int y) const
{
    for (int i = 0; i < static_cast<int>(m_rows.size()); ++i)
        if (rowRect(i).contains(rowRect(i).center().x(), y))
            return i;
    return -1;
}

void ForestPlot::clickRow(int i)
{
    if (i >= 0 && i < static_cast<int>(m_rows.size()))
        Q_EMIT rowClicked(QString::fromStdString(m_rows[i].by), QString::fromStdString(m_rows[i].slice));
}

void ForestPlot::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton)
        clickRow(rowAt(event->position().toPoint().y()));
}

void ForestPlot::mouseMoveEvent(QMouseEvent* event)
{
    const int row = rowAt(event->position().toPoint().y());
    if (row != m_hover) {
        m_hover = row;
        setCursor(row >= 0 ? Qt::PointingHandCursor : Qt::ArrowCursor);
        update();
    }
}

void ForestPlot::leaveEvent(QEvent*)
{
    m_hover = -1;
    update();
}

void ForestPlot::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    if (m_rows.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No slices yet: choose a run and a grouping, then press Compute."));
        return;
    }
    // The ticks' grid lines behind the rows.
    const int top = rowRect(0).top(), bottom = rowRect(static_cast<int>(m_rows.size()) - 1).bottom();
    p.setPen(QPen(kGrid, 1));
    for (double t = 0; t <= m_axisMax + 1e-9; t += m_tick)
        p.drawLine(xOf(t), top, xOf(t), bottom);
    paintLegend(p);
    for (int i = 0; i < static_cast<int>(m_rows.size()); ++i)
        paintRow(p, i);
    paintAxis(p);
}

void ForestPlot::paintLegend(QPainter& p) const
{
    const int y = 6, h = kLegend - 12;
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(8, y, kName - 8, h), Qt::AlignLeft | Qt::AlignVCenter, tr("slice"));
    p.drawText(QRect(kName, y, kCount - 8, h), Qt::AlignRight | Qt::AlignVCenter, tr("faces"));
    p.drawText(QRect(width() - kBias - auditWidth(), y, kBias - 8, h), Qt::AlignLeft | Qt::AlignVCenter,
               tr("bias (pred − true) [95%]"));
    if (auditWidth() > 0)
        p.drawText(QRect(width() - kAudit, y, kAudit - 8, h), Qt::AlignLeft | Qt::AlignVCenter, tr("flagged by audit"));
    p.setFont(font());
    // The marks: the MAE with its interval, and the baseline.
    const int cy = y + h / 2;
    int x = plotLeft();
    p.setPen(QPen(kInk, 3, Qt::SolidLine, Qt::FlatCap));
    p.drawLine(x, cy, x + 30, cy);
    p.setPen(Qt::NoPen);
    p.setBrush(kInk);
    p.drawEllipse(QPointF(x + 15, cy), 4.5, 4.5);
    p.setPen(palette().color(QPalette::Text));
    const QString mae = tr("MAE with its 95% interval");
    p.drawText(x + 38, y, 400, h, Qt::AlignLeft | Qt::AlignVCenter, mae);
    x += 38 + p.fontMetrics().horizontalAdvance(mae) + 24;
    drawDiamond(p, QPointF(x + 6, cy), 6, kBaseline);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(x + 18, y, 400, h, Qt::AlignLeft | Qt::AlignVCenter, tr("baseline: always the median age"));
    p.setPen(QPen(palette().color(QPalette::Mid), 1));
    p.drawLine(0, kLegend - 2, width(), kLegend - 2);
}

void ForestPlot::paintRow(QPainter& p, int i) const
{
    const SliceRow& row = m_rows[static_cast<size_t>(i)];
    const QRect r = rowRect(i);
    if (i == m_hover)
        p.fillRect(r, palette().color(QPalette::Highlight).lighter(185));
    else if (isAll(row))
        p.fillRect(r, QColor(0xf2, 0xf4, 0xf7));
    const bool small = row.flag == "small";
    const QColor ink = small ? kSmall : kInk;
    const QColor text = small ? kSmall : palette().color(QPalette::Text);
    QFont f = font();
    f.setBold(isAll(row));
    p.setFont(f);
    p.setPen(text);
    const QRect nameRect(8, r.top(), kName - 12, r.height());
    p.drawText(nameRect, Qt::AlignLeft | Qt::AlignVCenter,
               p.fontMetrics().elidedText(sliceName(row), Qt::ElideRight, nameRect.width()));
    p.drawText(QRect(kName, r.top(), kCount - 8, r.height()), Qt::AlignRight | Qt::AlignVCenter,
               QString::number(row.n));
    p.drawText(QRect(width() - kBias - auditWidth(), r.top(), kBias - 8, r.height()), Qt::AlignLeft | Qt::AlignVCenter,
               tr("%1 [%2, %3]").arg(signedYears(row.bias), signedYears(row.biasLo), signedYears(row.biasHi)));
    if (row.auditFlagged >= 0) // many flags in a slice: its error may come from its labels, not the model
        p.drawText(QRect(width() - kAudit, r.top(), kAudit - 8, r.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   auditText(row));
    p.setFont(font());
    const int cy = r.center().y();
    const int lo = xOf(row.maeLo), hi = xOf(row.maeHi);
    p.setPen(QPen(ink, 3, Qt::SolidLine, Qt::FlatCap));
    p.drawLine(lo, cy, hi, cy);
    p.setPen(QPen(ink, 2));
    p.drawLine(lo, cy - 5, lo, cy + 5);
    p.drawLine(hi, cy - 5, hi, cy + 5);
    drawDiamond(p, QPointF(xOf(row.baselineMae), cy), 6, small ? kBaseline.lighter(140) : kBaseline);
    p.setPen(QPen(Qt::white, 1.5));
    p.setBrush(ink);
    p.drawEllipse(QPointF(xOf(row.mae), cy), 5, 5);
    if (isAll(row) && i + 1 < static_cast<int>(m_rows.size())) {
        p.setPen(QPen(palette().color(QPalette::Mid), 1));
        p.drawLine(0, r.bottom() + kGap / 2, width(), r.bottom() + kGap / 2);
    }
}

void ForestPlot::paintAxis(QPainter& p) const
{
    const int y = rowRect(static_cast<int>(m_rows.size()) - 1).bottom() + 6;
    p.setPen(QPen(palette().color(QPalette::Text), 1));
    p.drawLine(plotLeft(), y, plotRight(), y);
    const int decimals = m_tick < 1 ? 1 : 0;
    for (double t = 0; t <= m_axisMax + 1e-9; t += m_tick) {
        const int x = xOf(t);
        p.drawLine(x, y, x, y + 5);
        p.drawText(QRect(x - 30, y + 6, 60, 16), Qt::AlignHCenter | Qt::AlignTop, QString::number(t, 'f', decimals));
    }
    p.drawText(QRect(plotLeft(), y + 24, plotRight() - plotLeft(), 18), Qt::AlignHCenter | Qt::AlignTop,
               tr("mean absolute error (years)"));
}

} // namespace faceatlas::ui
