#include "TestSupport.h"

#include <cstdlib>
#include <gtest/gtest.h>

int main(int argc, char** argv)
{
    // Every test writes its caches into one temporary folder, never into the user's cache.
    static faceatlas::test::TempDir cache;
    ::setenv("FACEATLAS_CACHE_DIR", cache.path().c_str(), 1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
