#include "ml/Distributed.h"

#include "util/Error.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#if FACEATLAS_DISTRIBUTED
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unistd.h>
#if defined(C10_USE_GLOG) && __has_include(<glog/logging.h>)
#include <glog/logging.h> // c10d logs its failures through glog when LibTorch was built with it (Debian's is)
#define FACEATLAS_QUIET_GLOG 1
#endif
#endif

namespace faceatlas {

using Clock = std::chrono::steady_clock;

std::string DistConfig::who() const
{
    return "rank " + std::to_string(rank) + " of " + std::to_string(worldSize);
}

namespace {

/** A whole number from the environment, or an Error naming the variable and its text. */
int environmentInt(const char* name, const char* text)
{
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (!*text || *end || errno == ERANGE || value < -1000000000L || value > 1000000000L)
        throw Error(std::string(name) + " is '" + std::string(text).substr(0, 40) + "', not a whole number");
    return static_cast<int>(value);
}

} // namespace

DistConfig distConfigFromEnvironment(DistConfig base, const std::function<const char*(const char*)>& getenv)
{
    const auto read = [&](const char* name) -> const char* {
        const char* v = getenv(name);
        return v && *v ? v : nullptr;
    };
    if (const char* v = read("RANK"))
        base.rank = environmentInt("RANK", v);
    if (const char* v = read("WORLD_SIZE"))
        base.worldSize = environmentInt("WORLD_SIZE", v);
    if (const char* v = read("LOCAL_RANK"))
        base.localRank = environmentInt("LOCAL_RANK", v);
    if (const char* v = read("MASTER_ADDR"))
        base.masterAddr = v;
    if (const char* v = read("MASTER_PORT"))
        base.masterPort = environmentInt("MASTER_PORT", v);
    if (const char* v = read("GLOO_SOCKET_IFNAME"); v && base.iface.empty())
        base.iface = v;
    checkDistConfig(base);
    return base;
}

void checkDistConfig(const DistConfig& c)
{
    if (c.worldSize < 1 || c.worldSize > 4096)
        throw Error("the world size is " + std::to_string(c.worldSize) + ": it must be 1 to 4096 processes");
    if (c.rank < 0 || c.rank >= c.worldSize)
        throw Error("rank " + std::to_string(c.rank) + " is outside a world of " + std::to_string(c.worldSize)
                    + " processes (ranks are 0 to " + std::to_string(c.worldSize - 1) + ")");
    if (c.distributed() && (c.localRank < 0 || c.localRank >= c.worldSize))
        throw Error("the local rank " + std::to_string(c.localRank) + " is outside a world of "
                    + std::to_string(c.worldSize) + " processes");
    if (c.masterPort < 1 || c.masterPort > 65535)
        throw Error("the master port " + std::to_string(c.masterPort) + " is not a TCP port (1 to 65535)");
    if (c.masterAddr.empty())
        throw Error("the master address is empty: name rank 0's host (MASTER_ADDR or --master-addr)");
    if (c.timeoutSeconds < 1 || c.timeoutSeconds > 86400)
        throw Error("the distributed timeout is " + std::to_string(c.timeoutSeconds)
                    + " s: it must be 1 s to 86400 s (a day)");
}

std::string ProcessGroup::failure(const std::string& what, const std::string& cause) const
{
    return config().who() + ": " + what + " failed: " + cause;
}

namespace {

/** A Gloo or c10d message in words: its source location dropped, the usual causes named. */
[[maybe_unused]] std::string describeFailure(const std::exception& e, int timeoutSeconds)
{
    std::string text;
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
        text = c10->what_without_backtrace();
    else
        text = e.what();
    // "[../third_party/gloo/gloo/transport/tcp/pair.cc:598] Connection closed by peer [127.0.0.1]:1234"
    while (!text.empty() && text[0] == '[') {
        const size_t close = text.find("] ");
        if (close == std::string::npos)
            break;
        text.erase(0, close + 2);
    }
    text = text.substr(0, 300);
    const auto has = [&](const char* s) { return text.find(s) != std::string::npos; };
    if (has("Connection closed by peer") || has("Connection reset by peer") || has("Broken pipe"))
        return "another process of the job ended (" + text + ")";
    if (has("Timed out") || has("timed out") || has("Timeout") || has("timeout"))
        return "no answer from the other processes within " + std::to_string(timeoutSeconds) + " s (" + text + ")";
    return text;
}

} // namespace

#if FACEATLAS_DISTRIBUTED

struct ProcessGroup::Impl {
    DistConfig config;
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;

