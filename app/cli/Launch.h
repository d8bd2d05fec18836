#pragma once

#include "cli/CliSupport.h"
#include "ml/Distributed.h"
#include "util/RankProcess.h"

#include <string>
#include <vector>

namespace faceatlas::cli {

/**
 * torchrun on one machine: runs `processes` copies of this program with `words` (the command and
 * its options, without --nproc) as ranks 0 to processes-1 of one job on 127.0.0.1, each with
 * torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), and waits for
 * them. `base.masterPort` is used when `portGiven`, else a free port is found. Ctrl-C and SIGTERM
 * reach every rank once. When a rank fails, the launcher names it (its exit status or signal),
 * gives the others `base.timeoutSeconds` to end on their own, then stops them. Returns 0 when every
 * rank succeeded, 130 when the job was cancelled, else 1.
 */
int launchLocalRanks(int processes, const std::vector<std::string>& words, const DistConfig& base, bool portGiven);

/**
 * This process's place in a data-parallel job: torchrun's environment, overridden by the options
 * --rank, --world-size, --master-addr, --master-port, --dist-iface and --dist-timeout (UsageError
 * when inconsistent).
 */
DistConfig distConfig(const Args& args);

/**
 * The words each rank of `COMMAND ... --nproc N` runs: `command`, then `words` without --nproc, and
 * --threads with the rank's share of the cores unless the user gave one (`threads` > 0).
 */
std::vector<std::string> rankWords(const std::string& command, const std::vector<std::string>& words, int processes,
                                   int threads);

/** --nproc N: 1 to 256 processes, and not beside a world size the environment already set. */
int processCount(const Args& args, const DistConfig& dist);

/**
 * `command` on `processes` ranks of this machine (launchLocalRanks) with `words` (its options), after
 * checking that this build can; --master-port (or MASTER_PORT) is used when given.
 */
int launchRanks(const std::string& command, const std::vector<std::string>& words, int processes, const Args& args,
                const DistConfig& dist, int threads);

} // namespace faceatlas::cli
