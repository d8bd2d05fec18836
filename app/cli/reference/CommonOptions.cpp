// Options several commands share, written once so that they read alike everywhere.
#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

OptionSpec jsonOption(std::string help)
{
    return {"json", "", std::move(help)};
}

OptionSpec deviceOption(std::string what)
{
    return {"device", "auto|cpu|cuda", std::move(what) + "; auto takes CUDA when it is available", "auto"};
}

OptionSpec threadsOption(std::string what)
{
    return {"threads", "T", std::move(what) + " (default: all cores)"};
}

OptionSpec forceOption()
{
    return {"force", "",
            "replace a FaceAtlas folder of another kind at --out (a folder FaceAtlas did not write, or one "
            "holding the inputs, is always refused)"};
}

std::vector<OptionSpec> distributedOptions(const std::string& nprocHelp)
{
    const std::string section =
        "Several processes (PyTorch's c10d with Gloo; see the README's \"More than one machine\")";
    return {
        {"nproc", "N", nprocHelp, "1", false, section},
        {"rank", "R",
         "this process's place in a job whose processes another launcher starts (torchrun, mpirun, Slurm, "
         "one command per machine); by default read from RANK, as torchrun sets it (LOCAL_RANK, its place on its "
         "machine, is read too)",
         "", false, section},
        {"world-size", "W", "the number of processes of that job; by default read from WORLD_SIZE", "", false, section},
        {"master-addr", "HOST", "where rank 0 listens; by default read from MASTER_ADDR, else 127.0.0.1", "", false,
         section},
        {"master-port", "P",
         "the port rank 0 listens on (open it in the firewall); by default read from MASTER_PORT, else 29500", "",
         false, section},
        {"dist-iface", "NAME",
         "the network interface the processes talk over (default: the one that reaches the master address; "
         "GLOO_SOCKET_IFNAME names it too)",
         "", false, section},
        {"dist-timeout", "S",
         "how long a process waits for the others, at the start and in every exchange, before it fails naming "
         "itself and the cause, in seconds",
         "120", false, section},
    };
}

} // namespace faceatlas::cli
