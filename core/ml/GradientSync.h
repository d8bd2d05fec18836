#pragma once

#include "ml/Distributed.h"

#include <memory>
#include <mutex>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/**
 * Data-parallel gradients: the model's parameter gradients summed over ranks in buckets of about
 * `bucketBytes`, each started as soon as the backward pass has produced all of its gradients (a hook
 * per parameter) and in the same order on every rank (a bucket waits for the ones before it), then
 * waited for before the optimiser step. Each rank scales its gradients by its share of the global
 * batch before the sum, so the result is the global batch's mean gradient, as one process computes
 * it, also when the ranks' shares differ (the last batch); a parameter no rank's pass reached keeps
 * no gradient, as with one process. (Batch norms still see each rank's slice alone.) Lives as long
 * as the training; removes its hooks when destroyed.
 */
class GradientSync {
public:
    GradientSync(ProcessGroup& group, std::vector<torch::Tensor> parameters, size_t bucketBytes = 25u << 20);
    ~GradientSync();
    GradientSync(const GradientSync&) = delete;
    GradientSync& operator=(const GradientSync&) = delete;

    /** Before backward(): this rank's share of the global batch (its faces / the batch's faces). */
    void beginStep(double share);
    /**
     * After backward() (or instead of it, on a rank with no faces in this batch): starts what is
     * left, waits for every bucket and writes the summed gradients into the parameters' grad.
     */
    void finishStep();

    size_t bucketCount() const { return m_buckets.size(); }
    size_t bytesPerStep() const { return m_bytes; }
    /** Seconds finishStep() spent waiting for the sums (the part of a step the network costs). */
    double waitSeconds() const { return m_waitSeconds; }

private:
    struct Bucket {
        torch::Tensor flat;
        std::vector<size_t> params; // indices into m_params
        size_t missing = 0;         // gradients not yet copied in this step
        std::unique_ptr<ProcessGroup::Pending> pending;
    };
    torch::Tensor onGradient(size_t param, const torch::Tensor& grad);
    void launchReady();

    ProcessGroup& m_group;
    std::vector<torch::Tensor> m_params;
    std::vector<size_t> m_bucketOf, m_offset;
    std::vector<bool> m_filled;
    std::vector<Bucket> m_buckets;
    std::vector<unsigned> m_hooks;
    size_t m_nextLaunch = 0;
    size_t m_bytes = 0;
    double m_share = 1;
    bool m_active = false;
    double m_waitSeconds = 0;
    std::mutex m_mutex;
};

} // namespace faceatlas