    /** Runs one collective to its end, or throws the Error that names it. */
    void run(const std::string& what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const
    {
        try {
            start()->wait();
        } catch (const std::exception& e) {
            throw Error(config.who() + ": " + what + " failed: " + describeFailure(e, config.timeoutSeconds));
        }
    }
};

bool distributedAvailable()
{
    return true;
}

namespace {

/** The local address the routing table picks to reach `addr` (a UDP socket that sends nothing). */
std::optional<std::string> localAddressFor(const sockaddr* addr, socklen_t addrLength)
{
    const int fd = ::socket(addr->sa_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return std::nullopt;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    const bool ok =
        ::connect(fd, addr, addrLength) == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
    ::close(fd);
    if (!ok)
        return std::nullopt;
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = local.ss_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
    ::inet_ntop(local.ss_family, raw, text, sizeof text);
    return std::string(text);
}

bool isLoopback(const std::string& address)
{
    return address.rfind("127.", 0) == 0 || address == "::1";
}

/**
 * The address this process's collectives listen on: the one the routing table uses to reach the
 * master. The default Gloo device binds whatever the host name resolves to, 127.0.1.1 on Debian,
 * which no other machine reaches; the same happens here when MASTER_ADDR is rank 0's own host
 * name, so a master address that resolves to loopback without being written as loopback
 * (127.0.0.1, localhost: one machine on purpose) takes the address of the default route instead.
 */
std::string listeningAddress(const DistConfig& c)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(c.masterAddr.c_str(), std::to_string(c.masterPort).c_str(), &hints, &found) != 0 || !found)
        throw Error(c.who() + ": the master address '" + c.masterAddr + "' does not resolve to an address");
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
    const auto local = localAddressFor(found->ai_addr, found->ai_addrlen);
    if (!local)
        throw Error(c.who() + ": no route from this machine to the master address " + c.masterAddr + ": "
                    + errnoText(errno));
    const bool loopbackOnPurpose = c.masterAddr == "localhost" || isLoopback(c.masterAddr);
    if (!isLoopback(*local) || loopbackOnPurpose)
        return *local;
    sockaddr_in outside{}; // any address beyond this machine: the default route's interface
    outside.sin_family = AF_INET;
    outside.sin_port = htons(9);
    ::inet_pton(AF_INET, "192.0.2.1", &outside.sin_addr); // TEST-NET-1: never sent to
    const auto routed = localAddressFor(reinterpret_cast<const sockaddr*>(&outside), sizeof outside);
    return routed && !isLoopback(*routed) ? *routed : *local; // no default route: this machine alone
}

/** Rank 0's store, or a client of it; the usual failures in words. */
c10::intrusive_ptr<c10d::Store> openStore(const DistConfig& c)
{
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(c.masterPort);
    options.isServer = c.leader();
    options.numWorkers = c.worldSize;
    options.waitWorkers = false; // the arrival of each rank is checked below, to name who is missing
    options.timeout = std::chrono::seconds(c.timeoutSeconds);
    const std::string where = c.masterAddr + ":" + std::to_string(c.masterPort);
    try {
        return c10::make_intrusive<c10d::TCPStore>(c.masterAddr, options);
    } catch (const std::exception& e) {
        const std::string cause = describeFailure(e, c.timeoutSeconds);
        if (c.leader())
            throw Error(c.who() + ": cannot host the rendezvous on port " + std::to_string(c.masterPort)
                        + " (is it in use by another program? choose another --master-port): " + cause);
        throw Error(c.who() + ": rank 0 did not answer at " + where + " within " + std::to_string(c.timeoutSeconds)
                    + " s (is it started, and is the port open in the firewall?): " + cause);
    }
}

/** Every rank says it arrived; rank 0 waits for all and names the ones missing after the timeout. */
void awaitEveryRank(c10d::Store& store, const DistConfig& c)
{
    store.set("arrived/" + std::to_string(c.rank), std::vector<std::uint8_t>{1});
    const auto deadline = Clock::now() + std::chrono::seconds(c.timeoutSeconds);
    if (c.leader()) {
        std::vector<int> missing;
        for (;;) {
            missing.clear();
            for (int r = 1; r < c.worldSize; ++r)
                if (!store.check({"arrived/" + std::to_string(r)}))
                    missing.push_back(r);
            if (missing.empty() || Clock::now() > deadline)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!missing.empty()) {
            std::string names;
            for (int r : missing)
                names += (names.empty() ? "" : ", ") + std::to_string(r);
            throw Error(c.who() + ": rank" + (missing.size() > 1 ? "s " : " ") + names + " did not arrive within "
                        + std::to_string(c.timeoutSeconds) + " s at port " + std::to_string(c.masterPort)
                        + " (were all " + std::to_string(c.worldSize) + " processes started?)");
        }
        store.set("everyone-arrived", std::vector<std::uint8_t>{1});
        return;
    }
    try {
        store.wait({"everyone-arrived"}, std::chrono::seconds(c.timeoutSeconds));
    } catch (const std::exception& e) {
        throw Error(c.who() + ": the other ranks did not all arrive within " + std::to_string(c.timeoutSeconds)
                    + " s: " + describeFailure(e, c.timeoutSeconds));
    }
}

} // namespace

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistConfig& c)
{
    checkDistConfig(c);
#ifdef FACEATLAS_QUIET_GLOG
    // c10d also logs each failure it throws ("[c10d] The client socket has timed out ..."), before
    // glog is set up; the Error says it once, in words, naming the rank.
    FLAGS_minloglevel = google::GLOG_FATAL;
#endif
    auto impl = std::make_unique<Impl>();
    impl->config = c;
    const auto timeout = std::chrono::milliseconds(std::chrono::seconds(c.timeoutSeconds));
    auto store = openStore(c);
    awaitEveryRank(*store, c);
    impl->store = store;
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    try {
        if (c.iface.empty())
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(listeningAddress(c)));
        // Several interfaces, comma-separated, as GLOO_SOCKET_IFNAME may list them: a device each.
        for (size_t start = 0; !c.iface.empty() && start <= c.iface.size();) {
            const size_t end = std::min(c.iface.find(',', start), c.iface.size());
            if (end > start)
                options->devices.push_back(
                    c10d::ProcessGroupGloo::createDeviceForInterface(c.iface.substr(start, end - start)));
            start = end + 1;
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(c.who() + ": cannot use the network interface"
                    + (c.iface.empty() ? std::string() : " '" + c.iface + "'") + ": "
                    + describeFailure(e, c.timeoutSeconds));
    }
    try {
        auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo", store);
        impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, c.rank, c.worldSize, options);
    } catch (const std::exception& e) {
        throw Error(c.who() + ": cannot connect to the other ranks: " + describeFailure(e, c.timeoutSeconds));
    }
    return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

