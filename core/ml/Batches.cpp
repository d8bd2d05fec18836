#include "ml/Batches.h"

#include "util/Error.h"
#include "util/SplitMix.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <cmath>

namespace faceatlas {

namespace F = torch::nn::functional;

torch::Tensor imageTensor(const std::uint8_t* rgb, int size)
{
    return torch::from_blob(const_cast<std::uint8_t*>(rgb), {size, size, 3}, torch::kUInt8)
        .permute({2, 0, 1})
        .to(torch::kFloat)
        .div(255);
}

Batch makeBatch(const PreparedDataset& data, const std::uint32_t* indices, size_t count)
{
    const int s = data.imageSize();
    const size_t bytes = data.imageBytes();
    auto raw = torch::empty({static_cast<int64_t>(count), s, s, 3}, torch::kUInt8);
    auto ages = torch::empty({static_cast<int64_t>(count)}, torch::kFloat);
    std::uint8_t* dst = raw.data_ptr<std::uint8_t>();
    float* age = ages.data_ptr<float>();
    Batch batch;
    batch.indices.assign(indices, indices + count);
    for (size_t i = 0; i < count; ++i) {
        std::memcpy(dst + i * bytes, data.image(indices[i]), bytes);
        const auto& a = data.records()[indices[i]].age;
        age[i] = a ? static_cast<float>(*a) : std::nanf("");
    }
    // NHWC uint8 -> NCHW float in 0-1, contiguous for the convolutions.
    batch.images = raw.permute({0, 3, 1, 2}).to(torch::kFloat).div_(255.0f).contiguous();
    batch.ages = ages;
    return batch;
}

BatchPrefetcher::BatchPrefetcher(const PreparedDataset& data, std::vector<std::uint32_t> order, int batchSize,
                                 Transform transform)
    : BatchPrefetcher(
        data, order,
        [&] {
            const size_t size = static_cast<size_t>(std::max(1, batchSize));
            std::vector<size_t> lengths;
            for (size_t start = 0; start < order.size(); start += size)
                lengths.push_back(std::min(size, order.size() - start));
            return lengths;
        }(),
        std::move(transform))
{
}

BatchPrefetcher::BatchPrefetcher(const PreparedDataset& data, std::vector<std::uint32_t> order,
                                 std::vector<size_t> lengths, Transform transform)
    : m_data(data)
    , m_order(std::move(order))
    , m_lengths(std::move(lengths))
    , m_transform(std::move(transform))
{
    size_t total = 0;
    for (size_t n : m_lengths)
        total += n;
    if (total != m_order.size())
        throw std::logic_error("BatchPrefetcher: the batch lengths do not add up to the order's");
    m_thread = std::thread([this] { produce(); });
}

BatchPrefetcher::~BatchPrefetcher()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

void BatchPrefetcher::produce()
{
    try {
        if (m_transform) {
            // OpenMP's thread count is per thread: LibTorch sets this thread's on its first parallel
            // operation (lazily), so set it first, then keep this thread's operations to itself.
            at::internal::lazy_init_num_threads();
            omp_set_num_threads(1);
        }
        size_t start = 0;
        for (size_t length : m_lengths) {
            Batch batch = makeBatch(m_data, m_order.data() + start, length);
            start += length;
            if (m_transform && length > 0)
                m_transform(batch);
            std::unique_lock<std::mutex> lock(m_mutex);
            m_changed.wait(lock, [this] { return m_stop || m_queue.size() < 2; });
            if (m_stop)
                return;
            m_queue.push_back(std::move(batch));
            m_changed.notify_all();
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    m_done = true;
    m_changed.notify_all();
}

bool BatchPrefetcher::next(Batch& batch)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    m_changed.wait(lock, [this] { return !m_queue.empty() || m_done; });
    if (m_error)
        std::rethrow_exception(m_error);
    if (m_queue.empty())
        return false;
    batch = std::move(m_queue.front());
    m_queue.pop_front();
    m_changed.notify_all();
    return true;
}

std::vector<std::uint32_t> epochOrder(const std::vector<std::uint32_t>& train, std::uint64_t seed, int epoch)
{
    std::vector<std::uint32_t> order(train);
    SplitMix rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL + 1);
    for (size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[rng.below(i)]);
    return order;
}

RankShare rankShare(const std::vector<std::uint32_t>& order, int batchSize, int rank, int world)
{
    if (world < 1 || rank < 0 || rank >= world || batchSize < 1)
        throw std::logic_error("rankShare: rank, world or batch out of range");
    RankShare share;
    const size_t size = static_cast<size_t>(batchSize);
    for (size_t start = 0; start < order.size(); start += size) {
        const size_t n = std::min(size, order.size() - start);
        const size_t from = start + n * static_cast<size_t>(rank) / static_cast<size_t>(world);
        const size_t to = start + n * static_cast<size_t>(rank + 1) / static_cast<size_t>(world);
        share.order.insert(share.order.end(), order.begin() + static_cast<std::ptrdiff_t>(from),
                           order.begin() + static_cast<std::ptrdiff_t>(to));
        share.lengths.push_back(to - from);
        share.globalLengths.push_back(n);
    }
    return share;
}

std::string Augmentation::text() const
{
    std::string t;
    for (const auto& [on, name] : {std::pair{flip, "flip"}, {shift, "shift"}, {rotate, "rotate"}, {jitter, "jitter"}})
        if (on)
            t += (t.empty() ? "" : ",") + std::string(name);
    return t.empty() ? "none" : t;
}

Augmentation Augmentation::parse(const std::string& text)
{
    if (text == "all")
        return {};
    Augmentation a = none();
    if (text == "none")
        return a;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(',', start), text.size());
        const std::string word = text.substr(start, end - start);
        bool* flag = word == "flip"     ? &a.flip
                     : word == "shift"  ? &a.shift
                     : word == "rotate" ? &a.rotate
                     : word == "jitter" ? &a.jitter
                                        : nullptr;
        if (!flag)
            throw Error("--augment: unknown augmentation '" + word.substr(0, 40)
                        + "' (use all, none, or a list of flip, shift, rotate, jitter)");
        *flag = true;
        start = end + 1;
    }
    return a;
}

