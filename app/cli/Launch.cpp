#include "cli/Launch.h"

#include "util/Error.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace faceatlas::cli {

namespace {

using Clock = std::chrono::steady_clock;

// The ranks' process group, for the signal handler (async-signal-safe: a kill() and nothing else).
volatile sig_atomic_t g_ranksGroup = 0;

void forwardSignal(int signal)
{
    if (g_ranksGroup > 0)
        ::kill(-g_ranksGroup, signal);
}

/** This program's own file, to start the ranks with. */
std::string ownExecutable()
{
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        throw Error(std::string("cannot find this program's file (/proc/self/exe): ") + std::strerror(errno));
    path[n] = '\0';
    return path;
}

struct Rank {
    pid_t pid = 0;
    bool running = true;
    int status = 0;
};

/** "exited with status 1" or "was killed by signal 9 (Killed)". */
std::string describeStatus(int status)
{
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

bool succeeded(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/** Starts rank `rank` in the ranks' process group (made by rank 0's process). */
pid_t startRank(const std::string& exe, const std::vector<std::string>& words, const DistConfig& c, int rank)
{
    std::vector<std::string> env = {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(c.worldSize),
                                    "LOCAL_RANK=" + std::to_string(rank), "MASTER_ADDR=" + c.masterAddr,
                                    "MASTER_PORT=" + std::to_string(c.masterPort)};
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& w : words)
        argv.push_back(const_cast<char*>(w.c_str()));
    argv.push_back(nullptr);
    const pid_t group = g_ranksGroup;
    const pid_t pid = ::fork();
    if (pid < 0)
        throw Error(std::string("cannot start rank ") + std::to_string(rank) + ": " + std::strerror(errno));
    if (pid == 0) {
        ::setpgid(0, group);                // 0 for rank 0: a new group, which the others join
        ::prctl(PR_SET_PDEATHSIG, SIGTERM); // the launcher gone (even killed), the ranks stop
        for (const auto& e : env)
            ::putenv(const_cast<char*>(e.c_str()));
        ::execv(exe.c_str(), argv.data());
        std::fprintf(stderr, "%s: cannot run %s: %s\n", words.empty() ? "faceatlas-cli" : words[0].c_str(), exe.c_str(),
                     std::strerror(errno));
        ::_exit(127);
    }
    ::setpgid(pid, group ? group : pid); // also here: whichever runs first
    if (!group)
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
            const bool cancelled = WIFEXITED(status) && WEXITSTATUS(status) == 130;
            if (!succeeded(status) && !cancelled && firstFailure < 0) {
                firstFailure = static_cast<int>(r);
                deadline = Clock::now() + std::chrono::seconds(timeoutSeconds);
                std::fprintf(stderr, "%s: rank %zu (pid %d) %s\n", command, r, static_cast<int>(pid),
                             describeStatus(status).c_str());
            }
        }
    }
    return firstFailure;
}

} // namespace

int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw Error(std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t length = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
                    && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
    ::close(fd);
    if (!ok)
        throw Error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
    return ntohs(addr.sin_port);
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
    struct sigaction oldInt {
    }, oldTerm{};
    sigaction(SIGINT, &forward, &oldInt);
    sigaction(SIGTERM, &forward, &oldTerm);

    std::vector<Rank> ranks(static_cast<size_t>(processes));
    std::string pids;
    for (int r = 0; r < processes; ++r) {
        ranks[static_cast<size_t>(r)].pid = startRank(exe, words, c, r);
        pids += (r ? ", " : "") + std::to_string(ranks[static_cast<size_t>(r)].pid);
    }
    std::fprintf(stderr, "%s: %d processes on 127.0.0.1:%d (pids %s)\n",
                 words.empty() ? "faceatlas-cli" : words[0].c_str(), processes, c.masterPort, pids.c_str());

    const int firstFailure = waitForRanks(ranks, c.timeoutSeconds, words.empty() ? "faceatlas-cli" : words[0].c_str());
    g_ranksGroup = 0;
    sigaction(SIGINT, &oldInt, nullptr);
    sigaction(SIGTERM, &oldTerm, nullptr);
    if (firstFailure >= 0)
        return 1;
    for (const auto& r : ranks)
        if (!succeeded(r.status))
            return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 130 ? 130 : 1;
    return 0;
}

} // namespace faceatlas::cli