void ProcessGroup::broadcast(std::vector<torch::Tensor> tensors, int root, const std::string& what)
{
    for (auto& t : tensors)
        m_impl->run(what, [&] {
            std::vector<at::Tensor> one{t};
            c10d::BroadcastOptions options;
            options.rootRank = root;
            return m_impl->gloo->broadcast(one, options);
        });
}

void ProcessGroup::allreduceSum(torch::Tensor tensor, const std::string& what)
{
    m_impl->run(what, [&] {
        std::vector<at::Tensor> one{tensor};
        return m_impl->gloo->allreduce(one);
    });
}

namespace {

class GlooPending : public ProcessGroup::Pending {
public:
    GlooPending(c10::intrusive_ptr<c10d::Work> work, std::string failurePrefix, int timeoutSeconds)
        : m_work(std::move(work))
        , m_prefix(std::move(failurePrefix))
        , m_timeout(timeoutSeconds)
    {
    }
    void wait() override
    {
        try {
            m_work->wait();
        } catch (const std::exception& e) {
            throw Error(m_prefix + describeFailure(e, m_timeout));
        }
    }

private:
    c10::intrusive_ptr<c10d::Work> m_work;
    std::string m_prefix;
    int m_timeout;
};

} // namespace

std::unique_ptr<ProcessGroup::Pending> ProcessGroup::allreduceSumAsync(torch::Tensor tensor, const std::string& what)
{
    std::vector<at::Tensor> one{tensor};
    try {
        return std::make_unique<GlooPending>(m_impl->gloo->allreduce(one),
                                             config().who() + ": " + what + " failed: ", config().timeoutSeconds);
    } catch (const std::exception& e) {
        throw Error(failure(what, describeFailure(e, config().timeoutSeconds)));
    }
}

