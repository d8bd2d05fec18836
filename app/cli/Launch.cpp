#include "cli/Launch.h"

#include "util/Error.h"
#include "util/RankProcess.h"

#include <algorithm>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace faceatlas::cli {

namespace {

using Clock = std::chrono::steady_clock;

// The ranks' process group, for the signal handler (async-signal-safe: a kill() and nothing else),
// and whether it passed a Ctrl-C or SIGTERM on: a rank that then dies of it was cancelled.
volatile sig_atomic_t g_ranksGroup = 0;
volatile sig_atomic_t g_forwarded = 0;

void forwardSignal(int signal)
{
    g_forwarded = 1;
    if (g_ranksGroup > 0)
        ::kill(-g_ranksGroup, signal);
}

struct Rank {
    pid_t pid = 0;
    bool running = true;
    int status = 1 << 8; // "exited with status 1" until it was reaped
};

bool succeeded(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/** Exit 130 (a rank's own Ctrl-C), or death by the Ctrl-C or SIGTERM the launcher passed on. */
bool isCancel(int status)
{
    return (WIFEXITED(status) && WEXITSTATUS(status) == 130)
           || (g_forwarded && WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM));
}

/** Starts rank `rank` in the ranks' process group (made by rank 0's process). */
pid_t startRank(const std::string& exe, const std::vector<std::string>& words, const DistConfig& c, int rank)
{
    const pid_t pid = startRankProcess(exe, words, {rank, c.worldSize, c.masterAddr, c.masterPort}, g_ranksGroup);
    if (!g_ranksGroup)
        g_ranksGroup = pid;
    return pid;
}

/**
 * Waits for every rank; returns the first that failed (-1: none). After a failure the others get
 * `timeoutSeconds` to end on their own (they notice the lost peer), then SIGTERM, then SIGKILL.
 */
int waitForRanks(std::vector<Rank>& ranks, int timeoutSeconds, const char* command)
{
    int running = static_cast<int>(ranks.size());
    int firstFailure = -1;
    Clock::time_point deadline{};
    bool stopped = false;
    while (running > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-g_ranksGroup, &status, firstFailure < 0 ? 0 : WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        if (pid == 0) { // a failure seen: poll until the deadline, then stop the rest
            if (Clock::now() > deadline && !stopped) {
                std::fprintf(stderr, "%s: stopping the ranks still running %d s after rank %d failed\n", command,
                             timeoutSeconds, firstFailure);
                ::kill(-g_ranksGroup, SIGTERM);
                stopped = true;
                deadline = Clock::now() + std::chrono::seconds(5);
            } else if (Clock::now() > deadline && stopped) {
                ::kill(-g_ranksGroup, SIGKILL);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        for (size_t r = 0; r < ranks.size(); ++r) {
            if (ranks[r].pid != pid)
                continue;
            ranks[r].running = false;
            ranks[r].status = status;
            --running;
            const bool cancelled = isCancel(status);
            if (!succeeded(status) && !cancelled && firstFailure < 0) {
                firstFailure = static_cast<int>(r);
                deadline = Clock::now() + std::chrono::seconds(timeoutSeconds);
                std::fprintf(stderr, "%s: rank %zu (pid %d) %s\n", command, r, static_cast<int>(pid),
                             describeExit(status).c_str());
            }
        }
    }
    return firstFailure;
}

} // namespace

/**
 * This process's place in a data-parallel job: torchrun's environment, overridden by the options
 * (--rank, --world-size, --master-addr, --master-port, --dist-iface, --dist-timeout).
 */
DistConfig distConfig(const Args& args)
{
    DistConfig c;
    c.iface = args.value("dist-iface").value_or("");
    c = distConfigFromEnvironment(c);
    // The environment's values unless an option overrides them; the timeout's default is the table's.
    if (args.has("rank"))
        c.rank = args.intValue("rank");
    if (args.has("world-size"))
        c.worldSize = args.intValue("world-size");
    c.masterAddr = args.value("master-addr").value_or(c.masterAddr);
    if (args.has("master-port"))
        c.masterPort = args.intValue("master-port");
    c.timeoutSeconds = args.intValue("dist-timeout");
    try {
        checkDistConfig(c);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    return c;
}

/**
 * The words each rank of `--nproc N` runs: the same command without --nproc, with its share of the
 * cores as --threads unless the user gave one (`threads` > 0).
 */
std::vector<std::string> rankWords(const std::string& command, const std::vector<std::string>& words, int processes,
                                   int threads)
{
    std::vector<std::string> out{command};
    for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "--nproc") {
            ++i; // and its value
            continue;
        }
        if (words[i].rfind("--nproc=", 0) == 0)
            continue;
        out.push_back(words[i]);
    }
    if (threads <= 0) {
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        out.push_back("--threads");
        out.push_back(std::to_string(std::max(1, cores / processes)));
    }
    return out;
}

int processCount(const Args& args, const DistConfig& dist)
{
    const int processes = args.intValue("nproc");
    if (processes < 1 || processes > 256)
        throw UsageError("--nproc must be 1 to 256 processes");
    if (processes > 1 && dist.distributed())
        throw UsageError("--nproc starts its own processes: not with --world-size or WORLD_SIZE set");
    for (const char* option : {"rank", "world-size", "master-addr"})
        if (processes > 1 && args.has(option))
            throw UsageError(std::string("--nproc starts its own processes on 127.0.0.1: not with --") + option);
    return processes;
}

int launchRanks(const std::string& command, const std::vector<std::string>& words, int processes, const Args& args,
                const DistConfig& dist, int threads)
{
    if (!distributedAvailable())
        throw Error("--nproc: this build of FaceAtlas runs on one process only (built without c10d's Gloo headers: "
                    "install libgloo-dev and build again)");
    const bool portGiven = args.has("master-port") || std::getenv("MASTER_PORT");
    return launchLocalRanks(processes, rankWords(command, words, processes, threads), dist, portGiven);
}

int launchLocalRanks(int processes, const std::vector<std::string>& words, const DistConfig& base, bool portGiven)
{
    DistConfig c = base;
    c.worldSize = processes;
    c.rank = 0;
    c.masterAddr = "127.0.0.1";
    if (!portGiven)
        c.masterPort = freeLoopbackPort();
    checkDistConfig(c);
    const std::string exe = ownExecutable();

    struct sigaction forward {};
    forward.sa_handler = forwardSignal;
    sigemptyset(&forward.sa_mask);
    struct sigaction oldInt {};
    struct sigaction oldTerm {};
    // Blocked while the ranks start: a Ctrl-C then reaches them all once the group exists.
    sigset_t both, old;
    sigemptyset(&both);
    sigaddset(&both, SIGINT);
    sigaddset(&both, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &both, &old);
    g_forwarded = 0;
    sigaction(SIGINT, &forward, &oldInt);
    sigaction(SIGTERM, &forward, &oldTerm);

    std::vector<Rank> ranks(static_cast<size_t>(processes));
    std::string pids;
    for (int r = 0; r < processes; ++r) {
        ranks[static_cast<size_t>(r)].pid = startRank(exe, words, c, r);
        pids += (r ? ", " : "") + std::to_string(ranks[static_cast<size_t>(r)].pid);
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    const char* command = words.empty() ? "faceatlas-cli" : words[0].c_str();
    std::fprintf(stderr, "%s: %d processes on 127.0.0.1:%d (pids %s)\n", command, processes, c.masterPort,
                 pids.c_str());

    const int firstFailure = waitForRanks(ranks, c.timeoutSeconds, command);
    g_ranksGroup = 0;
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);
    if (firstFailure >= 0)
        return 1;
    for (const auto& r : ranks)
        if (r.running || !succeeded(r.status))
            return !r.running && isCancel(r.status) ? 130 : 1;
    return 0;
}

} // namespace faceatlas::cli
