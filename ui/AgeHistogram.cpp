#include "AgeHistogram.h"

#include "data/PreparedDataset.h"

#include <algorithm>
#include <QPainter>

namespace faceatlas::ui {

/** Shares of faces per five-year age bin (faces without an age left out). */
std::vector<double> ageShares(const PreparedDataset& data, const std::vector<qint64>* rows)
{
    std::vector<double> bins(kAgeBins, 0);
    double total = 0;
    const auto add = [&](size_t i) {
        const auto& age = data.records()[i].age;
        if (!age)
            return;
        bins[static_cast<size_t>(std::clamp(*age / 5, 0, kAgeBins - 1))] += 1;
        total += 1;
    };
    if (rows)
        for (const qint64 i : *rows)
            add(static_cast<size_t>(i));
    else
        for (size_t i = 0; i < data.count(); ++i)
            add(i);
    for (double& b : bins)
        b = total > 0 ? b / total : 0;
    return bins;
}

void AgeHistogram::setShares(std::vector<double> all, std::vector<double> selection)
{
    m_all = std::move(all);
    m_selection = std::move(selection);
    update();
}

void AgeHistogram::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), Qt::white);
    const int left = 30, bottom = height() - 16, top = 6, right = width() - 6;
    double peak = 0.01;
    for (const auto* v : {&m_all, &m_selection})
        for (double x : *v)
            peak = std::max(peak, x);
    const double barWidth = static_cast<double>(right - left) / kAgeBins;
    const auto bar = [&](int i, double share) {
        const double h = share / peak * (bottom - top);
        return QRectF(left + i * barWidth + 1, bottom - h, barWidth - 2, h);
    };
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(190, 190, 190));
    for (size_t i = 0; i < m_all.size(); ++i)
        p.drawRect(bar(static_cast<int>(i), m_all[i]));
    p.setBrush(QColor(40, 110, 200, 110));
    p.setPen(QPen(QColor(20, 80, 180), 1.5));
    for (size_t i = 0; i < m_selection.size(); ++i)
        p.drawRect(bar(static_cast<int>(i), m_selection[i]));
    p.setPen(Qt::black);
    p.drawLine(left, bottom, right, bottom);
    p.drawLine(left, top, left, bottom);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.8);
    p.setFont(small);
    for (int age = 0; age <= 100; age += 20)
        p.drawText(QRectF(left + age / 5.0 * barWidth - 15, bottom + 1, 30, 14), Qt::AlignCenter, QString::number(age));
    p.drawText(QRectF(0, top - 2, left - 3, 14), Qt::AlignRight, QStringLiteral("%1%").arg(qRound(peak * 100)));
    p.drawText(QRectF(0, bottom - 12, left - 3, 14), Qt::AlignRight, QStringLiteral("0"));
}

} // namespace faceatlas::ui
