#pragma once

#include "data/PreparedDataset.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/** One batch: images as float 0-1 [N,3,S,S], ages [N] (NaN where unknown), and which records they are. */
struct Batch {
    torch::Tensor images;
    torch::Tensor ages;
    std::vector<std::uint32_t> indices;
};

/** One S x S x 3 uint8 RGB image, as the image cache stores it, as a float 0-1 [3,S,S] tensor. */
torch::Tensor imageTensor(const std::uint8_t* rgb, int size);

/** Assembles a batch from the image cache (no decoding: a gather and a conversion). */
Batch makeBatch(const PreparedDataset& data, const std::uint32_t* indices, size_t count);

/**
 * Builds the batches of one pass over `order` on a background thread, two ahead of the consumer,
 * so the training step never waits for data assembly. `transform`, when given, runs on that thread
 * on each batch before it is handed out (the training augmentation), with LibTorch's operations
 * there on one thread so they do not compete with the training step's.
 */
class BatchPrefetcher {
public:
    using Transform = std::function<void(Batch&)>;
    BatchPrefetcher(const PreparedDataset& data, std::vector<std::uint32_t> order, int batchSize,
                    Transform transform = {});
    /** Batches of the given lengths (0 allowed: an empty batch) over `order`, in turn. */
    BatchPrefetcher(const PreparedDataset& data, std::vector<std::uint32_t> order, std::vector<size_t> lengths,
                    Transform transform = {});
    ~BatchPrefetcher();
    BatchPrefetcher(const BatchPrefetcher&) = delete;
    BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

    /** The next batch; false when the pass is over. */
    bool next(Batch& batch);
    size_t batchCount() const { return m_lengths.size(); }

private:
    void produce();
    const PreparedDataset& m_data;
    std::vector<std::uint32_t> m_order;
    std::vector<size_t> m_lengths;
    Transform m_transform;
    std::deque<Batch> m_queue;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_done = false;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::thread m_thread;
};

/**
 * Faces per forward pass when nothing is learned (encode, predict, evaluate, embed, the audit's
 * distributions): 32 on the CPU, where activations of bigger batches leave the caches (the
 * autoencoder's first conv output for 256 faces at 150 px is 737 MB: encoding ran at 117 faces/s at
 * batch 256, 284 at 32; `faceatlas_bench_train` prints the table), 256 on a GPU.
 */
int inferenceBatchSize(const torch::Device& device);

/** A per-epoch shuffle of the training indices, the same for (seed, epoch) on every run. */
std::vector<std::uint32_t> epochOrder(const std::vector<std::uint32_t>& train, std::uint64_t seed, int epoch);

/**
 * One rank's share of an epoch on `world` processes: each global batch of `order` (batches of
 * `batchSize`, as one process takes them) cut into `world` contiguous slices whose lengths differ by
 * at most one; this rank's slices, in turn. `globalLengths[i]` is batch i's length on all ranks
 * together, which each rank's gradient share is measured against.
 */
struct RankShare {
    std::vector<std::uint32_t> order;
    std::vector<size_t> lengths;
    std::vector<size_t> globalLengths;
};
RankShare rankShare(const std::vector<std::uint32_t>& order, int batchSize, int rank, int world);

/** Which augmentations the age models train with; each can be switched off to measure it. */
struct Augmentation {
    bool flip = true;   // a horizontal mirror image, half of the time
    bool shift = true;  // shift up to 1/16 of the side and scale 0.9-1.1
    bool rotate = true; // turn within +-10 degrees
    bool jitter = true; // brightness and contrast 0.8-1.2
    bool any() const { return flip || shift || rotate || jitter; }
    /** "flip,shift,rotate,jitter", or "none". */
    std::string text() const;
    /** Parses text()'s form ("all" and "none" too); throws Error naming the unknown word. */
    static Augmentation parse(const std::string& text);
    static Augmentation none() { return {false, false, false, false}; }
};

/**
 * The age models' augmentation on a batch [N,3,S,S]: the geometric ones in one bilinear resampling
 * (border pixels repeated), then the photometric ones. Draws from `generator`, so a (seed, epoch)
 * gives the same augmentation on every run.
 */
torch::Tensor augment(const torch::Tensor& images, const Augmentation& which, at::Generator& generator);

} // namespace faceatlas
