// Training throughput of the models on random data (as ../shared/peers/train_throughput.py does):
// images per second, FLOPs per image, achieved GFLOP/s, and the machine's matrix-product rate.
#include "MatmulRate.h"
#include "ml/Attention.h"
#include "ml/Batches.h"
#include "ml/Models.h"
#include "ml/Runtime.h"

#include <algorithm>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <omp.h>
#include <thread>
#include <torch/torch.h>

using namespace faceatlas;
using namespace faceatlas::bench;

namespace {

double trainingThroughput(ModelKind kind, int size, int batch, const torch::Device& device, double minSeconds,
                          double peak)
{
    torch::manual_seed(0);
    FaceModel model = createModel(kind, size);
    model->to(device);
    model->train();
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-4));
    const auto opts = torch::TensorOptions().device(device);
    const auto x = torch::rand({batch, 3, size, size}, opts);
    const auto ages = torch::rand({batch}, opts) * 50 + 15;
    const auto step = [&] {
        const auto start = Clock::now();
        optimizer.zero_grad();
        const auto out = model->run(x);
        model->loss(out, x, ages).backward();
        optimizer.step();
        if (device.is_cuda())
            torch::cuda::synchronize();
        return seconds(start);
    };
    double warm = 0;
    for (int i = 0; i < 2; ++i)
        warm = step();
    const int steps = std::max(5, static_cast<int>(minSeconds / warm));
    const long faults0 = usage().ru_minflt;
    std::vector<double> times;
    for (int i = 0; i < steps; ++i)
        times.push_back(step());
    const long faults = (usage().ru_minflt - faults0) / steps;
    const double ips = batch / median(times);
    const double fwd = forwardFlops(kind, size);
    const double gflops = 3.0 * fwd * ips / 1e9; // forward + backward ~ 3 x forward
    std::printf("%-13s S=%-3d batch %-3d %8.1f images/s  %6.3f GFLOP fwd/img  %6.1f GFLOP/s (%3.0f%% of matmul)  %ld "
                "faults/step\n",
                modelKindName(kind), size, batch, ips, fwd / 1e9, gflops, 100.0 * gflops / peak, faults);
    std::fflush(stdout);
    return ips;
}

/**
 * Inference throughput at several batch sizes, no gradients: the autoencoder's encoder (encode) and
 * the age models' test-time-mirrored prediction (predict, evaluate, audit). Large batches are slower
 * on CPU: the first conv layer's output of 256 faces at 150 px is 737 MB, far beyond the caches.
 */
void benchInference(ModelKind kind, int size, const torch::Device& device)
{
    FaceModel model = createModel(kind, size);
    model->to(device);
    model->eval();
    torch::InferenceMode inference;
    const auto pass = [&](const torch::Tensor& x) {
        return kind == ModelKind::Autoencoder ? autoencoderEncode(*model, x) : model->predictAges(x);
    };
    std::printf("%-13s S=%-3d", kind == ModelKind::Autoencoder ? "encode" : modelKindName(kind), size);
    for (int batch : {8, 16, 32, 64, 128, 256}) {
        const auto x = torch::rand({batch, 3, size, size}, torch::TensorOptions().device(device));
        pass(x);
        std::vector<double> t;
        for (int i = 0; i < std::max(3, 1024 / batch); ++i) {
            const auto start = Clock::now();
            auto out = pass(x);
            if (device.is_cuda())
                torch::cuda::synchronize();
            t.push_back(seconds(start));
        }
        std::printf("  %d: %5.0f", batch, batch / median(t));
    }
    std::printf("  (images/s by batch; predict: mirrored too)\n");
    std::fflush(stdout);
}

/** Attention-map latency for one face (what the GUI waits for): signed Grad-CAM and the code map. */
void benchAttention(ModelKind kind, AttentionMethod method, int size)
{
    FaceModel model = createModel(kind, size);
    model->eval();
    const auto face = torch::rand({3, size, size});
    AttentionParams params;
    params.method = method;
    attentionMap(*model, face, params);
    std::vector<double> t;
    for (int i = 0; i < 20; ++i) {
        const auto start = Clock::now();
        attentionMap(*model, face, params);
        t.push_back(seconds(start));
    }
    std::printf("attention     S=%-3d %-13s %-8s %6.1f ms per face\n", size, modelKindName(kind),
                method == AttentionMethod::GradCam ? "gradcam" : "code", 1000 * median(t));
}

/**
 * What the age heads' augmentation costs a training step (batch 64 at 64 px, the `age` defaults):
 * the step alone, the augmentation alone on one thread, both on the training thread (as before),
 * and the step while a second thread augments the next batches two ahead (as BatchPrefetcher does,
 * its LibTorch operations on one OpenMP thread).
 */