torch::Tensor ProcessGroup::allgatherRows(const torch::Tensor& values, const std::string& what)
{
    const int n = size();
    auto length = torch::tensor({values.numel()}, torch::kInt64);
    std::vector<std::vector<at::Tensor>> lengths(1);
    for (int r = 0; r < n; ++r)
        lengths[0].push_back(torch::zeros({1}, torch::kInt64));
    m_impl->run(what, [&] {
        std::vector<at::Tensor> in{length};
        return m_impl->gloo->allgather(lengths, in);
    });
    int64_t longest = 0;
    for (const auto& l : lengths[0])
        longest = std::max(longest, l.item<int64_t>());
    auto padded = torch::zeros({std::max<int64_t>(1, longest)}, values.options());
    padded.narrow(0, 0, values.numel()).copy_(values.reshape({-1}));
    std::vector<std::vector<at::Tensor>> rows(1);
    for (int r = 0; r < n; ++r)
        rows[0].push_back(torch::empty_like(padded));
    m_impl->run(what, [&] {
        std::vector<at::Tensor> in{padded};
        return m_impl->gloo->allgather(rows, in);
    });
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < n; ++r)
        parts.push_back(rows[0][r].narrow(0, 0, lengths[0][r].item<int64_t>()));
    return torch::cat(parts);
}

#else // built without c10d's Gloo backend

struct ProcessGroup::Impl {
    DistConfig config;
};

bool distributedAvailable()
{
    return false;
}

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistConfig& c)
{
    checkDistConfig(c);
    throw Error(c.who()
                + ": this build of FaceAtlas cannot run on several processes: it was built without c10d's "
                  "Gloo headers (install libgloo-dev and build again)");
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>, int, const std::string&) {}
void ProcessGroup::allreduceSum(torch::Tensor, const std::string&) {}
std::unique_ptr<ProcessGroup::Pending> ProcessGroup::allreduceSumAsync(torch::Tensor, const std::string&)
{
    return nullptr;
}
torch::Tensor ProcessGroup::allgatherRows(const torch::Tensor& values, const std::string&)
{
    return values;
}

#endif

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{
}

ProcessGroup::~ProcessGroup() = default;

const DistConfig& ProcessGroup::config() const
{
    return m_impl->config;
}

std::vector<std::string> ProcessGroup::allgatherText(const std::string& text, const std::string& what)
{
    auto bytes = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
    if (!text.empty()) // an empty tensor has no data pointer to copy to
        std::memcpy(bytes.data_ptr<std::uint8_t>(), text.data(), text.size());
    // Lengths travel with the rows: each rank's text ends where its length says.
    std::vector<std::string> texts;
    const auto lengths = allgatherRows(torch::tensor({static_cast<int64_t>(text.size())}, torch::kInt64), what);
    const auto all = allgatherRows(bytes, what).contiguous();
    const auto* data = reinterpret_cast<const char*>(all.data_ptr<std::uint8_t>());
    int64_t at = 0;
    for (int r = 0; r < size(); ++r) {
        const int64_t n = lengths[r].item<int64_t>();
        texts.push_back(n > 0 ? std::string(data + at, static_cast<size_t>(n)) : std::string());
        at += n;
    }
    return texts;
}

