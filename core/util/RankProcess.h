#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace faceatlas {

/** Where a process joins a data-parallel job: torchrun's environment for it. */
struct RankPlace {
    int rank = 0;
    int worldSize = 1;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
};

/**
 * Starts `exe` with `words` as rank `place.rank` of a job: this process's environment with
 * torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) set to `place`.
 * The child joins process group `group` (0: a new one it leads; negative: stays in ours), gets
 * SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG), and between fork and exec makes
 * only async-signal-safe calls. Throws Error when the process cannot be made.
 */
pid_t startRankProcess(const std::string& exe, const std::vector<std::string>& words, const RankPlace& place,
                       pid_t group);

/** A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice): a local job's rendezvous. */
int freeLoopbackPort();

/** This program's own file (/proc/self/exe), to start more of it; throws Error when unknown. */
std::string ownExecutable();

/** A wait status in words: "exited with status 1", "was killed by signal 9 (Killed)". */
std::string describeExit(int status);

/**
 * The other ranks of a job this process leads as rank 0 (the desktop application training on
 * several processes): ranks 1 to worldSize-1 started with `words`, reaped when destroyed (given a
 * few seconds to end on their own, which they do once rank 0's connections close; then SIGTERM and
 * SIGKILL). Lives on the thread that runs the job, as long as the job.
 */
class HelperRanks {
public:
    HelperRanks(const std::string& exe, const std::vector<std::string>& words, const RankPlace& leader);
    ~HelperRanks();
    HelperRanks(const HelperRanks&) = delete;
    HelperRanks& operator=(const HelperRanks&) = delete;

    /** The ranks that ended badly so far, in words ("rank 1 (pid 42) was killed by signal 9"); empty if none. */
    std::string failures();

private:
    std::vector<pid_t> m_pids;
    std::vector<int> m_status; // -1: still running
};

} // namespace faceatlas