void benchAugmentation(ModelKind kind, int size, int batch)
{
    torch::manual_seed(0);
    FaceModel model = createModel(kind, size);
    model->train();
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
    const auto x = torch::rand({batch, 3, size, size});
    const auto ages = torch::rand({batch}) * 50 + 15;
    const Augmentation all;
    at::Generator generator = at::detail::createCPUGenerator(1);
    const auto step = [&](const torch::Tensor& images) {
        optimizer.zero_grad();
        model->loss(model->run(images), images, ages).backward();
        optimizer.step();
    };
    const auto timed = [](int n, const std::function<void()>& f) {
        f();
        std::vector<double> t;
        for (int i = 0; i < n; ++i) {
            const auto start = Clock::now();
            f();
            t.push_back(seconds(start));
        }
        return 1000 * median(t);
    };
    const double alone = timed(20, [&] { step(x); });
    const double augmentOnly = timed(20, [&] {
        torch::NoGradGuard noGrad;
        augment(x, all, generator);
    });
    const double together = timed(20, [&] { step(augment(x, all, generator)); });
    // The prefetcher's way: another thread keeps two augmented batches ready.
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<torch::Tensor> ready;
    bool stop = false;
    std::thread producer([&] {
        at::internal::lazy_init_num_threads();
        omp_set_num_threads(1);
        at::Generator own = at::detail::createCPUGenerator(2);
        torch::NoGradGuard noGrad;
        for (;;) {
            auto next = augment(x, all, own);
            std::unique_lock<std::mutex> lock(mutex);
            changed.wait(lock, [&] { return stop || ready.size() < 2; });
            if (stop)
                return;
            ready.push_back(std::move(next));
            changed.notify_all();
        }
    });
    const double prefetched = timed(20, [&] {
        torch::Tensor images;
        {
            std::unique_lock<std::mutex> lock(mutex);
            changed.wait(lock, [&] { return !ready.empty(); });
            images = std::move(ready.front());
            ready.pop_front();
            changed.notify_all();
        }
        step(images);
    });
    {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
    }
    changed.notify_all();
    producer.join();
    std::printf("augmentation  %-13s S=%-3d batch %d: step alone %.1f ms; augmentation alone %.1f ms; both on the "
                "training thread %.1f ms; step with the prefetcher's thread augmenting %.1f ms\n",
                modelKindName(kind), size, batch, alone, augmentOnly, together, prefetched);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv)
{
    configureAllocator();
    const int threads = configureTorchThreads(argc > 1 ? std::atoi(argv[1]) : 0);
    const double minSeconds = argc > 2 ? std::atof(argv[2]) : 3.0;
    const torch::Device device = cudaAvailable() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    torch::NoGradGuard noGradForPeak;
    const double peak = matmulGflops(device);
    std::printf("FaceAtlas training throughput: %s, %d threads, device %s, allocator %s\n", torchDescription().c_str(),
                threads, device.is_cuda() ? "cuda" : "cpu",
                std::getenv("FACEATLAS_MALLOC") ? std::getenv("FACEATLAS_MALLOC") : "kept");
    std::printf("%s\n", blasDescription().c_str());
    std::printf("matrix product 4096^2 float32: %.1f GFLOP/s\n\n", peak);
    torch::AutoGradMode grad(true);
    // BENCH_BATCH sets the training batch (32, the capstone's, by default; a GPU wants larger ones).
    const int batch = std::getenv("BENCH_BATCH") ? std::max(1, std::atoi(std::getenv("BENCH_BATCH"))) : 32;
    // BENCH_ONLY=age-capstone and BENCH_SIZE=150 narrow every section to that model and size;
    // BENCH_TRAIN_ONLY=1 stops after training.
    const auto wanted = [](ModelKind kind, int size) {
        const char* only = std::getenv("BENCH_ONLY");
        const char* onlySize = std::getenv("BENCH_SIZE");
        return (!only || std::strcmp(modelKindName(kind), only) == 0) && (!onlySize || std::atoi(onlySize) == size);
    };
    for (ModelKind kind : {ModelKind::AgeCapstone, ModelKind::Autoencoder, ModelKind::Age})
        for (int size : {64, 150})
            if (!std::getenv("BENCH_ENCODE_ONLY") && !(kind == ModelKind::Age && size == 150) && wanted(kind, size)) {
                const double ips = trainingThroughput(kind, size, batch, device, minSeconds, peak);
                if (kind == ModelKind::Autoencoder && size == 150)
                    std::printf("  -> one autoencoder epoch over the capstone's 175,000 faces at 150 px: %.0f s\n",
                                175000.0 / ips);
            }
    if (wanted(ModelKind::Age, 64) && !std::getenv("BENCH_ENCODE_ONLY"))
        benchAugmentation(ModelKind::Age, 64, 64);
    std::printf("\n");
    if (std::getenv("BENCH_TRAIN_ONLY"))
        return 0;
    for (ModelKind kind : {ModelKind::Autoencoder, ModelKind::Age, ModelKind::AgeCapstone})
        for (int size : {64, 150})
            if (wanted(kind, size))
                benchInference(kind, size, device);
    for (int size : {64, 150}) {
        if (wanted(ModelKind::Age, size))
            benchAttention(ModelKind::Age, AttentionMethod::GradCam, size);
        if (wanted(ModelKind::AgeCapstone, size))
            benchAttention(ModelKind::AgeCapstone, AttentionMethod::GradCam, size);
        if (wanted(ModelKind::Autoencoder, size))
            benchAttention(ModelKind::Autoencoder, AttentionMethod::Code, size);
    }
    return 0;
}
