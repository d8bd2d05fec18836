#include "cli/CliSupport.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace faceatlas::cli {

namespace {

/** The edit distance (insertions, deletions, substitutions) between two words. */
size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/** The command's option nearest to a mistyped `name` (at most two edits away), or "". */
std::string nearestOption(const CommandSpec& command, const std::string& name)
{
    std::string best;
    size_t bestDistance = 3;
    for (const OptionSpec& o : command.options)
        if (const size_t d = editDistance(name, o.name); d < bestDistance) {
            best = o.name;
            bestDistance = d;
        }
    return best;
}

} // namespace

Args::Args(const std::vector<std::string>& words, const CommandSpec& command)
    : m_command(command)
{
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (word.rfind("--", 0) != 0 || word.size() < 3)
            throw UsageError("unexpected argument '" + word + "'");
        std::string name = word.substr(2);
        std::optional<std::string> attached;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            attached = name.substr(eq + 1);
            name.resize(eq);
        }
        const OptionSpec* option = findOption(command, name);
        if (!option) {
            const std::string nearest = nearestOption(command, name);
            throw UsageError("unknown option --" + name + (nearest.empty() ? "" : "; did you mean --" + nearest + "?")
                             + " (see 'faceatlas-cli " + command.name + " --help')");
        }
        std::string value;
        if (attached) {
            if (option->value.empty())
                throw UsageError("option --" + name + " takes no value");
            value = *attached;
        } else if (option->value.empty()) {
            value = "1";
        } else {
            if (i + 1 >= words.size())
                throw UsageError("option --" + name + " needs a value (" + option->value + ")");
            value = words[++i];
        }
        m_values[name] = value;
        m_all[name].push_back(value);
        m_used[name] = false;
    }
}

const OptionSpec& Args::declared(const std::string& name) const
{
    const OptionSpec* option = findOption(m_command, name);
    if (!option)
        throw std::logic_error("faceatlas-cli " + m_command.name + " reads --" + name
                               + ", which its entry in the command table does not list");
    return *option;
}

std::vector<std::string> Args::values(const std::string& name) const
{
    declared(name);
    const auto it = m_all.find(name);
    if (it == m_all.end())
        return {};
    m_used[name] = true;
    return it->second;
}

bool Args::has(const std::string& name) const
{
    declared(name);
    const auto it = m_values.find(name);
    if (it == m_values.end())
        return false;
    m_used[name] = true;
    return true;
}

std::optional<std::string> Args::value(const std::string& name) const
{
    const OptionSpec& option = declared(name);
    const auto it = m_values.find(name);
    if (it == m_values.end())
        return option.fallback.empty() ? std::nullopt : std::optional<std::string>(option.fallback);
    m_used[name] = true;
    return it->second;
}

std::string Args::required(const std::string& name) const
{
    auto v = value(name);
    if (!v || v->empty())
        throw UsageError("option --" + name + " is required");
    return *v;
}

std::string Args::number(const std::string& name) const
{
    const auto v = value(name);
    if (!v)
        throw std::logic_error("faceatlas-cli " + m_command.name + " reads --" + name
                               + " as a number, but it was not given and the command table gives no default");
    return *v;
}

int Args::intValue(const std::string& name) const
{
    const long long v = longValue(name);
    if (v < -2147483647LL || v > 2147483647LL)
        throw UsageError("--" + name + ": " + std::to_string(v) + " is out of range");
    return static_cast<int>(v);
}

long long Args::longValue(const std::string& name) const
{
    const std::string v = number(name);
    try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size())
            return n;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + ": '" + v + "' is not a whole number");
}

double Args::doubleValue(const std::string& name) const
{
    const std::string v = number(name);
    try {
        size_t used = 0;
        const double d = std::stod(v, &used);
        if (used == v.size() && !std::isnan(d))
            return d;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + ": '" + v + "' is not a number");
}

void Args::rejectUnknown() const
{
    for (const auto& [name, used] : m_used)
        if (!used)
            throw UsageError("option --" + name + " does nothing with the other options given (see 'faceatlas-cli "
                             + m_command.name + " --help')");
}

ProgressBar::ProgressBar(bool wanted)
    : m_enabled(wanted && ::isatty(STDERR_FILENO) == 1)
{
}

ProgressBar::~ProgressBar()
{
    finish();
}

void ProgressBar::update(const JobProgress& p)
{
    if (!m_enabled)
        return;
    char line[160];
    if (p.total > 0) {
        const double f = std::clamp(static_cast<double>(p.done) / static_cast<double>(p.total), 0.0, 1.0);
        const int width = 30, filled = static_cast<int>(f * width);
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(width, '.');
        std::snprintf(line, sizeof line, "\r[%s] %3d%% %s %lld/%lld\033[K", bar.c_str(), static_cast<int>(f * 100),
                      p.stage, p.done, p.total);
    } else {
        std::snprintf(line, sizeof line, "\r%s...\033[K", p.stage);
    }
    std::fputs(line, stderr);
    std::fflush(stderr);
    m_drawn = true;
}

void ProgressBar::finish()
{
    if (m_drawn) {
        std::fputs("\r\033[K", stderr);
        std::fflush(stderr);
        m_drawn = false;
    }
}

namespace {
CancelToken* g_token = nullptr;
volatile std::sig_atomic_t g_interrupts = 0;

void onSignal(int)
{
    if (++g_interrupts > 1)
        std::_Exit(130);
    if (g_token)
        g_token->requestCancel(); // an atomic store: safe in a signal handler
}
} // namespace

CancelToken installInterruptHandler()
{
    static CancelToken token;
    g_token = &token;
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    return token;
}

void printLine(const std::string& line)
{
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string formatDouble(double value, int decimals)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value < 0 ? "-Inf" : "Inf";
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

} // namespace faceatlas::cli
