# Documentation, CI examples and the Debian packages (cpack -G DEB in the build directory):
#   twoba-mock      mock_server, twoba-client, the conformance kit, fixtures, docs, OpenAPI
#   twoba-mock-dev  the client library, its headers and its CMake package (twoba::client)

set(TWOBA_DATA_DIR ${CMAKE_INSTALL_DATADIR}/twoba-mock)
install(FILES README.md DESTINATION ${TWOBA_DATA_DIR}/doc)
install(FILES mock_server/README.md DESTINATION ${TWOBA_DATA_DIR}/doc RENAME mock_server.md)
install(DIRECTORY ci/examples/ DESTINATION ${TWOBA_DATA_DIR}/ci-examples USE_SOURCE_PERMISSIONS)

set(CPACK_PACKAGE_NAME twoba-mock)
set(CPACK_PACKAGE_VENDOR "twoba-mock")
set(CPACK_PACKAGE_CONTACT "twoba-mock maintainers <twoba-mock@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# Library dependencies of the binaries (libcpp-httplib0.11, libssl3, libstdc++6, ...) are read
# from the binaries themselves by dpkg-shlibdeps; the rest is listed by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME twoba-mock)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "python3, python3-pytest, python3-requests")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "python3-requests-oauthlib, curl, jq, openssl")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "Offline mock of the 2BA OAuth2 authorization server and client conformance kit\n"
    "mock_server stands in for authorize.2ba.nl (token endpoint with rotating, expiring refresh\n"
    "tokens, login page, product API, control API with a virtual clock); twoba-conformance judges\n"
    "an OAuth client's token handling against it; twoba-client is a reference client.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME twoba-mock-dev)
# The CMake package finds these when a consumer calls find_package(twoba_client CONFIG).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libcpp-httplib-dev (>= 0.11), nlohmann-json3-dev (>= 3.11), libssl-dev (>= 3), pkg-config")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "2BA reference OAuth client library (static) with headers and CMake package\n"
    "find_package(twoba_client CONFIG) and target_link_libraries(app twoba::client).")
include(CPack)
cpack_add_component(runtime DISPLAY_NAME "Mock server, client CLI and conformance kit")
cpack_add_component(dev DISPLAY_NAME "Client library and CMake package")
