#include "StallProbe.h"

#include <algorithm>
#include <QTimer>

namespace faceatlas::ui {

namespace {
constexpr int kIntervalMs = 20;
}

StallProbe::StallProbe(QObject* parent, std::size_t capacity)
    : QObject(parent)
    , m_timer(new QTimer(this))
    , m_capacity(std::max<std::size_t>(1, capacity))
{
    m_timer->setInterval(kIntervalMs);
    connect(m_timer, &QTimer::timeout, this, [this] { sample(); });
}

bool StallProbe::askedForByEnvironment()
{
    const QByteArray value = qgetenv("FACEATLAS_STALL_PROBE");
    return !value.isEmpty() && value != "0";
}

void StallProbe::start()
{
    if (m_timer->isActive())
        return;
    m_clock.start();
    m_timer->start();
}

void StallProbe::stop()
{
    m_timer->stop();
}

bool StallProbe::isRunning() const
{
    return m_timer->isActive();
}

void StallProbe::reset()
{
    m_ring.clear();
    m_taken = 0;
    m_max = 0;
    m_clock.restart();
}

void StallProbe::sample()
{
    const double late = std::max(0.0, m_clock.nsecsElapsed() / 1e6 - kIntervalMs);
    m_clock.restart();
    if (m_ring.size() < m_capacity)
        m_ring.push_back(late);
    else
        m_ring[m_taken % m_capacity] = late;
    ++m_taken;
    m_max = std::max(m_max, late);
}

std::vector<double> StallProbe::since(std::uint64_t mark) const
{
    // The kept samples are those numbered [taken - kept, taken); sample k sits at k % capacity.
    const std::uint64_t kept = m_ring.size();
    const std::uint64_t first = std::max(mark, m_taken - kept);
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(m_taken > first ? m_taken - first : 0));
    for (std::uint64_t k = first; k < m_taken; ++k)
        out.push_back(m_ring[static_cast<std::size_t>(k % m_capacity)]);
    return out;
}

double StallProbe::p99() const
{
    if (m_ring.empty())
        return 0;
    std::vector<double> sorted(m_ring);
    const auto at = sorted.begin() + static_cast<std::ptrdiff_t>(0.99 * static_cast<double>(sorted.size() - 1));
    std::nth_element(sorted.begin(), at, sorted.end());
    return *at;
}

} // namespace faceatlas::ui
