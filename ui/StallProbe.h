#pragma once

#include <QElapsedTimer>
#include <QObject>

#include <cstdint>
#include <vector>

class QTimer;

namespace faceatlas::ui {

/**
 * How late the GUI thread answers: a 20 ms timer's lateness, sampled while the probe runs. It runs
 * only when asked for (the tour, the monkey, `faceatlas --probe`, or FACEATLAS_STALL_PROBE=1),
 * never for the life of an ordinary session, and keeps at most `capacity` samples (the newest; the
 * default is about 22 minutes of samples, 512 KiB), so a window left open for days costs nothing.
 * The maximum is over every sample since the last reset, kept or not.
 */
class StallProbe : public QObject {
public:
    static constexpr std::size_t kDefaultCapacity = 65536;
    explicit StallProbe(QObject* parent = nullptr, std::size_t capacity = kDefaultCapacity);

    /** True when the environment asks for the probe (FACEATLAS_STALL_PROBE set to anything but 0 or empty). */
    static bool askedForByEnvironment();

    void start();
    void stop();
    bool isRunning() const;
    /** Forgets every sample. */
    void reset();

    /** Samples taken since the last reset (more than are kept after `capacity`): a mark for since(). */
    std::uint64_t taken() const { return m_taken; }
    /** The kept samples taken after `mark` (a taken() read earlier), oldest first, in ms late. */
    std::vector<double> since(std::uint64_t mark) const;
    /** 99th percentile of the kept samples and the maximum since the reset, in ms; 0 with none. */
    double p99() const;
    double max() const { return m_max; }

private:
    void sample();
    QTimer* m_timer;
    QElapsedTimer m_clock;
    std::size_t m_capacity;
    std::vector<double> m_ring; // the newest samples; m_taken % capacity is the next to overwrite
    std::uint64_t m_taken = 0;
    double m_max = 0;
};

} // namespace faceatlas::ui
