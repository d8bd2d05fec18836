#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace faceatlas {

/** Number of worker threads to use: the request when positive, else the hardware's cores. */
inline int resolveThreadCount(int requested)
{
    if (requested > 0)
        return requested;
    return std::max(1u, std::thread::hardware_concurrency());
}

/**
 * Runs fn(i) for i in [0, n) on `threads` threads, handing out indices in chunks.
 * The first exception thrown by fn stops the others and is rethrown here.
 */
template <typename Fn>
void parallelFor(size_t n, int threads, Fn&& fn, size_t chunk = 16)
{
    threads =
        static_cast<int>(std::min<size_t>(static_cast<size_t>(resolveThreadCount(threads)), (n + chunk - 1) / chunk));
    if (threads <= 1) {
        for (size_t i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::atomic_bool failed{false};
    std::exception_ptr error;
    std::mutex errorMutex;
    auto work = [&] {
        try {
            for (;;) {
                const size_t begin = next.fetch_add(chunk);
                if (begin >= n || failed.load(std::memory_order_relaxed))
                    return;
                const size_t end = std::min(n, begin + chunk);
                for (size_t i = begin; i < end; ++i)
                    fn(i);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (!error)
                error = std::current_exception();
            failed = true;
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads - 1));
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(work);
    work();
    for (auto& thread : pool)
        thread.join();
    if (error)
        std::rethrow_exception(error);
}

} // namespace faceatlas
