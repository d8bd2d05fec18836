#pragma once
// The one description of faceatlas-cli's commands and options. The parser (cli/CliSupport's Args),
// each command's --help, the man page and the README's reference are all made from it, so that
// they cannot drift apart: a command reads an option it does not declare, or a default, only
// through this table.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace faceatlas::cli {

/** One option of a command. */
struct OptionSpec {
    OptionSpec(std::string name_, std::string value_, std::string help_, std::string fallback_ = {},
               bool required_ = false, std::string section_ = {})
        : name(std::move(name_))
        , value(std::move(value_))
        , help(std::move(help_))
        , fallback(std::move(fallback_))
        , required(required_)
        , section(std::move(section_))
    {
    }

    std::string name;  // without the dashes: "min-face-score"
    std::string value; // the value's placeholder ("X", "auto|cpu|cuda"); empty: a flag
    std::string help;  // one paragraph, no trailing full stop; wrapped when printed
    /** The value the command uses when the option is not given, printed as "(default X)". Empty:
     *  no single default (the help says what happens instead). */
    std::string fallback;
    /** The command fails without it. */
    bool required = false;
    /** A heading printed before this option (a group such as "Several processes"). */
    std::string section;
};

/** One command: what it does and every option it reads. */
struct CommandSpec {
    std::string name;
    std::string summary; // one line, for the list of commands
    /** What comes after the command's name in its usage line. Empty: the operands and the
     *  required options, then "[options]" when there are others. Give it when options exclude
     *  one another: "--codes CODES --out DIR (--k K | --k-range A:B) [options]". */
    std::string usage;
    /** The command's operands (words without dashes), as the usage line shows them: "FILE...". */
    std::string operands;
    /** Paragraphs separated by a blank line; a paragraph whose lines start with two spaces is
     *  printed as it is (a list or an example). "{models}" or "{age-models}" alone on a line
     *  becomes the table of model kinds. */
    std::string description;
    std::vector<OptionSpec> options;
    /** Paragraphs printed after the options. */
    std::string notes;
};

/** Every command, in the order `faceatlas-cli --help` lists them. */
const std::vector<CommandSpec>& commandSpecs();
/** The command of that name, or nullptr. */
const CommandSpec* findCommand(const std::string& name);
/** The command of that name; a std::logic_error when the table lacks it (a mistake of ours). */
const CommandSpec& commandSpec(const std::string& name);
/** The option of that name in `command`, or nullptr. */
const OptionSpec* findOption(const CommandSpec& command, const std::string& name);

/** Named lists the descriptions refer to ("models": name and title of each model kind). They
 *  come from core's registries; the caller supplies them so that this table needs no core. */
using ReferenceLists = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

/** `faceatlas-cli --help`. */
std::string programHelp();
/** `faceatlas-cli COMMAND --help`. */
std::string commandHelp(const CommandSpec& command, const ReferenceLists& lists);
/** The man page's COMMANDS section (groff). */
std::string manCommands(const ReferenceLists& lists);
/** The README's reference: a synopsis line for every command with every option. */
std::string markdownSynopsis();

// The groups of commands, each defined in its own file of this folder.
std::vector<CommandSpec> dataCommands();     // inspect, prepare, export, history, diff
std::vector<CommandSpec> modelCommands();    // demo, train, evaluate, predict, encode, summary, runs, ...
std::vector<CommandSpec> analysisCommands(); // cluster, cluster-name, attention, map, similar, slices
std::vector<CommandSpec> auditCommands();    // audit, review-queue

// Options several commands share, written once.
OptionSpec jsonOption(std::string help);
OptionSpec deviceOption(std::string what);
OptionSpec threadsOption(std::string what);
OptionSpec forceOption();
/** --nproc, --rank, --world-size, --master-addr, --master-port, --dist-iface, --dist-timeout. */
std::vector<OptionSpec> distributedOptions(const std::string& nprocHelp);

} // namespace faceatlas::cli
