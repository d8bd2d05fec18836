#pragma once

#include "util/CancelToken.h"

#include <chrono>
#include <functional>
#include <mutex>

namespace faceatlas {

/**
 * Forwards progress from any number of worker threads to one callback, at most every `interval`,
 * never two calls at once; the last report (done == total) always goes through.
 */
class ProgressThrottle {
public:
    using Fn = std::function<void(const JobProgress&)>;
    explicit ProgressThrottle(const Fn& fn, std::chrono::milliseconds interval = std::chrono::milliseconds(100))
        : m_fn(fn)
        , m_interval(interval)
    {
    }

    void operator()(const char* stage, long long done, long long total)
    {
        if (!m_fn)
            return;
        const bool last = total > 0 && done >= total;
        std::unique_lock<std::mutex> lock(m_mutex, std::defer_lock);
        if (last)
            lock.lock();
        else if (!lock.try_lock())
            return; // another thread is reporting right now
        const auto now = std::chrono::steady_clock::now();
        if (!last && now - m_last < m_interval)
            return;
        m_last = now;
        m_fn({stage, done, total});
    }

private:
    const Fn& m_fn;
    std::chrono::milliseconds m_interval;
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_last{};
};

} // namespace faceatlas
