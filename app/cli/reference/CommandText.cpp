// The command table as text: --help, the man page's COMMANDS section and the README's synopsis.
#include "cli/reference/CommandSpec.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace faceatlas::cli {

namespace {

constexpr size_t kHelpWidth = 100;     // columns of --help
constexpr size_t kOptionColumn = 26;   // where an option's help starts
constexpr size_t kListColumn = 17;     // where a list entry's text starts
constexpr size_t kSynopsisWidth = 114; // columns of the README's synopsis block

/** The order of `faceatlas-cli --help`; a command missing here is a programming error. */
const char* const kCommandOrder[] = {
    "demo",    "inspect",      "prepare",   "train",  "evaluate",
    "predict", "encode",       "summary",   "runs",   "convert-checkpoint",
    "cluster", "cluster-name", "attention", "map",    "similar",
    "audit",   "review-queue", "export",    "slices", "history",
    "diff",
};

std::vector<std::string> split(const std::string& text, const std::string& separator)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size())
        parts.push_back(text.substr(start, at - start));
    parts.push_back(text.substr(start));
    return parts;
}

std::vector<std::string> words(const std::string& text)
{
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string word; in >> word;)
        out.push_back(word);
    return out;
}

/** `units` (words, or whole bracketed options) filled into lines of `width`, the first after `first`,
 *  the others after `indent`, a unit never split. */
std::string fillUnits(const std::vector<std::string>& units, size_t width, const std::string& first,
                      const std::string& indent)
{
    std::string out = first;
    size_t column = first.size();
    bool lineEmpty = true;
    for (const std::string& unit : units) {
        if (!lineEmpty && column + 1 + unit.size() > width) {
            out += "\n" + indent;
            column = indent.size();
            lineEmpty = true;
        }
        if (!lineEmpty) {
            out += ' ';
            ++column;
        }
        out += unit;
        column += unit.size();
        lineEmpty = false;
    }
    return out + "\n";
}

/** `text` filled into lines of `width`, the first after `first`, the others after `indent`. */
std::string fill(const std::string& text, size_t width, const std::string& first, const std::string& indent)
{
    return fillUnits(words(text), width, first, indent);
}

/** A synopsis split at the spaces outside brackets: "--a X", "[--b Y]", "(--k K | --r A:B)". */
std::vector<std::string> bracketUnits(const std::string& line)
{
    std::vector<std::string> units;
    std::string unit;
    int depth = 0;
    for (const char ch : line) {
        if (ch == ' ' && depth == 0) {
            if (!unit.empty())
                units.push_back(unit);
            unit.clear();
            continue;
        }
        depth += (ch == '[' || ch == '(') - (ch == ']' || ch == ')');
        unit += ch;
    }
    if (!unit.empty())
        units.push_back(unit);
    return units;
}

bool verbatim(const std::string& paragraph)
{
    return paragraph.rfind("  ", 0) == 0;
}

std::string optionHelp(const OptionSpec& o)
{
    if (o.fallback.empty())
        return o.help;
    // "... (0 keeps all)" becomes "... (0 keeps all; default 90)", else "(default 90)" is added.
    if (!o.help.empty() && o.help.back() == ')')
        return o.help.substr(0, o.help.size() - 1) + "; default " + o.fallback + ")";
    return o.help + " (default " + o.fallback + ")";
}

std::string optionWords(const OptionSpec& o)
{
    return "--" + o.name + (o.value.empty() ? "" : " " + o.value);
}

const std::vector<std::pair<std::string, std::string>>& list(const ReferenceLists& lists, const std::string& key)
{
    const auto it = lists.find(key);
    if (it == lists.end())
        throw std::logic_error("the command table refers to the list '" + key + "', which nobody supplied");
    return it->second;
}

/** "{models}" names a list; anything else is text. */
std::string listKey(const std::string& paragraph)
{
    if (paragraph.size() > 2 && paragraph.front() == '{' && paragraph.back() == '}')
        return paragraph.substr(1, paragraph.size() - 2);
    return {};
}

