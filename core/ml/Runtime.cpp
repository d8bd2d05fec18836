#include "ml/Runtime.h"

#include "util/Parallel.h"

#include <algorithm>
#include <ATen/Parallel.h>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <exception>
#include <limits>
#include <malloc.h>
#include <mutex>
#include <thread>
#include <torch/cuda.h>
#include <torch/version.h>
#include <vector>

namespace faceatlas {

namespace {

void setBlasThreads(int threads)
{
    using SetFn = void (*)(int);
    if (auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
}

std::atomic_bool g_budgetSet{false};
thread_local bool t_mathWorker = false;    // a thread of parallelOnMathThreads
thread_local bool t_oneMathThread = false; // useOneMathThread() ran on it

} // namespace

int configureTorchThreads(int requested)
{
    if (requested <= 0 && g_budgetSet.exchange(true))
        return at::get_num_threads(); // set at start-up (or by --threads): kept
    g_budgetSet = true;
    const int threads = resolveThreadCount(requested);
    if (at::get_num_threads() != threads)
        at::set_num_threads(threads);
    setBlasThreads(1);
    return at::get_num_threads();
}

namespace {

/**
 * The worker threads of parallelOnMathThreads: made once, on first use, as many as LibTorch's
 * threads then, and kept for the life of the process (asleep between calls). Each is set up once:
 * LibTorch reads its thread count into every new thread, which is slow (it rebuilds a thread pool),
 * so threads made per call would pay that every time. Never destroyed: threads asleep at exit are
 * simply gone.
 */
class MathWorkers {
public:
    static MathWorkers& instance()
    {
        static MathWorkers* workers = new MathWorkers(std::max(1, at::get_num_threads()));
        return *workers;
    }
    int size() const { return static_cast<int>(m_threads.size()); }
    /** Runs the call on `workers` of the threads; false (nothing run) while another call has them. */
    bool run(std::size_t count, int workers, const std::function<void(std::size_t, int)>& fn)
    {
        std::unique_lock<std::mutex> busy(m_busy, std::try_to_lock);
        if (!busy.owns_lock())
            return false;
        std::unique_lock<std::mutex> lock(m_mutex);
        m_fn = &fn;
        m_count = count;
        m_next = 0;
        m_failed = false;
        m_error = nullptr;
        m_wanted = std::min(workers, size());
        m_running = m_wanted;
        ++m_generation;
        m_wake.notify_all();
        m_finished.wait(lock, [this] { return m_running == 0; });
        m_fn = nullptr;
        if (m_error)
            std::rethrow_exception(m_error);
        return true;
    }

private:
    explicit MathWorkers(int threads)
    {
        for (int w = 0; w < threads; ++w)
            m_threads.emplace_back([this, w] { loop(w); });
        for (auto& thread : m_threads)
            thread.detach();
    }
    void loop(int worker)
    {
        t_mathWorker = true;
        std::uint64_t seen = 0;
        for (;;) {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [&] { return m_generation != seen; });
            seen = m_generation;
            if (worker >= m_wanted)
                continue;
            const auto* fn = m_fn;
            const std::size_t count = m_count;
            lock.unlock();
            try {
                for (std::size_t i; !m_failed.load(std::memory_order_relaxed) && (i = m_next++) < count;)
                    (*fn)(i, worker);
            } catch (...) {
                std::lock_guard<std::mutex> relock(m_mutex);
                if (!m_error)
                    m_error = std::current_exception();
                m_failed = true;
            }
            lock.lock();
            if (--m_running == 0)
                m_finished.notify_all();
        }
    }

    std::vector<std::thread> m_threads;
    std::mutex m_busy; // one call at a time
    std::mutex m_mutex;
    std::condition_variable m_wake, m_finished;
    std::uint64_t m_generation = 0;
    const std::function<void(std::size_t, int)>* m_fn = nullptr;
    std::size_t m_count = 0;
    std::atomic<std::size_t> m_next{0};
    std::atomic_bool m_failed{false};
    std::exception_ptr m_error;
    int m_wanted = 0;
    int m_running = 0;
};

} // namespace

void parallelOnMathThreads(std::size_t count, int workers, const std::function<void(std::size_t, int)>& fn)
{
    workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, workers)), count));
    // One worker, a call from a worker, or the workers busy with another call: here, one block after another.
    if (workers <= 1 || t_mathWorker || !MathWorkers::instance().run(count, workers, fn))
        for (std::size_t i = 0; i < count; ++i)
            fn(i, 0);
}

void useOneMathThread()
{
    if (!t_mathWorker || t_oneMathThread)
        return;
    t_oneMathThread = true;
    // LibTorch reads the budget into each new thread first; then this thread alone gets one.
    at::internal::lazy_init_num_threads();
    using SetFn = void (*)(int);
    static const auto setOpenMpThreads = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (setOpenMpThreads)
        setOpenMpThreads(1);
}

void configureAllocator()
{
    const char* choice = std::getenv("FACEATLAS_MALLOC");
    if (choice && std::strcmp(choice, "default") == 0)
        return;
    // The same as MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=16G: big tensors come from the heap
    // and stay there for the next step.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    mallopt(M_TOP_PAD, 64 << 20);
}

bool cudaAvailable()
{
    return torch::cuda::is_available();
}

std::string torchDescription()
{
    std::string text = "LibTorch " TORCH_VERSION;
    if (cudaAvailable())
        text += " (CUDA available, " + std::to_string(torch::cuda::device_count()) + " GPU)";
    else
        text += " (CPU)";
    return text;
}

std::string blasDescription()
{
    using NameFn = char* (*)();
    const auto core = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const auto config = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    if (!core)
        return "BLAS: not OpenBLAS (or not loaded)";
    const std::string name = core();
    std::string text = "BLAS: " + std::string(config ? config() : "OpenBLAS") + ", " + name + " kernels";
    // OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it does not know (Xeon family 6
    // model 207 here): matrix products, and so the dense layers, run 3-5x below the CPU's rate.
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool oldKernels = lower == "prescott" || lower == "core2" || lower == "nehalem" || lower == "penryn"
                            || lower == "dunnington" || lower == "atom" || lower == "katmai" || lower == "northwood";
    if (oldKernels && __builtin_cpu_supports("avx512f"))
        text += " on a CPU with AVX-512 (OpenBLAS did not recognise it; OPENBLAS_CORETYPE=SkylakeX runs matrix "
                "products about 5x faster)";
    else if (oldKernels && __builtin_cpu_supports("avx2"))
        text += " on a CPU with AVX2 (OpenBLAS did not recognise it; OPENBLAS_CORETYPE=Haswell runs matrix "
                "products several times faster)";
#endif
    return text;
}

} // namespace faceatlas
