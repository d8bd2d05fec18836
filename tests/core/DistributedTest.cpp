// Data-parallel training's parts on loopback: torchrun's environment, each rank's share of a batch,
// c10d's collectives between two ranks in threads of this process, the gradient buckets against one
// process's gradients, k-means on two ranks against one process, and the failures that must end a rank within its
// timeout (a missing peer, a port in use, a peer that ends, another job). tests/cli/distributed_cli_test.sh runs whole
// trainings in separate processes.
#include "ml/Distributed.h"
#include "ml/Batches.h"
#include "ml/GradientSync.h"
#include "ml/KMeans.h"
#include "util/Error.h"
#include "util/RankProcess.h"

#include <arpa/inet.h>
#include <chrono>
#include <functional>
#include <future>
#include <gtest/gtest.h>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace faceatlas;
using Clock = std::chrono::steady_clock;

namespace {

DistConfig fromEnvironment(const std::map<std::string, std::string>& env)
{
    return distConfigFromEnvironment(DistConfig{}, [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

/** A port nothing listens on (the kernel's pick; free again when this returns). */
int freePort()
{
    return freeLoopbackPort();
}

DistConfig rankOf(int rank, int world, int port, int timeoutSeconds = 20)
{
    DistConfig c;
    c.rank = rank;
    c.worldSize = world;
    c.masterAddr = "127.0.0.1";
    c.masterPort = port;
    c.timeoutSeconds = timeoutSeconds;
    return c;
}

/** Runs `body(rank, group)` on two ranks, each on its own thread with its own process group. */
template <typename Body>
void onTwoRanks(Body body)
{
    const int port = freePort();
    auto run = [&](int rank) {
        auto group = ProcessGroup::connect(rankOf(rank, 2, port));
        body(rank, *group);
    };
    auto other = std::async(std::launch::async, run, 1);
    run(0);
    other.get();
}

} // namespace

TEST(DistributedTest, readsTorchrunsEnvironmentAndRefusesInconsistentOnes)
{
    const DistConfig c = fromEnvironment({{"RANK", "3"},
                                          {"WORLD_SIZE", "4"},
                                          {"LOCAL_RANK", "1"},
                                          {"MASTER_ADDR", "10.0.0.7"},
                                          {"MASTER_PORT", "29511"},
                                          {"GLOO_SOCKET_IFNAME", "eth1"}});
    EXPECT_EQ(c.rank, 3);
    EXPECT_EQ(c.worldSize, 4);
    EXPECT_EQ(c.localRank, 1);
    EXPECT_EQ(c.masterAddr, "10.0.0.7");
    EXPECT_EQ(c.masterPort, 29511);
    EXPECT_EQ(c.iface, "eth1");
    EXPECT_EQ(c.who(), "rank 3 of 4");
    const DistConfig alone = fromEnvironment({});
    EXPECT_FALSE(alone.distributed());
    EXPECT_EQ(alone.masterPort, 29500);

    EXPECT_NE(errorOf([] {
                  fromEnvironment({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
              }).find("rank 2 is outside a world of 2"),
              std::string::npos);
    EXPECT_NE(errorOf([] {
                  fromEnvironment({{"RANK", "-1"}, {"WORLD_SIZE", "2"}});
              }).find("outside"),
              std::string::npos);
    EXPECT_NE(errorOf([] {
                  fromEnvironment({{"WORLD_SIZE", "two"}});
              }).find("WORLD_SIZE is 'two', not a whole number"),
              std::string::npos);
    EXPECT_NE(errorOf([] { fromEnvironment({{"MASTER_PORT", "70000"}}); }).find("not a TCP port"), std::string::npos);
    EXPECT_NE(errorOf([] { fromEnvironment({{"WORLD_SIZE", "0"}}); }).find("1 to 4096"), std::string::npos);
    EXPECT_NE(errorOf([] { fromEnvironment({{"RANK", "1"}}); }).find("outside a world of 1"), std::string::npos);
}

TEST(DistributedTest, eachGlobalBatchIsCutIntoTheRanksSlicesOnce)
{
    std::vector<std::uint32_t> order(10);
    for (std::uint32_t i = 0; i < 10; ++i)
        order[i] = 100 + (i * 7) % 10;
    for (int world : {1, 2, 3, 4, 5}) {
        std::vector<RankShare> shares;
        for (int r = 0; r < world; ++r)
            shares.push_back(rankShare(order, 4, r, world));
        // Batch by batch, the ranks' slices in rank order are the global batch, in order.
        std::vector<std::uint32_t> joined;
        std::vector<size_t> at(static_cast<size_t>(world), 0);
        for (size_t b = 0; b < 3; ++b)
            for (int r = 0; r < world; ++r) {
                const auto& s = shares[static_cast<size_t>(r)];
                ASSERT_EQ(s.lengths.size(), 3u);
                EXPECT_EQ(s.globalLengths, (std::vector<size_t>{4, 4, 2}));
                joined.insert(joined.end(), s.order.begin() + static_cast<long>(at[r]),
                              s.order.begin() + static_cast<long>(at[r] + s.lengths[b]));
                at[r] += s.lengths[b];
            }
        EXPECT_EQ(joined, order) << world << " ranks";
        for (size_t b = 0; b < 3; ++b) { // the slices of one batch differ by at most one face
            size_t low = 99, high = 0;
            for (const auto& s : shares) {
                low = std::min(low, s.lengths[b]);
                high = std::max(high, s.lengths[b]);
            }
            EXPECT_LE(high - low, 1u);
        }
    }
    // More ranks than faces in the last batch: some ranks have none there, and step all the same.
    EXPECT_EQ(rankShare(order, 4, 0, 4).lengths, (std::vector<size_t>{1, 1, 0}));
    EXPECT_EQ(rankShare(order, 4, 3, 4).lengths, (std::vector<size_t>{1, 1, 1}));
}

TEST(DistributedTest, collectivesBetweenTwoRanks)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    onTwoRanks([](int rank, ProcessGroup& group) {
        auto sum = torch::full({3}, static_cast<float>(rank + 1));
        group.allreduceSum(sum, "a test sum");
        EXPECT_TRUE(torch::equal(sum, torch::full({3}, 3.0f)));
        auto value = torch::full({2}, rank == 0 ? 7.0 : -1.0, torch::kDouble);
        group.broadcast({value}, 0, "a test broadcast");
        EXPECT_TRUE(torch::equal(value, torch::full({2}, 7.0, torch::kDouble)));
        const auto texts = group.allgatherText(rank == 0 ? "zero" : "rank one", "a test gather");
        EXPECT_EQ(texts, (std::vector<std::string>{"zero", "rank one"}));
        // An empty text (encode's other ranks send none), and all of them empty.
        EXPECT_EQ(group.allgatherText(rank == 0 ? "folder" : "", "a test gather"),
                  (std::vector<std::string>{"folder", ""}));
        EXPECT_EQ(group.allgatherText("", "a test gather"), (std::vector<std::string>{"", ""}));
        // Rows of different lengths (one empty), concatenated in rank order.
        const auto rows = group.allgatherRows(
            rank == 0 ? torch::tensor({1.0, 2.0}, torch::kDouble) : torch::empty({0}, torch::kDouble), "a test gather");
        EXPECT_TRUE(torch::equal(rows, torch::tensor({1.0, 2.0}, torch::kDouble)));
    });
}

namespace {

struct TinyNet : torch::nn::Module {
    TinyNet()
    {
        a = register_module("a", torch::nn::Linear(5, 4));
        b = register_module("b", torch::nn::Linear(4, 1));
        unused = register_parameter("unused", torch::ones({3}));
    }
    torch::Tensor forward(const torch::Tensor& x) { return b(torch::tanh(a(x))).squeeze(1); }
    torch::nn::Linear a{nullptr}, b{nullptr};
    torch::Tensor unused;
};

/** The seed is global (threads would race for it): rank 0 copies the one-process net's weights. */
void copyWeights(TinyNet& from, TinyNet& to)
{
    torch::NoGradGuard noGrad;
    const auto source = from.parameters();
    auto target = to.parameters();
    for (size_t i = 0; i < source.size(); ++i)
        target[i].copy_(source[i]);
}

torch::Tensor batchInputs()
{
    torch::manual_seed(11);
    return torch::randn({5, 5});
}

} // namespace

TEST(DistributedTest, summedGradientsAreTheGlobalBatchsMeanGradient)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    const auto x = batchInputs();
    const auto y = torch::linspace(-1, 1, 5);
    // One process: the mean loss over the 5 faces.
    torch::manual_seed(5);
    TinyNet one;
    torch::nn::functional::mse_loss(one.forward(x), y).backward();

    // Two ranks, 3 faces and 2: uneven shares, buckets of 20 bytes so there are several, and one
    // parameter the pass never reaches. Rank 1 starts from other weights and takes rank 0's.
    std::vector<std::vector<torch::Tensor>> grads(2);
    onTwoRanks([&](int rank, ProcessGroup& group) {
        TinyNet net;
        if (rank == 0)
            copyWeights(one, net);
        broadcastModule(group, net);
        GradientSync sync(group, net.parameters(), 20);
        EXPECT_GT(sync.bucketCount(), 2u);
        for (int step = 0; step < 2; ++step) { // twice: a step leaves nothing behind for the next
            for (auto& p : net.parameters())
                if (p.grad().defined())
                    p.grad().zero_();
            const auto mine = rank == 0 ? torch::indexing::Slice(0, 3) : torch::indexing::Slice(3, 5);
            sync.beginStep(rank == 0 ? 3.0 / 5 : 2.0 / 5);
            torch::nn::functional::mse_loss(net.forward(x.index({mine})), y.index({mine})).backward();
            sync.finishStep();
        }
        for (const auto& p : net.parameters())
            grads[static_cast<size_t>(rank)].push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    });
    const auto expected = one.parameters();
    for (int rank = 0; rank < 2; ++rank)
        for (size_t i = 0; i < expected.size(); ++i) {
            // A parameter no pass reached has no gradient, as with one process (so AdamW skips it).
            ASSERT_EQ(grads[static_cast<size_t>(rank)][i].defined(), expected[i].grad().defined()) << i;
            if (!expected[i].grad().defined())
                continue;
            const auto want = expected[i].grad();
            EXPECT_TRUE(torch::allclose(grads[static_cast<size_t>(rank)][i], want, 1e-5, 1e-6))
                << "rank " << rank << " parameter " << i << "\n"
                << grads[static_cast<size_t>(rank)][i] << "\n"
                << want;
        }
}

TEST(DistributedTest, aRankWithNoFacesInABatchStillSteps)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    const auto x = batchInputs().narrow(0, 0, 1);
    const auto y = torch::ones({1});
    torch::manual_seed(5);
    TinyNet one;
    torch::nn::functional::mse_loss(one.forward(x), y).backward();
    std::vector<torch::Tensor> grads(2);
    onTwoRanks([&](int rank, ProcessGroup& group) {
        TinyNet net;
        if (rank == 0)
            copyWeights(one, net);
        broadcastModule(group, net);
        GradientSync sync(group, net.parameters());
        sync.beginStep(rank == 0 ? 1.0 : 0.0);
        if (rank == 0)
            torch::nn::functional::mse_loss(net.forward(x), y).backward();
        sync.finishStep(); // rank 1: no backward at all
        grads[static_cast<size_t>(rank)] = net.a->weight.grad().clone();
    });
    EXPECT_TRUE(torch::allclose(grads[0], one.a->weight.grad()));
    EXPECT_TRUE(torch::allclose(grads[1], one.a->weight.grad()));
}

TEST(DistributedTest, anotherJobOnOneRankIsNamed)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    std::vector<std::string> errors(2);
    onTwoRanks([&](int rank, ProcessGroup& group) {
        errors[static_cast<size_t>(rank)] = errorOf([&] {
            checkSameJob(group, {{"model", "autoencoder"}, {"seed", rank == 0 ? "1" : "2"}});
        });
    });
    for (const auto& e : errors)
        EXPECT_NE(e.find("rank 1's seed is '2', rank 0's is '1'"), std::string::npos) << e;
}

TEST(DistributedTest, aMissingPeerEndsWithinTheTimeoutNamingIt)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    const auto start = Clock::now();
    const std::string e = errorOf([] { ProcessGroup::connect(rankOf(0, 3, freePort(), 2)); });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_NE(e.find("rank 0 of 3: ranks 1, 2 did not arrive within 2 s"), std::string::npos) << e;
    EXPECT_LT(seconds, 10);
    // A rank other than 0 with no rank 0 to find.
    const std::string lost = errorOf([] { ProcessGroup::connect(rankOf(1, 2, freePort(), 2)); });
    EXPECT_NE(lost.find("rank 1 of 2: rank 0 did not answer at 127.0.0.1:"), std::string::npos) << lost;
}

