# `cmake --build build --target package` makes faceatlas_<version>_amd64.deb from the install rules
# of app/ and packaging/. Its dependencies are read off the binaries by dpkg-shlibdeps; the
# pthread OpenBLAS is added by hand because LibTorch only asks for some libblas.so.3, and with the
# reference BLAS its matrix products run about 16x slower.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME faceatlas)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The FaceAtlas developers")
set(CPACK_PACKAGE_CONTACT "The FaceAtlas developers <faceatlas@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "explore face-image datasets with deep learning")
# Debian wants the long description in lines shorter than 80 characters.
set(CPACK_PACKAGE_DESCRIPTION
    "FaceAtlas opens IMDB-WIKI, UTKFace, a CSV file or a folder of faces,
cleans the data, trains an age model and a convolutional autoencoder
while their loss curves draw, clusters the faces by their codes with
decoded cluster centres and galleries, and lays attention maps over
faces. It has a Qt desktop application (faceatlas) and a command-line
program for servers and GPU machines (faceatlas-cli).")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/faceatlas/faceatlas")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libdlib-data: the face landmark model the aligned framing reads (libdlib19.1 itself comes from shlibdeps).
# opencv-data: the BRISQUE model files the quality columns read (libopencv-contrib406, the quality
# module's library, comes from shlibdeps).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread, libdlib-data, opencv-data")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

include(CPack)
