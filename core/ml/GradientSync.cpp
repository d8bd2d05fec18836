#include "ml/GradientSync.h"

#include "util/Error.h"

#include <chrono>

namespace faceatlas {

using Clock = std::chrono::steady_clock;

GradientSync::GradientSync(ProcessGroup& group, std::vector<torch::Tensor> parameters, size_t bucketBytes)
    : m_group(group)
    , m_params(std::move(parameters))
    , m_bucketOf(m_params.size())
    , m_offset(m_params.size())
    , m_filled(m_params.size(), false)
{
    // Buckets in reverse order of the parameters: roughly the order backward() produces them.
    std::vector<size_t> sizes;
    size_t bytes = bucketBytes; // start a bucket on the first parameter
    for (size_t k = m_params.size(); k-- > 0;) {
        const size_t n = static_cast<size_t>(m_params[k].numel());
        if (bytes >= bucketBytes) {
            m_buckets.emplace_back();
            sizes.push_back(0);
            bytes = 0;
        }
        m_bucketOf[k] = m_buckets.size() - 1;
        m_offset[k] = sizes.back();
        m_buckets.back().params.push_back(k);
        sizes.back() += n;
        bytes += n * sizeof(float);
    }
    for (size_t b = 0; b < m_buckets.size(); ++b) {
        m_buckets[b].flat = torch::zeros({static_cast<int64_t>(sizes[b])}, torch::kFloat32);
        m_buckets[b].missing = m_buckets[b].params.size();
        m_bytes += sizes[b] * sizeof(float);
    }
    for (size_t k = 0; k < m_params.size(); ++k)
        m_hooks.push_back(
            m_params[k].register_hook([this, k](torch::Tensor grad) -> torch::Tensor { return onGradient(k, grad); }));
}

GradientSync::~GradientSync()
{
    for (size_t k = 0; k < m_params.size(); ++k)
        m_params[k].remove_hook(m_hooks[k]);
    // A step abandoned by an exception: its started sums end (or fail) before their buffers go.
    for (auto& b : m_buckets)
        if (b.pending)
            try {
                b.pending->wait();
            } catch (const std::exception&) { // the step's own error is already on its way up
            }
}

void GradientSync::beginStep(double share)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_share = share;
    m_active = true;
    // No gradient yet: backward() then takes the bucket slice the hook returns as the gradient
    // itself, so the sums land in the parameters' grad with no copy back.
    for (auto& p : m_params)
        if (p.is_cpu()) // the buckets' device
            p.mutable_grad() = torch::Tensor();
}

torch::Tensor GradientSync::onGradient(size_t k, const torch::Tensor& grad)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_active)
        return {};
    Bucket& bucket = m_buckets[m_bucketOf[k]];
    if (m_filled[k] || bucket.pending)
        throw Error("distributed training: a parameter's gradient arrived twice in one backward pass (a weight "
                    "used twice); such models cannot train on several processes");
    torch::NoGradGuard noGrad;
    auto slice = bucket.flat.narrow(0, static_cast<int64_t>(m_offset[k]), grad.numel());
    const bool sameDevice = grad.device() == slice.device();
    const auto source = grad.detach().reshape({-1});
    if (m_share == 1.0 || !sameDevice)
        slice.copy_(source);
    else
        torch::mul_out(slice, source, torch::scalar_tensor(m_share, source.options())); // one pass: copy and scale
    if (!sameDevice && m_share != 1.0)
        slice.mul_(m_share);
    m_filled[k] = true;
    --bucket.missing;
    launchReady();
    // The slice stands in for the gradient (same shape and layout), and becomes the parameter's grad.
    return sameDevice ? slice.view(grad.sizes()) : torch::Tensor();
}

void GradientSync::launchReady()
{
    while (m_nextLaunch < m_buckets.size() && m_buckets[m_nextLaunch].missing == 0) {
        Bucket& b = m_buckets[m_nextLaunch];
        b.pending = m_group.allreduceSumAsync(b.flat, "the gradient all-reduce (bucket " + std::to_string(m_nextLaunch)
                                                          + " of " + std::to_string(m_buckets.size()) + ")");
        ++m_nextLaunch;
    }
}

void GradientSync::finishStep()
{
    // Which parameters any rank's backward pass reached: one process leaves the others without a
    // gradient, so the optimiser skips them (no weight decay); so must every rank.
    auto reached = torch::zeros({static_cast<int64_t>(m_params.size())}, torch::kFloat32);
    std::unique_ptr<ProcessGroup::Pending> reachedSum;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        torch::NoGradGuard noGrad;
        // Parameters the pass did not reach (or a rank without faces in this batch) add zeros.
        for (size_t k = 0; k < m_params.size(); ++k) {
            reached[static_cast<int64_t>(k)] = m_filled[k] ? 1.0f : 0.0f;
            if (!m_filled[k]) {
                Bucket& bucket = m_buckets[m_bucketOf[k]];
                bucket.flat.narrow(0, static_cast<int64_t>(m_offset[k]), m_params[k].numel()).zero_();
                m_filled[k] = true;
                --bucket.missing;
            }
        }
        launchReady();
        reachedSum = m_group.allreduceSumAsync(reached, "the gradient all-reduce (which parameters it reached)");
        m_active = false;
    }
    const auto start = Clock::now();
    for (auto& b : m_buckets) {
        auto pending = std::move(b.pending);
        pending->wait();
    }
    reachedSum->wait();
    m_waitSeconds += std::chrono::duration<double>(Clock::now() - start).count();
    torch::NoGradGuard noGrad;
    for (size_t k = 0; k < m_params.size(); ++k) {
        auto& p = m_params[k];
        m_filled[k] = false;
        if (reached[static_cast<int64_t>(k)].item<float>() == 0.0f) {
            p.mutable_grad() = torch::Tensor(); // no rank's pass reached it
            continue;
        }
        const auto sum = m_buckets[m_bucketOf[k]].flat.narrow(0, static_cast<int64_t>(m_offset[k]), p.numel());
        if (!p.grad().defined() && p.is_cpu())
            p.mutable_grad() = sum.view(p.sizes()); // a rank without faces in this batch
        else if (!p.grad().defined())
            p.mutable_grad() = torch::zeros_like(p);
        if (p.grad().data_ptr() != sum.data_ptr()) // backward() kept a copy (or another device): copy back
            p.grad().copy_(sum.view(p.sizes()));
    }
    for (auto& b : m_buckets)
        b.missing = b.params.size();
    m_nextLaunch = 0;
}

} // namespace faceatlas
