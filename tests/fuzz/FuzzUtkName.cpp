// Fuzz target: UTKFace file-name parsing (age_gender_race_datetime.jpg.chip.jpg).
#include "data/Readers.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string name(reinterpret_cast<const char*>(data), size);
    int age = -1;
    Gender gender = Gender::Unknown;
    std::string problem;
    const bool ok = parseUtkFaceName(name, age, gender, problem);
    if (ok && (age < 0 || age > kMaxAge || gender == Gender::Unknown || !problem.empty()))
        __builtin_trap();
    if (!ok && problem.empty())
        __builtin_trap(); // every refusal says why
    return 0;
}
