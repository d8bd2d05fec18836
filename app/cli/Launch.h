#pragma once

#include "ml/Distributed.h"

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

/** A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice). */
int freeLoopbackPort();

} // namespace faceatlas::cli