void checkSameJob(ProcessGroup& group, const std::vector<std::pair<std::string, std::string>>& fields)
{
    std::string mine;
    for (const auto& [name, value] : fields)
        mine += name + '\t' + value + '\n';
    const auto all = group.allgatherText(mine, "the check that every rank runs the same job");
    for (int r = 1; r < group.size(); ++r) {
        if (all[r] == all[0])
            continue;
        const auto valueIn = [&](const std::string& text, const std::string& name) {
            const size_t at = text.find(name + '\t');
            return at == std::string::npos
                       ? std::string("(none)")
                       : text.substr(at + name.size() + 1, text.find('\n', at) - at - name.size() - 1);
        };
        for (const auto& field : fields) {
            const std::string a = valueIn(all[0], field.first), b = valueIn(all[r], field.first);
            if (a != b)
                throw Error(group.config().who() + ": the ranks run different jobs: rank " + std::to_string(r) + "'s "
                            + field.first + " is '" + b.substr(0, 80) + "', rank 0's is '" + a.substr(0, 80)
                            + "' (every process must train the same model on the same data)");
        }
        throw Error(group.config().who() + ": the ranks run different jobs (rank " + std::to_string(r)
                    + " differs from rank 0)");
    }
}

namespace {

/** Broadcasts tensors of any device in place, through contiguous CPU copies where needed. */
void broadcastInPlace(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, const std::string& what)
{
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> cpu;
    for (const auto& t : tensors)
        cpu.push_back(t.detach().to(torch::kCPU).contiguous());
    group.broadcast(cpu, 0, what);
    for (size_t i = 0; i < tensors.size(); ++i)
        if (!cpu[i].is_same(tensors[i]) && cpu[i].data_ptr() != tensors[i].data_ptr())
            tensors[i].detach().copy_(cpu[i]);
}

} // namespace

void broadcastModule(ProcessGroup& group, torch::nn::Module& module)
{
    std::vector<torch::Tensor> tensors = module.parameters();
    for (const auto& b : module.buffers())
        tensors.push_back(b);
    broadcastInPlace(group, tensors, "the broadcast of rank 0's weights");
}

void broadcastOptimizer(ProcessGroup& group, torch::optim::AdamW& optimizer)
{
    if (optimizer.param_groups().size() != 1)
        throw Error("distributed training holds AdamW with one parameter group only");
    const auto& params = optimizer.param_groups()[0].params();
    auto& states = optimizer.state();
    const auto key = [](const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); };
    // Each parameter's step (-1: no state yet) and whether it keeps AMSGrad's maximum, from rank 0.
    auto steps = torch::full({static_cast<int64_t>(params.size()), 2}, -1, torch::kInt64);
    for (size_t i = 0; i < params.size(); ++i)
        if (const auto it = states.find(key(params[i])); it != states.end()) {
            const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
            steps[static_cast<int64_t>(i)][0] = st.step();
            steps[static_cast<int64_t>(i)][1] = st.max_exp_avg_sq().defined() ? 1 : 0;
        }
    group.broadcast({steps}, 0, "the broadcast of rank 0's optimiser state");
    std::vector<torch::Tensor> moments;
    for (size_t i = 0; i < params.size(); ++i) {
        const int64_t step = steps[static_cast<int64_t>(i)][0].item<int64_t>();
        if (step < 0) {
            states.erase(key(params[i]));
            continue;
        }
        auto& slot = states[key(params[i])];
        if (!slot) {
            auto st = std::make_unique<torch::optim::AdamWParamState>();
            st->exp_avg(torch::zeros_like(params[i]));
            st->exp_avg_sq(torch::zeros_like(params[i]));
            slot = std::move(st);
        }
        auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
        st.step(step);
        if (steps[static_cast<int64_t>(i)][1].item<int64_t>() == 1 && !st.max_exp_avg_sq().defined())
            st.max_exp_avg_sq(torch::zeros_like(params[i]));
        moments.push_back(st.exp_avg());
        moments.push_back(st.exp_avg_sq());
        if (st.max_exp_avg_sq().defined())
            moments.push_back(st.max_exp_avg_sq());
    }
    broadcastInPlace(group, moments, "the broadcast of rank 0's optimiser state");
}

} // namespace faceatlas