torch::Tensor augment(const torch::Tensor& images, const Augmentation& which, at::Generator& generator)
{
    const int64_t n = images.size(0);
    const auto opts = images.options();
    const auto uniform = [&](std::vector<int64_t> shape, double from, double to) {
        return torch::empty(shape, opts).uniform_(from, to, generator);
    };
    auto out = images;
    if (which.flip || which.shift || which.rotate) {
        const auto flip = which.flip ? torch::where(torch::rand({n}, generator, opts) < 0.5,
                                                    torch::full({n}, -1.0f, opts), torch::ones({n}, opts))
                                     : torch::ones({n}, opts);
        const auto scale = which.shift ? uniform({n}, 0.9, 1.1) : torch::ones({n}, opts);
        const auto shift =
            which.shift ? uniform({n, 2}, -0.125, 0.125) : torch::zeros({n, 2}, opts); // 1/16 of the side
        const auto angle = which.rotate ? uniform({n}, -M_PI / 18, M_PI / 18) : torch::zeros({n}, opts);
        // Output pixel p samples the input at R(angle) diag(flip, 1) p / scale + shift.
        const auto c = angle.cos() / scale, s = angle.sin() / scale;
        auto theta = torch::zeros({n, 2, 3}, opts);
        theta.select(1, 0).select(1, 0).copy_(c * flip);
        theta.select(1, 0).select(1, 1).copy_(-s);
        theta.select(1, 1).select(1, 0).copy_(s * flip);
        theta.select(1, 1).select(1, 1).copy_(c);
        theta.select(1, 0).select(1, 2).copy_(shift.select(1, 0));
        theta.select(1, 1).select(1, 2).copy_(shift.select(1, 1));
        const auto grid = F::affine_grid(theta, images.sizes(), /*align_corners=*/false);
        out = F::grid_sample(
            images, grid,
            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
    }
    if (which.jitter) {
        const auto brightness = uniform({n, 1, 1, 1}, 0.8, 1.2);
        const auto contrast = uniform({n, 1, 1, 1}, 0.8, 1.2);
        const auto mean = out.mean({1, 2, 3}, /*keepdim=*/true);
        out = ((out - mean) * contrast + mean * brightness).clamp(0.0, 1.0);
    }
    return out;
}

int inferenceBatchSize(const torch::Device& device)
{
    return device.is_cuda() ? 256 : 32;
}

} // namespace faceatlas
