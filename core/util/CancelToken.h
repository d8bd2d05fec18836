#pragma once

#include <atomic>
#include <memory>

namespace faceatlas {

/** A cancel flag shared by all copies: a front end requests, a job checks at loop boundaries. */
class CancelToken {
public:
    void requestCancel() noexcept { m_flag->store(true); }
    bool isCancelled() const noexcept { return m_flag->load(); }

private:
    std::shared_ptr<std::atomic_bool> m_flag = std::make_shared<std::atomic_bool>(false);
};

/** What a long job reports: a stage name and how far it is (done of total; total 0 = unknown). */
struct JobProgress {
    const char* stage = "";
    long long done = 0;
    long long total = 0;
};

} // namespace faceatlas
