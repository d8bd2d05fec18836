#include "PredictionBar.h"

#include <algorithm>
#include <QPainter>
#include <QPainterPath>

namespace faceatlas::ui {

void PredictionBar::set(double label, double mean, double sd)
{
    m_label = label;
    m_mean = mean;
    m_sd = sd;
    update();
}

void PredictionBar::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), Qt::white);
    p.setRenderHint(QPainter::Antialiasing);
    const double left = 8, right = width() - 8, bottom = height() - 16, top = 4;
    const auto x = [&](double age) { return left + (right - left) * std::clamp(age, 0.0, 100.0) / 100.0; };
    p.setPen(Qt::black);
    p.drawLine(QPointF(left, bottom), QPointF(right, bottom));
    for (int age = 0; age <= 100; age += 20)
        p.drawText(QRectF(x(age) - 15, bottom + 1, 30, 14), Qt::AlignCenter, QString::number(age));
    if (std::isfinite(m_mean) && std::isfinite(m_sd)) {
        const double sd = std::max(1.0, m_sd);
        QPainterPath bell;
        bell.moveTo(x(0), bottom);
        for (int a = 0; a <= 100; ++a) {
            const double z = (a - m_mean) / sd;
            bell.lineTo(x(a), bottom - (bottom - top) * std::exp(-0.5 * z * z));
        }
        bell.lineTo(x(100), bottom);
        p.setBrush(QColor(40, 110, 200, 90));
        p.setPen(QPen(QColor(20, 80, 180), 1.5));
        p.drawPath(bell);
    }
    if (std::isfinite(m_label)) {
        p.setPen(QPen(QColor(220, 20, 20), 2.5));
        p.drawLine(QPointF(x(m_label), top), QPointF(x(m_label), bottom));
    }
}

} // namespace faceatlas::ui
