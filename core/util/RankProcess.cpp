#include "util/RankProcess.h"

#include "util/Error.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace faceatlas {

namespace {

/** This process's environment without torchrun's variables (each rank gets its own). */
std::vector<std::string> inheritedEnvironment()
{
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        bool ours = false;
        for (const char* name : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "MASTER_ADDR=", "MASTER_PORT="})
            ours = ours || entry.rfind(name, 0) == 0;
        if (!ours)
            env.push_back(entry);
    }
    return env;
}

} // namespace

pid_t startRankProcess(const std::string& exe, const std::vector<std::string>& words, const RankPlace& place,
                       pid_t group)
{
    // Everything the child needs is built before fork(): between fork and exec it allocates nothing.
    std::vector<std::string> env = inheritedEnvironment();
    for (const std::string& e : {"RANK=" + std::to_string(place.rank), "WORLD_SIZE=" + std::to_string(place.worldSize),
                                 "LOCAL_RANK=" + std::to_string(place.rank), "MASTER_ADDR=" + place.masterAddr,
                                 "MASTER_PORT=" + std::to_string(place.masterPort)})
        env.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& w : words)
        argv.push_back(const_cast<char*>(w.c_str()));
    argv.push_back(nullptr);
    const std::string failed = (words.empty() ? std::string("faceatlas-cli") : words[0]) + ": cannot run " + exe + "\n";
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw Error("cannot start rank " + std::to_string(place.rank) + ": " + errnoText(errno));
    if (pid == 0) {
        if (group >= 0)
            ::setpgid(0, group);            // 0: a new group, which the other ranks join
        ::prctl(PR_SET_PDEATHSIG, SIGTERM); // the starter gone (even killed), the rank stops
        if (::getppid() != parent)          // ... also when it went before prctl
            ::_exit(1);
        sigset_t none;
        sigemptyset(&none);
        // A starter may block signals while it forks. The forked child has one thread, so sigprocmask's
        // effect on other threads does not arise.
        // NOLINTNEXTLINE(concurrency-mt-unsafe)
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(exe.c_str(), argv.data(), envp.data());
        (void)!::write(STDERR_FILENO, failed.data(), failed.size());
        ::_exit(127);
    }
    if (group >= 0)
        ::setpgid(pid, group ? group : pid); // also here: whichever runs first
    return pid;
}

int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw Error(std::string("cannot open a socket to find a free port: ") + errnoText(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t length = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
                    && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
    ::close(fd);
    if (!ok)
        throw Error(std::string("cannot find a free port on 127.0.0.1: ") + errnoText(errno));
    return ntohs(addr.sin_port);
}

std::string ownExecutable()
{
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        throw Error(std::string("cannot find this program's file (/proc/self/exe): ") + errnoText(errno));
    path[n] = '\0';
    return path;
}

std::string describeExit(int status)
{
    if (WIFSIGNALED(status)) {
        // sigdescr_np: strsignal's text ("Killed") without its shared buffer; null for an unknown signal.
        const char* what = ::sigdescr_np(WTERMSIG(status));
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + (what ? what : "unknown signal")
               + ")";
    }
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

HelperRanks::HelperRanks(const std::string& exe, const std::vector<std::string>& words, const RankPlace& leader)
{
    try {
        for (int r = 1; r < leader.worldSize; ++r) {
            RankPlace place = leader;
            place.rank = r;
            m_pids.push_back(startRankProcess(exe, words, place, -1));
            m_status.push_back(-1);
        }
    } catch (...) {
        for (pid_t pid : m_pids) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        throw;
    }
}

std::string HelperRanks::failures()
{
    std::string text;
    for (size_t i = 0; i < m_pids.size(); ++i) {
        int status = 0;
        if (m_status[i] < 0 && ::waitpid(m_pids[i], &status, WNOHANG) == m_pids[i])
            m_status[i] = status;
        if (m_status[i] >= 0 && !(WIFEXITED(m_status[i]) && WEXITSTATUS(m_status[i]) == 0))
            text += (text.empty() ? "" : "; ") + std::string("rank ") + std::to_string(i + 1) + " (pid "
                    + std::to_string(m_pids[i]) + ") " + describeExit(m_status[i]);
    }
    return text;
}

HelperRanks::~HelperRanks()
{
    using Clock = std::chrono::steady_clock;
    const auto reapAll = [this](Clock::duration within) {
        const auto until = Clock::now() + within;
        for (;;) {
            bool running = false;
            for (size_t i = 0; i < m_pids.size(); ++i) {
                int status = 0;
                if (m_status[i] < 0 && ::waitpid(m_pids[i], &status, WNOHANG) == m_pids[i])
                    m_status[i] = status;
                running = running || m_status[i] < 0;
            }
            if (!running || Clock::now() > until)
                return running;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    };
    if (!reapAll(std::chrono::seconds(5)))
        return;
    for (size_t i = 0; i < m_pids.size(); ++i)
        if (m_status[i] < 0)
            ::kill(m_pids[i], SIGTERM);
    if (!reapAll(std::chrono::seconds(2)))
        return;
    for (size_t i = 0; i < m_pids.size(); ++i)
        if (m_status[i] < 0) {
            ::kill(m_pids[i], SIGKILL);
            ::waitpid(m_pids[i], nullptr, 0);
        }
}

} // namespace faceatlas