std::string plainParagraphs(const std::string& text, const ReferenceLists& lists)
{
    std::string out;
    for (const std::string& paragraph : split(text, "\n\n")) {
        if (paragraph.empty())
            continue;
        out += "\n";
        if (const std::string key = listKey(paragraph); !key.empty()) {
            for (const auto& [name, title] : list(lists, key)) {
                std::string lead = "  " + name;
                if (lead.size() + 1 > kListColumn) { // a long name on a line of its own
                    out += lead + "\n";
                    lead.clear();
                }
                lead.resize(kListColumn, ' ');
                out += fill(title, kHelpWidth, lead, std::string(kListColumn, ' '));
            }
        } else {
            out += verbatim(paragraph) ? paragraph + "\n" : fill(paragraph, kHelpWidth, "", "");
        }
    }
    return out;
}

/** The words after the command's name in its usage line. */
std::string usageHead(const CommandSpec& c)
{
    if (!c.usage.empty())
        return c.usage;
    std::string head = c.operands;
    bool optional = false;
    for (const OptionSpec& o : c.options) {
        if (o.required)
            head += (head.empty() ? "" : " ") + optionWords(o);
        else
            optional = true;
    }
    if (optional)
        head += head.empty() ? "[options]" : " [options]";
    return head;
}

/** Whether the usage line already names the option (so the synopsis does not repeat it). */
bool namedIn(const std::string& head, const std::string& option)
{
    const std::string dashed = "--" + option;
    for (size_t at = head.find(dashed); at != std::string::npos; at = head.find(dashed, at + 1)) {
        const size_t end = at + dashed.size();
        if (end == head.size() || !(std::isalnum(static_cast<unsigned char>(head[end])) || head[end] == '-'))
            return true;
    }
    return false;
}

/** groff: backslashes and dashes escaped, a leading dot or quote made literal. */
std::string roff(const std::string& text)
{
    std::string out;
    for (const char ch : text) {
        if (ch == '\\')
            out += "\\e";
        else if (ch == '-')
            out += "\\-";
        else
            out += ch;
    }
    std::string guarded;
    for (const std::string& line : split(out, "\n"))
        guarded += (guarded.empty() ? "" : "\n")
                   + ((!line.empty() && (line[0] == '.' || line[0] == '\'')) ? "\\&" + line : line);
    return guarded;
}

std::string manParagraphs(const std::string& text, const ReferenceLists& lists)
{
    std::string out;
    bool first = true;
    for (const std::string& paragraph : split(text, "\n\n")) {
        if (paragraph.empty())
            continue;
        if (!first)
            out += ".PP\n";
        first = false;
        if (const std::string key = listKey(paragraph); !key.empty()) {
            out += ".RS\n";
            for (const auto& [name, title] : list(lists, key))
                out += ".TP\n.B " + roff(name) + "\n" + roff(title) + "\n";
            out += ".RE\n";
        } else if (verbatim(paragraph)) {
            out += ".nf\n.RS\n" + roff(paragraph) + "\n.RE\n.fi\n";
        } else {
            out += roff(paragraph) + "\n";
        }
    }
    return out;
}

/** One option as a tagged paragraph; `section` the heading printed last, updated. */
std::string manOption(const OptionSpec& o, std::string& section)
{
    std::string out;
    if (o.section != section && !o.section.empty())
        out += ".PP\n.I " + roff(o.section) + "\n";
    section = o.section;
    out += ".TP\n";
    out += o.value.empty() ? ".B " + roff("--" + o.name) + "\n"
                           : ".BI " + roff("--" + o.name) + " \" " + roff(o.value) + "\"\n";
    return out + roff(optionHelp(o)) + ".\n";
}

} // namespace

