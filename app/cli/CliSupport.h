#pragma once

#include "cli/reference/CommandSpec.h"
#include "util/CancelToken.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace faceatlas::cli {

/** Thrown for a wrong command line: printed as one line, exit code 2. */
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/**
 * The options of one command, read against its entry in the command table (reference/CommandSpec):
 * `--name value`, `--name=value` and `--flag`. An option the table does not list is a UsageError;
 * the command reading one it does not list, or a number with no default and not given, is a
 * std::logic_error (a mistake of ours, not of the user). Defaults come from the table only.
 */
class Args {
public:
    Args(const std::vector<std::string>& words, const CommandSpec& command);

    /** Given on the command line. */
    bool has(const std::string& name) const;
    /** The value given, else the table's default, else none. */
    std::optional<std::string> value(const std::string& name) const;
    std::string required(const std::string& name) const;
    /** Every value of an option given several times, in order (value() gives the last). */
    std::vector<std::string> values(const std::string& name) const;
    int intValue(const std::string& name) const;
    long long longValue(const std::string& name) const;
    double doubleValue(const std::string& name) const;
    /** Throws UsageError naming the first option given that no call above asked for. */
    void rejectUnknown() const;

private:
    const OptionSpec& declared(const std::string& name) const;
    /** value(), or a logic_error when there is none. */
    std::string number(const std::string& name) const;

    const CommandSpec& m_command;
    std::map<std::string, std::string> m_values;
    std::map<std::string, std::vector<std::string>> m_all;
    mutable std::map<std::string, bool> m_used;
};

/** A progress bar on stderr when it is a terminal; silent when output is piped. */
class ProgressBar {
public:
    /** `wanted` false: never drawn (the other ranks of a data-parallel job). */
    explicit ProgressBar(bool wanted = true);
    ~ProgressBar();
    void update(const JobProgress& progress);
    void finish();

private:
    bool m_enabled;
    bool m_drawn = false;
};

/** Cancels the returned token on Ctrl-C (SIGINT) or SIGTERM; a second Ctrl-C exits at once. */
CancelToken installInterruptHandler();

/** Writes a line to stdout and flushes, so JSON lines reach a pipe as they are produced. */
void printLine(const std::string& line);

/** Number formatting for tables. */
std::string formatDouble(double value, int decimals);

} // namespace faceatlas::cli