TEST(DistributedTest, aPortInUseIsSaid)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t length = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    const int port = ntohs(addr.sin_port);
    const std::string e = errorOf([&] { ProcessGroup::connect(rankOf(0, 2, port, 2)); });
    ::close(fd);
    EXPECT_NE(e.find("cannot host the rendezvous on port " + std::to_string(port)), std::string::npos) << e;
    EXPECT_NE(e.find("in use"), std::string::npos) << e;
}

TEST(DistributedTest, aPeerThatEndsFailsTheOthersCollectiveNamingIt)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    const int port = freePort();
    std::string error;
    double seconds = 0;
    auto leaver = std::async(std::launch::async, [&] {
        auto group = ProcessGroup::connect(rankOf(1, 2, port, 60));
        auto t = torch::ones({4});
        group->allreduceSum(t, "a first sum");
        // ... and leaves: its connections close with its group.
    });
    auto group = ProcessGroup::connect(rankOf(0, 2, port, 60));
    auto t = torch::ones({4});
    group->allreduceSum(t, "a first sum");
    leaver.get();
    const auto start = Clock::now();
    error = errorOf([&] {
        auto again = torch::ones({1 << 16});
        group->allreduceSum(again, "the gradient all-reduce");
    });
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    // Told by the closed connection, long before the 60 s timeout.
    EXPECT_NE(error.find("rank 0 of 2: the gradient all-reduce failed: another process of the job ended"),
              std::string::npos)
        << error;
    EXPECT_LT(seconds, 20) << error;
}

TEST(DistributedTest, kMeansOnTwoRanksFindsOneProcesssCentres)
{
    if (!distributedAvailable())
        GTEST_SKIP() << "built without c10d's Gloo headers (libgloo-dev)";
    torch::manual_seed(3);
    const auto centres = torch::randn({6, 8}) * 4;
    const auto data = (centres.repeat({150, 1}) + torch::randn({900, 8})).contiguous();
    KMeansParams p;
    p.k = 6;
    p.restarts = 2;
    p.seed = 9;
    const KMeansResult one = kmeans(data, p);
    std::vector<KMeansResult> ranks(2);
    onTwoRanks([&](int rank, ProcessGroup& group) {
        KMeansParams mine = p;
        mine.group = &group;
        ranks[static_cast<size_t>(rank)] = kmeans(data, mine);
    });
    for (const auto& r : ranks) {
        EXPECT_TRUE(torch::allclose(r.centroids, one.centroids, 1e-4, 1e-4));
        EXPECT_EQ(r.labels, one.labels); // every rank holds every row's label
        EXPECT_EQ(r.sizes, one.sizes);
        EXPECT_NEAR(r.inertia, one.inertia, 1e-6 * one.inertia);
        EXPECT_EQ(r.iterations, one.iterations);
    }
}
