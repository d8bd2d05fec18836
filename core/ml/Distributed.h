#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/**
 * Where one process stands in a data-parallel job, as torchrun describes it: its rank among
 * `worldSize` processes, and the address of rank 0, which hosts the rendezvous (c10d's TCPStore).
 * One process (worldSize 1) is an ordinary job that talks to no one.
 */
struct DistConfig {
    int rank = 0;
    int worldSize = 1;
    int localRank = 0;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
    std::string iface;        // network interface for the collectives; empty: the one that reaches masterAddr
    int timeoutSeconds = 120; // how long a rendezvous or a collective may wait for a peer
    bool distributed() const { return worldSize > 1; }
    bool leader() const { return rank == 0; }
    /** "rank 1 of 2": how messages name this process. */
    std::string who() const;
};

/**
 * Reads torchrun's environment over `base`: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
 * and GLOO_SOCKET_IFNAME (the interface, as PyTorch's binding reads it), each only when set; then
 * checks the whole (checkDistConfig). `getenv` is replaceable for tests.
 */
DistConfig distConfigFromEnvironment(DistConfig base, const std::function<const char*(const char*)>& getenv = ::getenv);

/** Throws Error naming the inconsistency: rank outside 0..worldSize-1, a port outside 1..65535, ... */
void checkDistConfig(const DistConfig& config);

/** Whether this build can run on several processes (built with c10d's Gloo backend). */
bool distributedAvailable();

/**
 * One process's membership of a data-parallel job: c10d's TCPStore (hosted by rank 0) and a Gloo
 * process group over it. Every collective blocks until all ranks have called it or
 * `timeoutSeconds` passed; a peer that died, timed out or never arrived is an Error naming this
 * rank, the collective and the cause. All ranks must call the same collectives in the same order.
 * Owned by the job that trains; destroyed before it returns, which closes its connections.
 */
class ProcessGroup {
public:
    /** Joins the job: waits for every rank (at most the timeout); an Error says who is missing. */
    static std::unique_ptr<ProcessGroup> connect(const DistConfig& config);
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;

    const DistConfig& config() const;
    int rank() const { return config().rank; }
    int size() const { return config().worldSize; }

    /** Replaces each tensor (CPU, contiguous) with rank `root`'s. */
    void broadcast(std::vector<torch::Tensor> tensors, int root, const std::string& what);
    /** Sums `tensor` (CPU, contiguous) over all ranks, in place. */
    void allreduceSum(torch::Tensor tensor, const std::string& what);
    /** A started sum (the gradient buckets): wait() before reading the tensor. */
    class Pending {
    public:
        virtual ~Pending() = default;
        virtual void wait() = 0;
    };
    std::unique_ptr<Pending> allreduceSumAsync(torch::Tensor tensor, const std::string& what);
    /** Every rank's `text`, in rank order. */
    std::vector<std::string> allgatherText(const std::string& text, const std::string& what);
    /** Every rank's 1-D `values` (lengths may differ), concatenated in rank order. */
    torch::Tensor allgatherRows(const torch::Tensor& values, const std::string& what);

    /** The Error of a failed collective: this rank, the collective and the cause in words. */
    std::string failure(const std::string& what, const std::string& cause) const;

private:
    struct Impl;
    explicit ProcessGroup(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/**
 * Checks that every rank runs the same job: each gives `fields` (name, value) pairs (dataset
 * fingerprint, model, batch, ...); an Error names the first field and the ranks that differ.
 */
void checkSameJob(ProcessGroup& group, const std::vector<std::pair<std::string, std::string>>& fields);

/** Rank 0's parameters and buffers on every rank (the start of a data-parallel training). */
void broadcastModule(ProcessGroup& group, torch::nn::Module& module);
/** Rank 0's AdamW state (steps and moments) on every rank: a resumed run continues on every rank alike. */
void broadcastOptimizer(ProcessGroup& group, torch::optim::AdamW& optimizer);

} // namespace faceatlas