const std::vector<CommandSpec>& commandSpecs()
{
    static const std::vector<CommandSpec> table = [] {
        std::vector<CommandSpec> all;
        for (auto group : {dataCommands, modelCommands, analysisCommands, auditCommands})
            for (CommandSpec& c : group())
                all.push_back(std::move(c));
        std::vector<CommandSpec> ordered;
        for (const char* name : kCommandOrder) {
            const auto it = std::find_if(all.begin(), all.end(), [&](const CommandSpec& c) { return c.name == name; });
            if (it == all.end())
                throw std::logic_error(std::string("the command table has no command '") + name + "'");
            ordered.push_back(std::move(*it));
            all.erase(it);
        }
        if (!all.empty())
            throw std::logic_error("the command '" + all.front().name + "' is missing from kCommandOrder");
        return ordered;
    }();
    return table;
}

const CommandSpec* findCommand(const std::string& name)
{
    for (const CommandSpec& c : commandSpecs())
        if (c.name == name)
            return &c;
    return nullptr;
}

const CommandSpec& commandSpec(const std::string& name)
{
    if (const CommandSpec* c = findCommand(name))
        return *c;
    throw std::logic_error("the command table has no command '" + name + "'");
}

const OptionSpec* findOption(const CommandSpec& command, const std::string& name)
{
    for (const OptionSpec& o : command.options)
        if (o.name == name)
            return &o;
    return nullptr;
}

std::string programHelp()
{
    std::string out = "usage: faceatlas-cli COMMAND [options]     (COMMAND --help for its options)\n\n"
                      "Explore face-image datasets with deep learning.\n\ncommands:\n";
    for (const CommandSpec& c : commandSpecs()) {
        char line[64];
        std::snprintf(line, sizeof line, "  %-10s ", c.name.c_str());
        std::string first = line;
        if (c.name.size() >= 10)
            first = "  " + c.name + "  ";
        out += fill(c.summary, kHelpWidth, first, std::string(13, ' '));
    }
    return out + "\n  --version  print the version, the LibTorch version and whether CUDA is available\n";
}

std::string commandHelp(const CommandSpec& c, const ReferenceLists& lists)
{
    std::string out = "usage: faceatlas-cli " + c.name + " " + usageHead(c) + "\n";
    out += plainParagraphs(c.description, lists);
    std::string section;
    bool first = true;
    for (const OptionSpec& o : c.options) {
        if (o.section != section || first) {
            out += "\n";
            if (!o.section.empty())
                out += o.section + ":\n";
            section = o.section;
            first = false;
        }
        std::string lead = "  " + optionWords(o);
        if (lead.size() + 1 > kOptionColumn) {
            out += lead + "\n";
            lead.clear();
        }
        lead.resize(kOptionColumn, ' ');
        out += fill(optionHelp(o), kHelpWidth, lead, std::string(kOptionColumn, ' '));
    }
    return out + plainParagraphs(c.notes, lists);
}

std::string manCommands(const ReferenceLists& lists)
{
    std::string out = ".SH COMMANDS\n";
    for (const CommandSpec& c : commandSpecs()) {
        out += ".SS " + roff(c.name + " " + usageHead(c)) + "\n";
        out += manParagraphs(c.description, lists);
        std::string section;
        for (const OptionSpec& o : c.options)
            out += manOption(o, section);
        if (!c.notes.empty())
            out += ".PP\n" + manParagraphs(c.notes, lists);
    }
    return out;
}

std::string markdownSynopsis()
{
    std::string out;
    for (const CommandSpec& c : commandSpecs()) {
        std::string head = c.usage.empty() ? usageHead(c) : c.usage;
        const std::string tail = " [options]";
        if (head.size() >= tail.size() && head.compare(head.size() - tail.size(), tail.size(), tail) == 0)
            head.resize(head.size() - tail.size());
        else if (head == "[options]")
            head.clear();
        std::string line = head;
        for (const OptionSpec& o : c.options)
            if (!namedIn(head, o.name))
                line += (line.empty() ? "" : " ") + ("[" + optionWords(o) + "]");
        const std::string lead = "faceatlas-cli " + c.name + " ";
        // Wrapped at whole bracketed options, continued under the first one.
        out += fillUnits(bracketUnits(line), kSynopsisWidth, lead, std::string(lead.size(), ' '));
    }
    return out + "faceatlas-cli --version\n";
}

} // namespace faceatlas::cli
